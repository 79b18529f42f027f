"""`wmgw plan ...`: plans and their limits."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.cli.common import CliError, Subparsers, group, rate_limit_options, table
from gateway.settings import Settings
from storage import accounts, videos


async def plan_create(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    await accounts.create_plan(conn, args.name, args.daily_messages)
    if args.daily_images is not None:
        await accounts.set_plan_image_limit(conn, args.name, args.daily_images)
    print(args.name)
    return 0


async def plan_set_image_limit(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    if not await accounts.set_plan_image_limit(conn, args.name, args.daily_images):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def plan_set_limit(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.set_plan_limit(conn, args.name, args.daily_messages):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def plan_list(conn: AsyncConnection, _a: argparse.Namespace, _s: Settings) -> int:
    columns = [
        "name",
        "daily_message_limit",
        "daily_image_limit",
        "monthly_video_seconds",
        "key_rpm_limit",
        "key_tpm_limit",
        "created_at",
    ]
    table(await accounts.list_plans(conn), columns)
    return 0


async def plan_set_video_seconds(
    conn: AsyncConnection, args: argparse.Namespace, _s: Settings
) -> int:
    if not await videos.set_monthly_grant(conn, args.name, args.monthly):
        raise CliError(f"no plan {args.name!r}")
    return 0


async def plan_set_key_limits(conn: AsyncConnection, args: argparse.Namespace, _s: Settings) -> int:
    if not await accounts.set_plan_key_limits(conn, args.name, args.rpm, args.tpm):
        raise CliError(f"no plan {args.name!r}")
    return 0


def register(sub: Subparsers) -> None:
    plan = group(sub, "plan")
    p = plan.add_parser("create")
    p.add_argument("name")
    p.add_argument("--daily-messages", type=int, default=None)
    p.add_argument("--daily-images", type=int, default=None, help="images per day (POST /images)")
    p.set_defaults(run=plan_create)
    p = plan.add_parser("set-limit")
    p.add_argument("name")
    p.add_argument("--daily-messages", type=int, default=None)
    p.set_defaults(run=plan_set_limit)
    p = plan.add_parser("set-image-limit", help="change a plan's daily image limit")
    p.add_argument("name")
    p.add_argument("--daily-images", type=int, default=None, help="omit for unlimited")
    p.set_defaults(run=plan_set_image_limit)
    plan.add_parser("list").set_defaults(run=plan_list)
    p = plan.add_parser("set-video-seconds", help="video seconds per workspace and month")
    p.add_argument("name")
    p.add_argument("--monthly", type=int, default=None, help="omit for unlimited")
    p.set_defaults(run=plan_set_video_seconds)
    p = plan.add_parser("set-key-limits", help="rate limits of the plan's keys without their own")
    p.add_argument("name")
    rate_limit_options(p, "unlimited")
    p.set_defaults(run=plan_set_key_limits)
