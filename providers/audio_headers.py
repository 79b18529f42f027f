"""What an audio file's first bytes say: its container and, where the header holds it, its
duration. Pure functions on bytes; the caller reads the head of the file (HEAD_BYTES).

- WAV (RIFF/WAVE, and RF64's sizes are not read): data size / byte rate, exact.
- FLAC: total samples / sample rate from STREAMINFO, exact.
- MP3: file size / bitrate of the first frame (after any ID3v2 tag), exact for constant bitrate.
- OGG, WebM, MP4/M4A: recognised, duration unknown from the head.
"""

from __future__ import annotations

import mimetypes
import struct
from dataclasses import dataclass

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class AudioInfo:
    format: str  # wav, flac, mp3, ogg, webm, mp4, or "" when not recognised
    mime_type: str
    duration: float | None  # seconds, when the header tells


def _wav(head: bytes, size: int) -> AudioInfo:
    byte_rate = 0
    at = 12
    while at + 8 <= len(head):
        chunk, length = head[at : at + 4], struct.unpack_from("<I", head, at + 4)[0]
        body = at + 8
        if chunk == b"fmt " and body + 12 <= len(head):
            byte_rate = struct.unpack_from("<I", head, body + 8)[0]
        elif chunk == b"data":
            available = size - body
            data = available if length in (0, 0xFFFFFFFF) else min(length, available)
            duration = data / byte_rate if byte_rate else None
            return AudioInfo("wav", "audio/wav", duration)
        at = body + length + (length & 1)
    return AudioInfo("wav", "audio/wav", None)


def _flac(head: bytes) -> AudioInfo:
    # STREAMINFO is the first metadata block: 20 bits of sample rate, 36 of total samples.
    if len(head) < 8 + 18:
        return AudioInfo("flac", "audio/flac", None)
    packed = int.from_bytes(head[8 + 10 : 8 + 18], "big")
    rate = packed >> 44
    samples = packed & ((1 << 36) - 1)
    return AudioInfo("flac", "audio/flac", samples / rate if rate and samples else None)


_MP3_KBPS = {  # MPEG-1 layer III, MPEG-2/2.5 layer III
    1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
}


def _id3_size(head: bytes) -> int:
    if not head.startswith(b"ID3") or len(head) < 10:
        return 0
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size


def _mp3(head: bytes, size: int) -> AudioInfo | None:
    at = _id3_size(head)
    while at + 4 <= len(head):
        if head[at] == 0xFF and head[at + 1] & 0xE0 == 0xE0:
            version = (head[at + 1] >> 3) & 0x3
            layer = (head[at + 1] >> 1) & 0x3
            kbps = _MP3_KBPS[1 if version == 3 else 2][head[at + 2] >> 4]
            if layer == 1 and kbps:  # layer III
                return AudioInfo("mp3", "audio/mpeg", (size - at) * 8 / (kbps * 1000))
        if at >= _id3_size(head) + 4096:
            break
        at += 1
    return AudioInfo("mp3", "audio/mpeg", None) if head.startswith(b"ID3") else None


def inspect(head: bytes, size: int, filename: str = "") -> AudioInfo:
    """The container and duration of a file of `size` bytes starting with `head`."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav(head, size)
    if head[:4] == b"fLaC":
        return _flac(head)
    if head[:4] == b"OggS":
        return AudioInfo("ogg", "audio/ogg", None)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return AudioInfo("webm", "audio/webm", None)
    if head[4:8] == b"ftyp":
        return AudioInfo("mp4", "audio/mp4", None)
    mp3 = _mp3(head, size)
    if mp3 is not None:
        return mp3
    guessed, _ = mimetypes.guess_type(filename)
    return AudioInfo("", guessed or "application/octet-stream", None)
