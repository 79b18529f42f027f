"""The schema, in SQLAlchemy Core. Alembic migrations (storage/migrations) create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

plans = Table(
    "plans",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("daily_message_limit", Integer, nullable=True),  # NULL: unlimited
    Column("created_at", DateTime(timezone=True), nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan", String(64), ForeignKey("plans.name"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=True),
    Column("current_workspace_id", String(40), ForeignKey("workspaces.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_hash", String(200), nullable=True),  # argon2id; NULL: cannot sign in
    Column("is_admin", Boolean, nullable=False, default=False),  # the console's admin pages
)

# Console sign-ins: the cookie carries a random id (signed), only its SHA-256 is stored.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id"), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), primary_key=True),
    Column("role", String(20), nullable=False, default="member"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),  # the public key id inside the key
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(200), nullable=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("workspace_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("model", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("byok", Boolean, nullable=False, default=False),
    Column("status", String(32), nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("request_id", name="uq_ledger_request_id"),
    Index("ix_ledger_workspace_created", "workspace_id", "created_at"),
)

# Model lists synced from upstreams (`wmgw models sync`), merged into the catalog at start-up.
synced_models = Table(
    "synced_models",
    metadata,
    Column("slug", String(300), primary_key=True),
    Column("provider", String(64), nullable=False, index=True),
    Column("row", JSON, nullable=False),  # the catalog row, as catalog.yaml would spell it
    Column("synced_at", DateTime(timezone=True), nullable=False),
)

# Users' own upstream keys (BYOK), sealed with domain.sealing; never logged or returned.
provider_keys = Table(
    "provider_keys",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id"), primary_key=True),
    Column("provider", String(64), primary_key=True),
    Column("sealed_key", String(1000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Stored responses of `POST /responses` (unless `store: false`), so that a conversation can
# continue with `previous_response_id`. `input_items` holds the whole conversation before this
# response's output: earlier turns' input and output items, then this turn's input.
responses = Table(
    "responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("model", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("response", JSON, nullable=False),  # the `response` object as it was returned
    Column("input_items", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_responses_workspace_created", "workspace_id", "created_at"),
)

# Images generated per workspace and UTC day, against the plan's `daily_image_limit`
# (POST /images/generations reserves `n` before the upstream call, like daily_usage).
plans.append_column(Column("daily_image_limit", Integer, nullable=True))  # NULL: unlimited

# Video generation jobs (`POST /videos`). Times the API reports are unix seconds; the worker's
# schedule and lease are unix milliseconds. A job holds its lease while one process polls it.
video_jobs = Table(
    "video_jobs",
    metadata,
    Column("id", String(64), primary_key=True),  # ours: video_<48 hex>
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("upstream_id", String(200), nullable=True),  # NULL until the upstream accepted it
    Column("status", String(16), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("prompt", Text, nullable=False),
    Column("seconds", String(4), nullable=False),
    Column("size", String(16), nullable=False),
    Column("error", JSON, nullable=True),
    Column("period", String(7), nullable=False),  # the pool month its seconds came from
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("deadline_at", BigInteger, nullable=False),
    Column("next_poll_at", BigInteger, nullable=False),
    Column("polls_failed", Integer, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Index("ix_video_jobs_due", "status", "next_poll_at"),
    Index("ix_video_jobs_workspace", "workspace_id", "created_at"),
)

plans.append_column(Column("monthly_video_seconds", Integer, nullable=True))  # NULL: unlimited
# Video seconds a request drew (negative on a failed job's refund row).
ledger.append_column(Column("video_seconds", Integer, nullable=False, server_default="0"))

# The one quota store: what each subject (a workspace, or a pool shared by workspaces) has used
# and has reserved for requests in flight, per unit (messages, images, video_seconds) and
# period (a day `YYYY-MM-DD` in the workspace's time zone, a month `YYYY-MM`, or `total`).
quota_counters = Table(
    "quota_counters",
    metadata,
    Column("subject", String(40), primary_key=True),
    Column("unit", String(16), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("used", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),
)

# One row per admitted request in flight: what it holds in quota_counters, which process owns
# it and until when (the owner renews its lease; any process settles an expired one), and the
# usage it had reported at the last renewal.
reservations = Table(
    "reservations",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("lease_until", BigInteger, nullable=False),  # unix ms
    Column("workspace_id", String(40), nullable=False),
    Column("user_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("endpoint", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("byok", Boolean, nullable=False),
    Column("quota_day", Date, nullable=False),
    Column("holds", JSON, nullable=False),  # [[subject, unit, period, n], ...]
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Message pools: a number of messages shared by the workspaces attached to it, on top of each
# workspace's daily limit; `renewal` is `monthly` (a fresh pool each UTC month) or `none`.
pools = Table(
    "pools",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("messages", BigInteger, nullable=False),
    Column("renewal", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
workspaces.append_column(Column("pool_id", String(40), ForeignKey("pools.id"), nullable=True))
workspaces.append_column(Column("time_zone", String(64), nullable=False, server_default="UTC"))
ledger.append_column(Column("cached_discount", Integer, nullable=False, server_default="0"))
ledger.append_column(Column("images", Integer, nullable=False, server_default="0"))
ledger.append_column(Column("quota_day", Date, nullable=True))  # the window it was counted in

# Requests and tokens per minute per key (`wmgw key set-limits`); a key's own limit overrides
# its workspace plan's default for keys. NULL: none of its own / no default.
api_keys.append_column(Column("rpm_limit", Integer, nullable=True))
api_keys.append_column(Column("tpm_limit", Integer, nullable=True))
plans.append_column(Column("key_rpm_limit", Integer, nullable=True))
plans.append_column(Column("key_tpm_limit", Integer, nullable=True))

# The rate-limit bucket of each key and unit (domain/ratelimit.py), when kept in the database
# rather than in Redis: the backlog still to drain, as of `at_ms` (the database's clock).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("unit", String(16), primary_key=True),  # requests | tokens
    Column("backlog", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

# `Idempotency-Key`s per developer key (web/idempotency.py): the request running under each,
# then its answer for 24 hours. Times are unix milliseconds. A `running` row belongs to the
# process named by `owner` while `lease_until` is ahead; `request_id` names the attempt.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # running | done | interrupted | too_large
    Column("owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("status_code", Integer, nullable=True),
    Column("headers", JSON, nullable=True),  # [[name, value], ...] as the app sent them
    Column("body", LargeBinary, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# Fallbacks and retries (gateway/attempts.py): how many upstream calls served a request, and,
# when there was more than one or an upstream was skipped, a row per call.
ledger.append_column(Column("attempts", Integer, nullable=False, server_default="1"))
ledger_attempts = Table(
    "ledger_attempts",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True),  # 1, 2, ... in the order they were made
    Column("model", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),  # served | failed | skipped_open_circuit
    Column("http_status", Integer, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("duration_ms", BigInteger, nullable=False),
)

# Circuit breakers (domain/breaker.py), one per upstream and key, shared by every worker when
# kept in the database rather than in Redis. Times are unix milliseconds; 0: none.
circuit_breakers = Table(
    "circuit_breakers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("open_until", BigInteger, nullable=False),
    Column("probe_until", BigInteger, nullable=False),
)
