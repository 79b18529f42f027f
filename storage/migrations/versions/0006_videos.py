"""Video jobs, the per-workspace monthly video-seconds pool, the plans' grant, and the
seconds each ledger row drew.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("upstream_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("seconds", sa.String(4), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("deadline_at", sa.BigInteger, nullable=False),
        sa.Column("next_poll_at", sa.BigInteger, nullable=False),
        sa.Column("polls_failed", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_video_jobs_due", "video_jobs", ["status", "next_poll_at"])
    op.create_index("ix_video_jobs_workspace", "video_jobs", ["workspace_id", "created_at"])
    op.create_table(
        "video_seconds_usage",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("used", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("monthly_video_seconds", sa.Integer, nullable=True))
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("video_seconds", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("video_seconds")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("monthly_video_seconds")
    op.drop_table("video_seconds_usage")
    op.drop_index("ix_video_jobs_workspace", "video_jobs")
    op.drop_index("ix_video_jobs_due", "video_jobs")
    op.drop_table("video_jobs")
