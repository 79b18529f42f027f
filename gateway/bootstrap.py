"""First run: when no developer key exists yet, create a local user in a workspace and make
its key, to be printed once with a curl line and a Python line to try it. Later runs say how
to make another key, since the first one is never shown again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys, passwords
from storage import accounts, console

STARTER_PLANS = {"free": 100, "pro": 2000, "team": None}  # daily messages; None: unlimited
OWNER_EMAIL = "owner@localhost"


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    key: str  # shown once, never stored
    key_id: str
    user_id: str
    email: str
    workspace_id: str
    password: str  # the owner's first console password, shown once, only its hash stored


def base_url(environ: Mapping[str, str]) -> str:
    """Where `make run` serves the gateway (HOST, PORT), for the lines that try the key."""
    host, port = environ.get("HOST", "127.0.0.1"), environ.get("PORT", "8000")
    return f"http://{host}:{port}/api/openai/v1"


def console_url(base_url: str) -> str:
    return base_url.removesuffix("/api/openai/v1") + "/console"


def try_it(base_url: str, key: str, password: str | None = None) -> str:
    return f"""
Your developer key (shown once, keep it safe):

    {key}

Try it:

    curl {base_url}/chat/completions -H "Authorization: Bearer {key}" \\
      -H "Content-Type: application/json" \\
      -d '{{"model": "writingmate/echo", "messages": [{{"role": "user", "content": "Hello!"}}]}}'

    pip install openai   # the official SDK, if you do not have it yet
    python -c "from openai import OpenAI; c = OpenAI(base_url='{base_url}', api_key='{key}'); \\
print(c.chat.completions.create(model='writingmate/echo', \\
messages=[{{'role': 'user', 'content': 'Hello!'}}]).choices[0].message.content)"
""" + (signing_in(base_url, password) if password else "")


def signing_in(base_url: str, password: str) -> str:
    return f"""
The account console (keys, usage, workspaces) is at {console_url(base_url)}
Sign in as {OWNER_EMAIL} with this one-time password (shown once):

    {password}

Change it with: wmgw user set-password {OWNER_EMAIL}
"""


def another_key(owner_email: str | None) -> str:
    user = owner_email or "<email>"
    return f"""
This database already has a developer key (a key is shown only once, when it is made).
Make another one with:

    wmgw key create {user}

(`wmgw` is .venv/bin/wmgw in the repository; `wmgw user list` lists the users.)
"""


async def bootstrap(conn: AsyncConnection, server_secret: bytes) -> Bootstrapped | None:
    """The starter plans, a `Local` workspace, its owner and a key; None (and nothing done)
    when a developer key exists already."""
    if await accounts.count_keys(conn):
        return None
    existing = {p["name"] for p in await accounts.list_plans(conn)}
    for name, limit in STARTER_PLANS.items():
        if name not in existing:
            await accounts.create_plan(conn, name, limit)
    workspace_id = await accounts.create_workspace(conn, "Local", "team")
    user = await accounts.find_user(conn, OWNER_EMAIL)
    user_id = (
        str(user["id"]) if user else await accounts.create_user(conn, OWNER_EMAIL, "Local owner")
    )
    await accounts.add_member(conn, user_id, workspace_id, "owner")
    password = passwords.one_time()
    await console.set_password(conn, user_id, passwords.hashed(password))
    await console.set_admin(conn, user_id, True)
    new = keys.generate(server_secret)
    await accounts.create_key(
        conn,
        key_id=new.key_id,
        user_id=user_id,
        secret_hash=new.secret_hash,
        name="bootstrap",
        expires_at=None,
    )
    return Bootstrapped(new.plaintext, new.key_id, user_id, OWNER_EMAIL, workspace_id, password)
