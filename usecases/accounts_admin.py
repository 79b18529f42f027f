"""Managing accounts, as `wmgw` and the console's admin actions both do: each function looks up
what an operator named, refuses in plain words (a domain error: NotFound, Conflict,
InvalidRequest) and makes the change in the caller's transaction. The words are the CLI's, so
`wmgw` prints them after `wmgw: ` and the console sends them in OpenAI's error envelope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.accounts import is_email
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.quota import pool_period
from storage import accounts, members, pools, removals, videos

# What `change_plan` can change, each written by its own storage function.
PLAN_LIMITS = (
    "daily_message_limit",
    "daily_image_limit",
    "monthly_video_seconds",
    "key_rpm_limit",
    "key_tpm_limit",
)
FORCE_REMEDY = "delete them too with --force"
RENEWALS = ("monthly", "none")  # of pools: each UTC month, or never
# When the database refuses a change the checks let through: another change came meanwhile.
CHANGED_MEANWHILE = "the change conflicts with what the database holds now; try again"


async def user_row(conn: AsyncConnection, id_or_email: str) -> dict[str, Any]:
    found = await accounts.find_user(conn, id_or_email)
    if found is None:
        raise NotFound(
            f"no user {id_or_email!r} (`wmgw user list` shows them)",
            param="user",
            code="user_not_found",
        )
    return found


async def user_id(conn: AsyncConnection, id_or_email: str) -> str:
    return str((await user_row(conn, id_or_email))["id"])


async def workspace_row(conn: AsyncConnection, workspace_id: str) -> dict[str, Any]:
    found = await accounts.find_workspace(conn, workspace_id)
    if found is None:
        raise NotFound(
            f"no workspace {workspace_id!r} (`wmgw workspace list` shows them)",
            param="workspace_id",
            code="workspace_not_found",
        )
    return found


async def plan_row(conn: AsyncConnection, name: str) -> dict[str, Any]:
    found = await accounts.find_plan(conn, name)
    if found is None:
        raise NotFound(
            f"no plan {name!r} (`wmgw plan list` shows them)", param="plan", code="plan_not_found"
        )
    return found


async def pool_id(conn: AsyncConnection, id_or_name: str) -> str:
    found = await pools.find(conn, id_or_name)
    if found is None:
        raise NotFound(
            f"no pool {id_or_name!r} (`wmgw pool list` shows them)",
            param="pool",
            code="pool_not_found",
        )
    return str(found["id"])


def counted(n: int, plural: str) -> str:
    """`2 stored responses`, `1 stored response` (from `stored_responses`)."""
    words = plural.replace("_", " ")
    return f"{n} {words.removesuffix('s') if n == 1 else words}"


def in_use(dependents: Mapping[str, int]) -> bool:
    return any(dependents.values())


def refused_while_used(what: str, dependents: Mapping[str, int], remedy: str) -> Conflict:
    """`user ana@x.test still has 2 keys and 1 membership: ...`"""
    listed = ", ".join(counted(n, name) for name, n in dependents.items() if n)
    return Conflict(f"{what} still has {listed}: {remedy}", code="in_use")


async def create_user(
    conn: AsyncConnection, email: str, name: str | None, workspace: str | None = None
) -> str:
    """The new user's id; with `workspace`, they are its owner."""
    if not is_email(email):
        raise InvalidRequest(f"not an email address: {email!r}", param="email")
    existing = await accounts.find_user(conn, email)
    if existing is not None:
        raise Conflict(
            f"a user with email {email!r} exists already ({existing['id']})", code="user_exists"
        )
    if workspace is not None:
        await workspace_row(conn, workspace)
    new_user = await accounts.create_user(conn, email, name)
    if workspace is not None:
        await accounts.add_member(conn, new_user, workspace, "owner")
    return new_user


async def delete_user(conn: AsyncConnection, user: str, force: bool) -> tuple[str, dict[str, int]]:
    """The deleted user's id and what went with them."""
    found = await user_id(conn, user)
    dependents = await removals.user_dependents(conn, found)
    if in_use(dependents) and not force:
        raise refused_while_used(f"user {user}", dependents, FORCE_REMEDY)
    await removals.delete_user(conn, found)
    return found, dependents


async def create_workspace(conn: AsyncConnection, name: str, plan: str) -> str:
    await plan_row(conn, plan)
    return await accounts.create_workspace(conn, name, plan)


async def delete_workspace(conn: AsyncConnection, workspace_id: str, force: bool) -> dict[str, int]:
    """What went with the workspace."""
    await workspace_row(conn, workspace_id)
    dependents = await removals.workspace_dependents(conn, workspace_id)
    if in_use(dependents) and not force:
        raise refused_while_used(f"workspace {workspace_id}", dependents, FORCE_REMEDY)
    await removals.delete_workspace(conn, workspace_id)
    return dependents


