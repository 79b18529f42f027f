"""First run: when no developer key exists yet, create a local user in a workspace and print
its key once, with a curl line and a Python line to try it."""

from __future__ import annotations

import os

from domain import keys
from gateway.settings import Settings
from storage import accounts
from storage.engine import create_engine

STARTER_PLANS = {"free": 100, "pro": 2000, "team": None}  # daily messages; None: unlimited


def try_it(base_url: str, key: str) -> str:
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
"""


async def bootstrap(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            if await accounts.count_keys(conn):
                return 0
            existing = {p["name"] for p in await accounts.list_plans(conn)}
            for name, limit in STARTER_PLANS.items():
                if name not in existing:
                    await accounts.create_plan(conn, name, limit)
            workspace_id = await accounts.create_workspace(conn, "Local", "team")
            user_id = await accounts.create_user(conn, "owner@localhost", "Local owner")
            await accounts.add_member(conn, user_id, workspace_id, "owner")
            new = keys.generate(settings.server_secret)
            await accounts.create_key(
                conn,
                key_id=new.key_id,
                user_id=user_id,
                secret_hash=new.secret_hash,
                name="bootstrap",
                expires_at=None,
            )
    finally:
        await engine.dispose()
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    print(try_it(f"http://{host}:{port}/api/openai/v1", new.plaintext))
    return 0
