"""Tiny real PNG files for the fake upstreams (written independently of the gateway's own
offline image model, so a fake never borrows the code it helps to test)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def tiny_png(label: str, width: int = 2, height: int = 2) -> bytes:
    """A grey `width` x `height` PNG whose tEXt chunk carries `label` (so files differ)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + b"\x80" * width) * height)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"tEXt", b"Comment\x00" + label.encode())
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def label_of(png: bytes) -> str:
    """The label `tiny_png` wrote."""
    at = png.index(b"tEXt")
    (length,) = struct.unpack(">I", png[at - 4 : at])
    return png[at + 4 : at + 4 + length].removeprefix(b"Comment\x00").decode()
