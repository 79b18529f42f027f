"""A gateway with accounts made by `wmgw` for the console's tests: the owner (a site admin,
from `wmgw bootstrap`) with the Local workspace, and a member of another workspace. Passwords
are set with `wmgw user set-password`, as an operator would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.cli_runner import Site, site_on
from tests.leak_watch import WATCH

OWNER = "owner@localhost"
MEMBER = "member@example.com"
PASSWORD = "a long enough console password"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class ConsoleSite:
    site: Site
    owner_workspace: str
    member_workspace: str

    @property
    def root(self) -> str:
        return self.site.url.removesuffix("/api/openai/v1")

    def browser(self) -> httpx.Client:
        """A client that keeps cookies, as a browser does (redirects not followed)."""
        return httpx.Client(base_url=self.root, timeout=30)

    def signed_in(self, email: str, password: str = PASSWORD) -> Session:
        client = self.browser()
        answer = client.post(
            "/console/api/session",
            json={"email": email, "password": password},
            headers={"x-csrf-token": page_token(client, "/console/sign-in")},
        )
        assert answer.status_code == 200, answer.text
        return Session(client, page_token(client, "/console/keys"))


@dataclass
class Session:
    client: httpx.Client
    csrf: str

    def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {"x-csrf-token": self.csrf, **options.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **options)


def page_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    found = CSRF_META.search(page.text)
    assert found is not None
    return found.group(1)


@contextmanager
def console_site(data_dir: Path) -> Iterator[ConsoleSite]:
    with site_on(data_dir, {"WMGW_VALIDATE_RESPONSES": "1"}) as site:
        wmgw = site.wmgw
        made = wmgw.json("bootstrap")
        WATCH.remember(made["password"])
        other = wmgw("workspace", "create", "Elsewhere", "--plan", "free")
        wmgw("user", "create", MEMBER, "--name", "Member")
        wmgw("member", "add", MEMBER, other)
        for email in (OWNER, MEMBER):
            wmgw("user", "set-password", email, stdin=f"{PASSWORD}\n")
        WATCH.remember(PASSWORD)
        yield ConsoleSite(site, made["workspace_id"], other)
