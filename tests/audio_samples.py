"""Audio files for the transcription tests, made on the spot (no binary fixtures)."""

from __future__ import annotations

import io
import math
import struct
import wave


def tone(seconds: float = 2.5, rate: int = 16_000, hz: float = 440.0) -> bytes:
    """A mono 16-bit WAV sine tone."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(frames)
    return buffer.getvalue()


def silence(seconds: float, rate: int = 8_000) -> bytes:
    """A mono 8-bit WAV of silence, cheap to make at any length."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(rate)
        audio.writeframes(b"\x80" * int(seconds * rate))
    return buffer.getvalue()


def flac_head(seconds: float, rate: int = 44_100) -> bytes:
    """The start of a FLAC file: the marker and a STREAMINFO block."""
    samples = int(seconds * rate)
    packed = (rate << 44) | (0 << 41) | (15 << 36) | samples  # mono, 16 bits per sample
    info = b"\x00\x10\x00\x10" + b"\x00\x00\x00" * 2 + packed.to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + b"\x80" + len(info).to_bytes(3, "big") + info


def mp3_frames(seconds: float, kbps: int = 128) -> bytes:
    """An ID3v2 tag and constant-bitrate MPEG-1 layer III frames (silent payload)."""
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    index = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320].index(kbps)
    header = bytes([0xFF, 0xFB, (index << 4) | 0x00, 0x44])  # 44.1 kHz, no padding
    frame = header + b"\x00" * (144 * kbps * 1000 // 44_100 - 4)
    count = int(seconds * kbps * 1000 / 8 / len(frame))
    return tag + frame * count