async def add_member(conn: AsyncConnection, user: str, workspace_id: str, role: str) -> str:
    """The member's user id."""
    found = await user_id(conn, user)
    await workspace_row(conn, workspace_id)
    already = await members.role_of(conn, found, workspace_id)
    if already is not None:
        raise Conflict(
            f"{user} is already a member of {workspace_id} (as {already})", code="already_member"
        )
    await accounts.add_member(conn, found, workspace_id, role)
    return found


async def _membership(conn: AsyncConnection, user: str, workspace_id: str) -> str:
    found = await user_id(conn, user)
    await workspace_row(conn, workspace_id)
    if await members.role_of(conn, found, workspace_id) is None:
        raise NotFound(f"{user} is not a member of {workspace_id}", code="not_a_member")
    return found


async def set_role(conn: AsyncConnection, user: str, workspace_id: str, role: str) -> str:
    """The member's user id."""
    found = await _membership(conn, user, workspace_id)
    await members.set_role(conn, found, workspace_id, role)
    return found


async def remove_member(
    conn: AsyncConnection, user: str, workspace_id: str
) -> tuple[str, str | None]:
    """The user's id and their current workspace now (another of theirs, or none)."""
    found = await _membership(conn, user, workspace_id)
    await members.remove_member(conn, found, workspace_id)
    return found, await members.current_workspace(conn, found)


async def create_plan(conn: AsyncConnection, name: str, limits: Mapping[str, int | None]) -> None:
    """`limits`: some of PLAN_LIMITS (the others: unlimited)."""
    if await accounts.find_plan(conn, name):
        raise Conflict(f"a plan named {name!r} exists already", code="plan_exists")
    await accounts.create_plan(conn, name, None)
    await _set_limits(conn, name, limits)


async def change_plan(conn: AsyncConnection, name: str, limits: Mapping[str, int | None]) -> None:
    """Set the limits named in `limits` (None: unlimited); the others stay as they are."""
    await plan_row(conn, name)
    await _set_limits(conn, name, limits)


async def _set_limits(conn: AsyncConnection, name: str, limits: Mapping[str, int | None]) -> None:
    if "daily_message_limit" in limits:
        await accounts.set_plan_limit(conn, name, limits["daily_message_limit"])
    if "daily_image_limit" in limits:
        await accounts.set_plan_image_limit(conn, name, limits["daily_image_limit"])
    if "monthly_video_seconds" in limits:
        await videos.set_monthly_grant(conn, name, limits["monthly_video_seconds"])
    if "key_rpm_limit" in limits or "key_tpm_limit" in limits:
        row = await plan_row(conn, name)
        await accounts.set_plan_key_limits(
            conn,
            name,
            limits.get("key_rpm_limit", row["key_rpm_limit"]),
            limits.get("key_tpm_limit", row["key_tpm_limit"]),
        )


@dataclass(frozen=True)
class PlanDeleted:
    moved: list[str] = field(default_factory=list)  # workspaces moved to `move_to`
    deleted: list[str] = field(default_factory=list)  # workspaces deleted with it


async def delete_plan(
    conn: AsyncConnection, name: str, move_to: str | None, force: bool
) -> PlanDeleted:
    """Refused while workspaces are on the plan, unless `move_to` or `force` says what becomes
    of them."""
    await plan_row(conn, name)
    on_it = await removals.workspaces_on(conn, name)
    done = PlanDeleted()
    if on_it and move_to is not None:
        if move_to == name:
            raise InvalidRequest("--move-to names the plan being deleted", param="move_to")
        await plan_row(conn, move_to)
        await removals.move_workspaces(conn, name, move_to)
        done = PlanDeleted(moved=on_it)
    elif on_it and force:
        for workspace_id in on_it:
            await removals.delete_workspace(conn, workspace_id)
        done = PlanDeleted(deleted=on_it)
    elif on_it:
        raise Conflict(
            f"plan {name!r} still has {counted(len(on_it), 'workspaces')} "
            f"({', '.join(on_it)}): move them with --move-to PLAN, or delete them with --force",
            code="in_use",
        )
    await removals.delete_plan(conn, name)
    return done


async def create_pool(conn: AsyncConnection, name: str, messages: int, renewal: str) -> str:
    if await pools.find(conn, name) is not None:
        raise Conflict(f"a pool named {name!r} exists already", code="pool_exists")
    return await pools.create(conn, name, messages, renewal)


async def resize_pool(conn: AsyncConnection, pool: str, messages: int) -> str:
    found = await pool_id(conn, pool)
    await pools.resize(conn, found, messages)
    return found


async def attach(conn: AsyncConnection, pool: str | None, workspace_ids: list[str]) -> str | None:
    """Make each workspace draw on `pool` (None: on no pool); the pool's id."""
    found = None if pool is None else await pool_id(conn, pool)
    for workspace_id in workspace_ids:
        await workspace_row(conn, workspace_id)
        await pools.attach(conn, found, workspace_id)
    return found


async def pools_listed(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every pool with its workspaces and what it has used and left in its current period."""
    return await pools.listing(conn, {renewal: pool_period(renewal) for renewal in RENEWALS})
