"""Workspace isolation, over every operation of the spec: what an owner made (a stored response,
a video, an image link, usage, an answer kept for an `Idempotency-Key`) tried by another
user's key, and by that key naming the owner's workspace in `x-writingmate-workspace`.

The other key gets 404 for the owner's resources, its own workspace's data otherwise, and 403
with the foreign header; never the owner's data, and nothing is counted on the owner's quota
or ledger. The matrix is read against openapi.yaml: an operation added to the spec without a
row here fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain import keys
from gateway.settings import REPO_ROOT, Settings
from storage import accounts
from storage.tables import ledger, plans, quota_counters
from tests.audio_samples import tone
from tests.conftest import FETCH_ALLOW, SERVER_SECRET, run_db, seed
from tests.fakes.server import serve_asgi
from tests.leak_watch import WATCH, ErrorAnswers
from web.app import create_app

WORDS = "the owner's private words 5f2c"  # what the owner wrote; nobody else may read it
IDEMPOTENCY_KEY = "shared-idempotency-key-1"
CHAT = {"model": "writingmate/echo", "messages": [{"role": "user", "content": "same body"}]}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OTHER_KEY, FOREIGN_HEADER = "another user's key", "another user's key naming the workspace"


@dataclass(frozen=True)
class Owned:
    """The owner's workspace and what was made in it."""

    base_url: str
    settings: Settings
    key: str
    user_id: str
    workspace_id: str
    response_id: str
    video_id: str
    image_path: str  # /images/files/<name>, the signed link's path
    chat_id: str  # the answer kept for IDEMPOTENCY_KEY
    other_key: str
    header_key: str  # the other user's second key, the one that sends the foreign header
    other_workspace_id: str

    def client(self, key: str, workspace: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"}
        if workspace is not None:
            headers["x-writingmate-workspace"] = workspace
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def db(self, work: Callable[[AsyncConnection], Any]) -> Any:
        return run_db(self.settings.database_url, work)


def spec_operations() -> list[str]:
    spec = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text())
    return sorted(
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


# ---------------------------------------------------------------- the owner's workspace


async def limit_images_and_video_seconds(conn: AsyncConnection) -> None:
    """Every plan counts images and video seconds, so that a count in the wrong place shows."""
    for plan in ("team", "other"):
        await accounts.set_plan_image_limit(conn, plan, 100)
    await conn.execute(update(plans).values(monthly_video_seconds=100))


def another_user(database_url: str) -> tuple[str, str, str]:
    """A user with a workspace (on a plan of its own) and two keys: (workspace id, keys).
    Two, because an `Idempotency-Key` is scoped to the developer key: the header case must
    not meet the plain case's earlier use of the owner's `Idempotency-Key` (409 reused)."""
    made = [keys.generate(SERVER_SECRET.encode()) for _ in range(2)]

    async def work(conn: AsyncConnection) -> str:
        await accounts.create_plan(conn, "other", 1000)
        workspace_id = await accounts.create_workspace(conn, "Theirs", "other")
        user_id = await accounts.create_user(conn, "other@example.com", "Other")
        await accounts.add_member(conn, user_id, workspace_id, "owner")
        for number, new in enumerate(made):
            WATCH.remember_key(new.plaintext)
            await accounts.create_key(
                conn,
                key_id=new.key_id,
                user_id=user_id,
                secret_hash=new.secret_hash,
                name=f"other {number}",
                expires_at=None,
            )
        return workspace_id

    return run_db(database_url, work), made[0].plaintext, made[1].plaintext


def wait_until_completed(http: httpx.Client, video_id: str) -> None:
    deadline = time.monotonic() + 20
    while http.get(f"/videos/{video_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the owner's video did not complete"
        time.sleep(0.05)


def make_owned(http: httpx.Client) -> dict[str, str]:
    response = http.post("/responses", json={"model": "writingmate/echo", "input": WORDS})
    video = http.post("/videos", json={"model": "writingmate/echo-video", "prompt": WORDS})
    image = http.post(
        "/images/generations",
        json={"model": "writingmate/echo-image", "prompt": WORDS, "response_format": "url"},
    )
    chat = http.post("/chat/completions", json=CHAT, headers={"Idempotency-Key": IDEMPOTENCY_KEY})
    for answer in (response, video, image, chat):
        assert answer.status_code == 200, answer.text
    wait_until_completed(http, video.json()["id"])
    return {
        "response_id": response.json()["id"],
        "video_id": video.json()["id"],
        "image_path": "/images/files/" + image.json()["data"][0]["url"].rsplit("/", 1)[1],
        "chat_id": chat.json()["id"],
    }


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[Owned]:
    data_dir = tmp_path_factory.mktemp("isolation")
    (data_dir / "gateway.db").write_bytes(migrated_template.read_bytes())
    environ = {
        "WMGW_DATA_DIR": str(data_dir),
        "WMGW_SERVER_SECRET": SERVER_SECRET,
        "WMGW_VALIDATE_RESPONSES": "1",
        "WMGW_VIDEO_POLL_SECONDS": "0.05",
        "WMGW_FETCH_ALLOW": FETCH_ALLOW,
    }
    settings = Settings.from_env(environ)
    user_id, workspace_id, key = seed(settings.database_url, settings.server_secret, 1000)
    other_workspace_id, other_key, header_key = another_user(settings.database_url)
    run_db(settings.database_url, limit_images_and_video_seconds)
    with serve_asgi(ErrorAnswers(create_app(settings), WATCH)) as url:
        base_url = f"{url}/api/openai/v1"
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            made = make_owned(http)
        yield Owned(
            base_url, settings, key, user_id, workspace_id, **made,
            other_key=other_key, header_key=header_key, other_workspace_id=other_workspace_id,
        )  # fmt: skip


# ---------------------------------------------------------------- what each operation tries


def _get_model(http: httpx.Client, owned: Owned) -> httpx.Response:
    return http.get("/models/writingmate/echo")


def _chat(http: httpx.Client, owned: Owned) -> httpx.Response:
    """The owner's Idempotency-Key and body: another key's retry is its own request."""
    return http.post("/chat/completions", json=CHAT, headers={"Idempotency-Key": IDEMPOTENCY_KEY})


def _completion(http: httpx.Client, owned: Owned) -> httpx.Response:
    return http.post("/completions", json={"model": "writingmate/echo", "prompt": "hi"})


def _continue_response(http: httpx.Client, owned: Owned) -> httpx.Response:
    body = {"model": "writingmate/echo", "input": "and?", "previous_response_id": owned.response_id}
    return http.post("/responses", json=body)


def _embeddings(http: httpx.Client, owned: Owned) -> httpx.Response:
    return http.post("/embeddings", json={"model": "writingmate/echo-embed", "input": "hi"})


def _image(http: httpx.Client, owned: Owned) -> httpx.Response:
    body = {"model": "writingmate/echo-image", "prompt": "mine", "response_format": "url"}
    return http.post("/images/generations", json=body)


def _transcription(http: httpx.Client, owned: Owned) -> httpx.Response:
    files = {"file": ("a.wav", tone(0.2), "audio/wav")}
    return http.post(
        "/audio/transcriptions", data={"model": "writingmate/echo-transcribe"}, files=files
    )


def _video(http: httpx.Client, owned: Owned) -> httpx.Response:
    body = {"model": "writingmate/echo-video", "prompt": "mine", "seconds": "4"}
    return http.post("/videos", json=body)


@dataclass(frozen=True)
class Case:
    call: Callable[[httpx.Client, Owned], httpx.Response]
    other_key: int  # the other key's status, in its own workspace
    code: str | None = None  # the error code of that answer, if it is one
    public: bool = False  # no key needed: the workspace header changes nothing


MATRIX: dict[str, Case] = {
    "GET /models": Case(lambda http, owned: http.get("/models"), 200),
    "GET /models/{model}": Case(_get_model, 200),
    "POST /chat/completions": Case(_chat, 200),
    "POST /completions": Case(_completion, 200),
    "POST /responses": Case(_continue_response, 400, "previous_response_not_found"),
    "GET /responses/{response_id}": Case(
        lambda http, owned: http.get(f"/responses/{owned.response_id}"), 404
    ),
    "DELETE /responses/{response_id}": Case(
        lambda http, owned: http.delete(f"/responses/{owned.response_id}"), 404
    ),
    "POST /embeddings": Case(_embeddings, 200),
    "POST /images/generations": Case(_image, 200),
    # The link is the credential (signed, unguessable, expiring): whoever holds it gets the
    # image, with any key or none. An altered name is 404 (test below).
    "GET /images/files/{name}": Case(
        lambda http, owned: http.get(owned.image_path), 200, public=True
    ),
    "POST /audio/transcriptions": Case(_transcription, 200),
    "POST /videos": Case(_video, 200),
    "GET /videos/{video_id}": Case(
        lambda http, owned: http.get(f"/videos/{owned.video_id}"), 404, "video_not_found"
    ),
    "GET /videos/{video_id}/content": Case(
        lambda http, owned: http.get(f"/videos/{owned.video_id}/content"), 404, "video_not_found"
    ),
    "GET /usage": Case(lambda http, owned: http.get("/usage"), 200),
}


# ---------------------------------------------------------------- what must not change


def counted_on(owned: Owned, workspace_id: str) -> tuple[int, list[tuple[Any, ...]]]:
    """The workspace's ledger rows and quota counters (messages, images, video seconds)."""

    async def work(conn: AsyncConnection) -> tuple[int, list[tuple[Any, ...]]]:
        rows = await conn.execute(select(ledger.c.id).where(ledger.c.workspace_id == workspace_id))
        counters = await conn.execute(
            select(quota_counters).where(quota_counters.c.subject == workspace_id)
        )
        return len(rows.all()), sorted(tuple(row) for row in counters)

    return owned.db(work)


def assert_owner_data_intact(owned: Owned) -> None:
    with owned.client(owned.key) as http:
        kept = http.get(f"/responses/{owned.response_id}")
        assert kept.status_code == 200 and WORDS in kept.text
        assert http.get(f"/videos/{owned.video_id}").json()["status"] == "completed"


def assert_none_of_the_owners_data(answer: httpx.Response, owned: Owned) -> None:
    text = answer.text if "json" in answer.headers.get("content-type", "") else ""
    for private in (WORDS, owned.workspace_id, owned.user_id, owned.chat_id):
        assert private not in text, f"{private!r} in {text[:300]}"


def intruder_client(owned: Owned, intruder: str) -> httpx.Client:
    if intruder == FOREIGN_HEADER:
        return owned.client(owned.header_key, owned.workspace_id)
    return owned.client(owned.other_key)


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("intruder", [OTHER_KEY, FOREIGN_HEADER])
@pytest.mark.parametrize("operation", spec_operations())
def test_no_operation_reaches_another_workspace(
    owned: Owned, operation: str, intruder: str
) -> None:
    case = MATRIX.get(operation)
    if case is None:
        pytest.fail(f"{operation} is in openapi.yaml but not in this isolation matrix: add it")
    before = counted_on(owned, owned.workspace_id)
    with intruder_client(owned, intruder) as http:
        answer = case.call(http, owned)
    if intruder == FOREIGN_HEADER and not case.public:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "workspace_forbidden"
    else:
        assert answer.status_code == case.other_key, answer.text
        if case.code is not None:
            assert answer.json()["error"]["code"] == case.code
    assert "idempotent-replayed" not in answer.headers
    assert_none_of_the_owners_data(answer, owned)
    assert counted_on(owned, owned.workspace_id) == before
    assert_owner_data_intact(owned)


def test_the_matrix_names_only_operations_of_the_spec() -> None:
    assert sorted(MATRIX) == spec_operations()


def test_another_keys_usage_is_its_own_workspaces(owned: Owned) -> None:
    with owned.client(owned.other_key) as http:
        usage = http.get("/usage").json()
    with owned.client(owned.key) as http:
        mine = http.get("/usage").json()
    assert usage["workspace_id"] == owned.other_workspace_id
    assert mine["workspace_id"] == owned.workspace_id
    assert mine["totals"]["requests"] >= 4  # what the owner made


def test_the_owners_idempotency_key_replays_only_to_the_owner(owned: Owned) -> None:
    with owned.client(owned.key) as http:
        replay = _chat(http, owned)
    with owned.client(owned.other_key) as http:
        theirs = _chat(http, owned)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == owned.chat_id
    assert theirs.status_code == 200 and theirs.json()["id"] != owned.chat_id


def test_an_altered_image_link_is_404(owned: Owned) -> None:
    name = owned.image_path.rsplit("/", 1)[1]
    forged = name[:5] + ("A" if name[5] != "A" else "B") + name[6:]
    with owned.client(owned.other_key) as http:
        assert http.get(f"/images/files/{forged}").status_code == 404
