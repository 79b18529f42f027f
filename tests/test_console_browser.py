"""The console in a real browser: Debian's Chromium, headless, driven by Playwright (one browser
and one gateway for the module). A user signs in, creates a key, reads it from the page and uses
it with the OpenAI SDK, revokes it; a member cannot reach the admin pages; a form sent without
the page's token is refused. Each page's screenshot is written under the test's tmp dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tests.console_site import MEMBER, OWNER, PASSWORD, ConsoleSite, console_site

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    with console_site(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(console: ConsoleSite) -> Iterator[object]:
    # After the gateway's accounts are made: Playwright's sync API keeps an event loop running
    # in this thread, where `wmgw` (asyncio.run) can no longer run; see `wmgw_beside`.
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture
def page(browser: object, console: ConsoleSite) -> Iterator[object]:
    context = browser.new_context(base_url=console.root, viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
    opened = context.new_page()
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()


def wmgw_beside(console: ConsoleSite, *args: str) -> str:
    """`wmgw` run on another thread, beside Playwright's event loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(console.site.wmgw, *args).result()


def sign_in(page: object, email: str) -> None:
    page.goto("/console/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/console/keys")  # type: ignore[attr-defined]


def test_a_user_makes_a_key_uses_it_and_revokes_it(
    page: object, console: ConsoleSite, shots: Path
) -> None:
    page.goto("/console/sign-in")  # type: ignore[attr-defined]
    page.screenshot(path=shots / "sign-in.png")  # type: ignore[attr-defined]
    sign_in(page, OWNER)
    page.get_by_label("Name").fill("browser laptop")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create key").click()  # type: ignore[attr-defined]
    shown = page.get_by_test_id("new-key")  # type: ignore[attr-defined]
    shown.wait_for()
    key = shown.text_content().strip()
    assert key.startswith("wm_v2.")
    assert console.site.url in page.locator("#new-key-curl").text_content()  # type: ignore[attr-defined]
    page.screenshot(path=shots / "keys.png", full_page=True)  # type: ignore[attr-defined]

    client = openai.OpenAI(base_url=console.site.url, api_key=key, max_retries=0)
    assert "writingmate/echo" in [model.id for model in client.models.list()]

    page.get_by_role("link", name="Done: show my keys").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Revoke browser laptop").click()  # type: ignore[attr-defined]
    page.locator(f"tr[data-key-id='{key.split('.')[1]}'] >> text=revoked").wait_for()  # type: ignore[attr-defined]
    with pytest.raises(openai.AuthenticationError):
        client.models.list()


def test_every_page_renders_for_the_owner(page: object, console: ConsoleSite, shots: Path) -> None:
    console.site.chat(wmgw_beside(console, "key", "create", OWNER))
    sign_in(page, OWNER)
    for path, heading in (
        ("/console/workspaces", "Workspaces and usage"),
        ("/console/byok", "Your OpenRouter key"),
        ("/console/admin", "Admin"),
    ):
        page.goto(path)  # type: ignore[attr-defined]
        assert page.get_by_role("heading", level=1).text_content() == heading  # type: ignore[attr-defined]
        page.screenshot(path=shots / f"{path.rsplit('/', 1)[1]}.png", full_page=True)  # type: ignore[attr-defined]
    page.goto("/console/workspaces")  # type: ignore[attr-defined]
    assert page.locator("svg rect.bar").count() == 30  # type: ignore[attr-defined]
    assert "writingmate/echo" in page.locator("main").text_content()  # type: ignore[attr-defined]


def test_an_admin_changes_a_plans_limit_in_its_row(page: object, console: ConsoleSite) -> None:
    sign_in(page, OWNER)
    page.goto("/console/admin")  # type: ignore[attr-defined]
    page.get_by_label("Messages a day for pro", exact=True).fill("42")  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("button", name="Save pro").click()  # type: ignore[attr-defined]
    assert page.get_by_label("Messages a day for pro", exact=True).input_value() == "42"  # type: ignore[attr-defined]
    assert page.get_by_label("Images a day for pro", exact=True).input_value() == ""  # type: ignore[attr-defined]
    plans = json.loads(wmgw_beside(console, "plan", "list", "--json"))
    [pro] = [p for p in plans if p["name"] == "pro"]
    assert (pro["daily_message_limit"], pro["daily_image_limit"]) == (42, None)


def test_a_member_cannot_reach_the_admin_pages(page: object, console: ConsoleSite) -> None:
    sign_in(page, MEMBER)
    assert page.get_by_role("link", name="Admin").count() == 0  # type: ignore[attr-defined]
    answer = page.goto("/console/admin")  # type: ignore[attr-defined]
    assert answer.status == 403
    answer = page.goto(f"/console/api/workspaces/{console.owner_workspace}/usage")  # type: ignore[attr-defined]
    assert answer.status == 403


def test_a_form_sent_without_the_pages_token_is_refused(page: object, console: ConsoleSite) -> None:
    sign_in(page, MEMBER)
    page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('meta[name=csrf-token]').content = 'forged'"
    )
    page.get_by_label("Name").fill("forged")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Create key").click()  # type: ignore[attr-defined]
    alert = page.get_by_role("alert")  # type: ignore[attr-defined]
    alert.wait_for()
    assert "CSRF" in alert.text_content()


def test_a_tampered_session_cookie_sends_the_browser_to_sign_in(page: object) -> None:
    sign_in(page, MEMBER)
    context = page.context  # type: ignore[attr-defined]
    [cookie] = [c for c in context.cookies() if c["name"] == "wmgw_session"]
    first = "B" if cookie["value"].startswith("A") else "A"  # always a different session id
    context.add_cookies([{**cookie, "value": first + cookie["value"][1:]}])
    page.goto("/console/keys")  # type: ignore[attr-defined]
    assert page.url.endswith("/console/sign-in")  # type: ignore[attr-defined]
