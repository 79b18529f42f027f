"""The Gemini Files API for the fake Gemini upstream: the resumable upload the `google-genai`
SDK's `files.upload` performs, `GET` and `DELETE` of a file, and the bytes behind a `fileUri`
for `generateContent` to read.

    POST /upload/v1beta/files                 X-Goog-Upload-Protocol: resumable
                                              X-Goog-Upload-Command: start
                                              X-Goog-Upload-Header-Content-Length / -Type
        -> 200, header `x-goog-upload-url` (this server, `?upload_id=...`)
    POST /upload/v1beta/files?upload_id=...   X-Goog-Upload-Command: upload, finalize
                                              X-Goog-Upload-Offset: 0
        -> 200, header `x-goog-upload-status: final`, body `{"file": File}` (state ACTIVE)
    GET /v1beta/files/{id}  -> File;  DELETE /v1beta/files/{id} -> {}
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Send = Callable[[Any], Awaitable[None]]
Reply = Callable[[int, Any, Mapping[str, str]], Awaitable[None]]
_FILE_PATH = re.compile(r"^/(v1beta|v1)/(files/[A-Za-z0-9_-]+)$")
_UPLOAD_PATH = re.compile(r"^/upload/(v1beta|v1)/files$")


@dataclass
class StoredFile:
    name: str
    mime_type: str
    declared_size: int
    data: bytes = b""
    uploaded: bool = False

    def resource(self, base_url: str) -> JSON:
        return {
            "name": self.name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "createTime": "2026-11-22T03:00:00.000000Z",
            "updateTime": "2026-11-22T03:00:00.000000Z",
            "expirationTime": "2026-11-24T03:00:00.000000Z",
            "sha256Hash": base64.b64encode(hashlib.sha256(self.data).digest()).decode(),
            "uri": f"{base_url}/v1beta/{self.name}",
            "state": "ACTIVE" if self.uploaded else "PROCESSING",
            "source": "UPLOADED",
        }


@dataclass
class FilesApi:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _files: dict[str, StoredFile] = field(default_factory=dict)
    _uploads: dict[str, str] = field(default_factory=dict)  # upload id -> file name
    deleted: list[str] = field(default_factory=list)

    def reset(self) -> None:
        with self._lock:
            self._files.clear()
            self._uploads.clear()
            self.deleted.clear()

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._files)

    def content(self, uri: str) -> tuple[str, bytes] | None:
        """(MIME type, bytes) of an uploaded file, by its `uri`."""
        name = "files/" + uri.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            stored = self._files.get(name)
            return (stored.mime_type, stored.data) if stored and stored.uploaded else None

    async def serve(
        self,
        request: tuple[str, str, Mapping[str, str]],  # method, path, query parameters
        headers: Mapping[str, str],
        raw: bytes,
        base_url: str,
        send: Send,
    ) -> bool:
        """Answer a Files API request; False when it is not one."""
        method, path, params = request

        async def reply(status: int, payload: Any, extra: Mapping[str, str]) -> None:
            await _send_json(send, status, payload, extra)

        if _UPLOAD_PATH.match(path) and method == "POST":
            if "upload_id" in params:
                await self._upload(params["upload_id"], headers, raw, base_url, reply)
            else:
                await self._start(headers, raw, base_url, reply)
            return True
        found = _FILE_PATH.match(path)
        if not found:
            return False
        with self._lock:
            stored = self._files.get(found.group(2))
        if stored is None:
            await reply(404, _error(404, f"File {found.group(2)} not found.", "NOT_FOUND"), {})
        elif method == "GET":
            await reply(200, stored.resource(base_url), {})
        elif method == "DELETE":
            with self._lock:
                self._files.pop(stored.name, None)
                self.deleted.append(stored.name)
            await reply(200, {}, {})
        else:
            await reply(405, _error(405, "Method not allowed.", "UNIMPLEMENTED"), {})
        return True

    async def _start(
        self, headers: Mapping[str, str], raw: bytes, base_url: str, reply: Reply
    ) -> None:
        if (
            headers.get("x-goog-upload-protocol") != "resumable"
            or headers.get("x-goog-upload-command") != "start"
        ):
            await reply(400, _error(400, "Only resumable uploads are supported."), {})
            return
        try:
            declared = int(headers["x-goog-upload-header-content-length"])
            mime = headers["x-goog-upload-header-content-type"]
        except (KeyError, ValueError):
            await reply(400, _error(400, "Missing upload size or content type."), {})
            return
        body = json.loads(raw or b"{}").get("file") or {}
        name = body.get("name") or f"files/{secrets.token_hex(6)}"
        upload_id = secrets.token_urlsafe(12)
        with self._lock:
            self._files[name] = StoredFile(name, body.get("mimeType") or mime, declared)
            self._uploads[upload_id] = name
        url = f"{base_url}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
        await reply(200, {}, {"x-goog-upload-url": url, "x-goog-upload-status": "active"})

    async def _upload(
        self, upload_id: str, headers: Mapping[str, str], raw: bytes, base_url: str, reply: Reply
    ) -> None:
        with self._lock:
            stored = self._files.get(self._uploads.get(upload_id, ""))
        command = headers.get("x-goog-upload-command", "")
        offset = headers.get("x-goog-upload-offset", "")
        if stored is None or not offset.isdigit() or int(offset) != len(stored.data):
            await reply(400, _error(400, "Invalid upload offset or session."), {})
            return
        stored.data += raw
        if "finalize" not in command:
            await reply(200, {}, {"x-goog-upload-status": "active"})
            return
        if len(stored.data) != stored.declared_size:
            await reply(400, _error(400, "Upload size does not match the declared size."), {})
            return
        stored.uploaded = True
        await reply(200, {"file": stored.resource(base_url)}, {"x-goog-upload-status": "final"})


async def _send_json(send: Send, status: int, payload: Any, extra: Mapping[str, str]) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json; charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in extra.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _error(code: int, message: str, status: str = "INVALID_ARGUMENT") -> JSON:
    return {"error": {"code": code, "message": message, "status": status}}
