"""Two indexes that no query uses, each one more page written by every request: the lease
index of requests in flight (the sweep reads the few rows in flight whole) and the ledger's
(workspace, day) index (usage reports narrow by the (workspace, created_at) index).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_reservations_lease", table_name="reservations")
    op.drop_index("ix_ledger_workspace_day", table_name="ledger")


def downgrade() -> None:
    op.create_index("ix_ledger_workspace_day", "ledger", ["workspace_id", "quota_day"])
    op.create_index("ix_reservations_lease", "reservations", ["lease_until"])
