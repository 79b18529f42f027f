"""Images: a per-plan daily image limit, and images generated per workspace and day.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("daily_image_limit", sa.Integer, nullable=True))
    op.create_table(
        "daily_image_usage",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("daily_image_usage")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("daily_image_limit")
