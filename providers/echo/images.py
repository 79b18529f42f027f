"""`writingmate/echo-image`: the offline image model. It draws a real PNG, deterministically
from the prompt, the image's index and the size, so the whole images path (metering, storage,
URLs) is testable with no keys.

The picture is horizontal bands of colours taken from a SHA-256 of the prompt, with a lighter
stripe whose position depends on the image's index: the same request gives the same bytes, and
the images of one request differ. Written with zlib and struct only.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import anyio.to_thread

from domain.catalog import ModelEntry
from domain.errors import InvalidRequest
from domain.images import ImageRequest
from providers.base import GeneratedImage, ImageResult

DEFAULT_SIZE = (256, 256)
MAX_SIDE = 2048
MAX_IMAGES = 10
BANDS = 8
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(chunk_type: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", checksum)


def palette(prompt: str, index: int) -> list[bytes]:
    """BANDS RGB colours from the prompt; the image's index shifts them."""
    digest = hashlib.sha256(f"{index}:{prompt}".encode()).digest()
    return [digest[i * 3 : i * 3 + 3] for i in range(BANDS)]


def _rows(width: int, height: int, colours: list[bytes], stripe: int) -> bytes:
    """Filter byte 0 then RGB pixels, for every row; rows repeat, so bytes are reused."""
    band_rows = [b"\x00" + colour * width for colour in colours]
    light = b"\x00" + bytes(255 - c for c in colours[0]) * width
    rows = []
    for y in range(height):
        band = y * BANDS // height
        rows.append(light if band == stripe else band_rows[band])
    return b"".join(rows)


def png(width: int, height: int, prompt: str, index: int = 0) -> bytes:
    """A width x height 8-bit RGB PNG for `prompt` (the `index`-th image of a request)."""
    colours = palette(prompt, index)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(_rows(width, height, colours, index % BANDS), 6)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def size_of(request: ImageRequest) -> tuple[int, int]:
    dimensions = request.dimensions or DEFAULT_SIZE
    if max(dimensions) > MAX_SIDE:
        raise InvalidRequest(
            f"Invalid size {request.size!r}: the largest side is {MAX_SIDE} pixels.",
            param="size",
            code="invalid_size",
        )
    return dimensions


def draw(request: ImageRequest) -> ImageResult:
    if request.n > MAX_IMAGES:
        raise InvalidRequest(f"`n` is at most {MAX_IMAGES}.", param="n", code="invalid_value")
    width, height = size_of(request)
    images = [
        GeneratedImage(png(width, height, request.prompt, i), "image/png") for i in range(request.n)
    ]
    return ImageResult(images, details={"output_format": "png"})


async def generate_images(request: ImageRequest, model: ModelEntry) -> ImageResult:
    # Compressing a large PNG takes milliseconds of CPU: off the event loop.
    return await anyio.to_thread.run_sync(draw, request)
