"""Metering you can trust: one quota store (`quota_counters`) for messages, images and video
seconds of workspaces and pools; a row per admitted request in flight (`reservations`, with an
owner and a lease, so a dead process's requests are settled by any other); message pools shared
by workspaces; a time zone per workspace for its daily window; and the ledger's cached
discount, images and quota day.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_counters",
        sa.Column("subject", sa.String(40), primary_key=True),
        sa.Column("unit", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    )
    _copy_counters()
    op.drop_table("daily_usage")
    op.drop_table("daily_image_usage")
    op.drop_table("video_seconds_usage")
    op.create_table(
        "reservations",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("byok", sa.Boolean, nullable=False),
        sa.Column("quota_day", sa.Date, nullable=False),
        sa.Column("holds", sa.JSON, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cached_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reservations_lease", "reservations", ["lease_until"])
    op.create_table(
        "pools",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("renewal", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("pool_id", sa.String(40), nullable=True))
        batch.add_column(
            sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
        )
        batch.create_foreign_key("fk_workspaces_pool", "pools", ["pool_id"], ["id"])
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(
            sa.Column("cached_discount", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("images", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("quota_day", sa.Date, nullable=True))
        batch.create_index("ix_ledger_workspace_day", ["workspace_id", "quota_day"])
    # Rows written before: their UTC day, which was the only window then.
    as_date = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "created_at::date"
    op.execute(f"UPDATE ledger SET quota_day = {as_date}")


def _copy_counters() -> None:
    """The three old stores' rows, as rows of the one store (days and months as text)."""
    bind = op.get_bind()
    old = [
        ("daily_usage", "messages", "day", "reserved"),
        ("daily_image_usage", "images", "day", "reserved"),
        ("video_seconds_usage", "video_seconds", "period", None),
    ]
    counters = sa.table(
        "quota_counters",
        sa.column("subject"),
        sa.column("unit"),
        sa.column("period"),
        sa.column("used"),
        sa.column("reserved"),
    )
    for table, unit, period, reserved in old:
        columns = ["workspace_id", period, "used"] + ([reserved] if reserved else [])
        rows = bind.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}")).fetchall()
        values = [
            {
                "subject": row[0],
                "unit": unit,
                "period": str(row[1])[:10],
                "used": row[2],
                "reserved": row[3] if reserved else 0,
            }
            for row in rows
        ]
        if values:
            bind.execute(counters.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_index("ix_ledger_workspace_day")
        batch.drop_column("quota_day")
        batch.drop_column("images")
        batch.drop_column("cached_discount")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_constraint("fk_workspaces_pool", type_="foreignkey")
        batch.drop_column("time_zone")
        batch.drop_column("pool_id")
    op.drop_table("pools")
    op.drop_index("ix_reservations_lease", "reservations")
    op.drop_table("reservations")
    op.create_table(
        "daily_usage",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "daily_image_usage",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "video_seconds_usage",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
    )
    op.drop_table("quota_counters")
