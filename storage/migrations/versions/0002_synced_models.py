"""Model lists synced from upstreams (OpenRouter's /models).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "synced_models",
        sa.Column("slug", sa.String(300), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False, index=True),
        sa.Column("row", sa.JSON, nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("synced_models")
