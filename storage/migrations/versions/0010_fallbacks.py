"""Fallbacks and circuit breakers: the number of upstream calls per ledger row, a row per call
when there was more than one, and the breakers' shared state.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "ledger_attempts",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "circuit_breakers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("open_until", sa.BigInteger, nullable=False),
        sa.Column("probe_until", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("circuit_breakers")
    op.drop_table("ledger_attempts")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("attempts")
