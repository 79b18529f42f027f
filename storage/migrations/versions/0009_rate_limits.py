"""Rate limits per key: requests and tokens per minute on keys and as plan defaults, and the
buckets that enforce them.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("unit", sa.String(16), primary_key=True),
        sa.Column("backlog", sa.BigInteger, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("rpm_limit", sa.Integer, nullable=True))
        batch.add_column(sa.Column("tpm_limit", sa.Integer, nullable=True))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("key_rpm_limit", sa.Integer, nullable=True))
        batch.add_column(sa.Column("key_tpm_limit", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("key_tpm_limit")
        batch.drop_column("key_rpm_limit")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("tpm_limit")
        batch.drop_column("rpm_limit")
    op.drop_table("rate_limits")
