"""Generated images the gateway serves itself for `response_format: url`: files in a directory
(`WMGW_IMAGE_DIR`, by default `images/` in the data directory), named by expiring signed links
(domain/image_links.py). Providers' own URLs vanish, so they are never handed out.

Every file operation runs off the event loop. Expired files are swept by whichever request
stores an image, at most once a minute.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from domain import image_links
from domain.image_links import ImageLink

SWEEP_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class StoredFile:
    data: bytes
    media_type: str
    expires_at: int


class ImageStore:
    def __init__(
        self,
        directory: Path,
        server_secret: bytes,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.key = image_links.link_key(server_secret)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._next_sweep = 0.0

    async def put(self, data: bytes, media_type: str) -> str:
        """Store an image; its link's name (`<token>.<ext>`), valid for `ttl_seconds`."""
        now = self.clock()
        link = image_links.new_link(
            media_type, math.ceil(now + self.ttl_seconds)
        )  # at least the TTL
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_EVERY
        await anyio.to_thread.run_sync(self._write, link, data, sweep, now)
        return link.name(self.key)

    async def get(self, name: str) -> StoredFile | None:
        """The image behind a name, or None when the name is forged, expired or gone."""
        link = image_links.parse(self.key, name, self.clock())
        if link is None:
            return None
        path = self.directory / link.file_name
        try:
            data = await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            return None
        return StoredFile(data, link.media_type, link.expires_at)

    def _write(self, link: ImageLink, data: bytes, sweep: bool, now: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / link.file_name
        staged = final.with_name(f".{final.name}.{secrets.token_hex(4)}")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(staged, final)  # readers never see half a file
        if sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Delete expired images (their names start with the expiry)."""
        with os.scandir(self.directory) as entries:
            for entry in entries:
                expiry, dash, _ = entry.name.partition("-")
                if dash and expiry.isdigit() and int(expiry) <= now:
                    Path(entry.path).unlink(missing_ok=True)
