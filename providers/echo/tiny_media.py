"""Real, tiny media files written in pure Python, for the offline video model.

- `mp4(...)`: an MP4 (ISO BMFF, `avc1`) holding an H.264 Constrained Baseline stream whose
  macroblocks are all I_PCM (raw samples: no transform or entropy coding to get wrong), one
  IDR frame per second. Every player and ffmpeg decode it.
- `webp(...)`: a lossless WebP (VP8L) of one colour: five single-symbol prefix codes, so the
  pixels cost no bits at all.

Both are deterministic functions of their arguments.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

MB = 16  # macroblock side, in luma samples
TIMESCALE = 1000  # MP4 time units per second


class BitWriter:
    """H.264 RBSP bits: most significant bit first, Exp-Golomb codes. Whole bytes go out as
    soon as they are complete, so raw sample bytes are appended in bulk."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.bits = 0  # pending bits, fewer than 8
        self.count = 0

    def u(self, n: int, value: int) -> None:
        self.bits = (self.bits << n) | (value & ((1 << n) - 1))
        self.count += n
        while self.count >= 8:
            self.count -= 8
            self.out.append((self.bits >> self.count) & 0xFF)
        self.bits &= (1 << self.count) - 1

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() * 2 - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        if self.count:
            self.u(8 - self.count, 0)

    def raw(self, data: bytes) -> None:
        assert self.count == 0
        self.out += data

    def trailing(self) -> bytes:
        self.u(1, 1)
        self.align_zero()
        return bytes(self.out)


def nal(nal_ref_idc: int, nal_type: int, rbsp: bytes) -> bytes:
    """A NAL unit with emulation prevention (no 0x000000-0x000003 inside)."""
    out = bytearray([(nal_ref_idc << 5) | nal_type])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


@dataclass(frozen=True)
class Frame:
    """Display size and the coded size (whole macroblocks) around it."""

    width: int
    height: int

    @property
    def mbs_wide(self) -> int:
        return -(-self.width // MB)

    @property
    def mbs_high(self) -> int:
        return -(-self.height // MB)


def sps(frame: Frame) -> bytes:
    bits = BitWriter()
    bits.u(8, 66)  # profile_idc: Baseline
    bits.u(8, 0xC0)  # constraint_set0 and set1: Constrained Baseline
    bits.u(8, 30)  # level_idc 3.0
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(0)  # log2_max_frame_num_minus4
    bits.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(frame.mbs_wide - 1)
    bits.ue(frame.mbs_high - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    crop_right = (frame.mbs_wide * MB - frame.width) // 2  # in 2-sample units (4:2:0)
    crop_bottom = (frame.mbs_high * MB - frame.height) // 2
    cropped = bool(crop_right or crop_bottom)
    bits.u(1, int(cropped))
    if cropped:
        for offset in (0, crop_right, 0, crop_bottom):
            bits.ue(offset)
    bits.u(1, 0)  # vui_parameters_present_flag
    return nal(3, 7, bits.trailing())


def pps() -> bytes:
    bits = BitWriter()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(1, 0)  # weighted_pred_flag
    bits.u(2, 0)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 0)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return nal(3, 8, bits.trailing())


YCbCr = tuple[int, int, int]


def idr_slice(frame: Frame, idr_pic_id: int, pixel: Sequence[Sequence[YCbCr]]) -> bytes:
    """One IDR picture, every macroblock I_PCM. `pixel[y][x]` covers the coded size; samples
    stay within 16-235 so no sample is 0 (older decoders refuse 0 in PCM)."""
    bits = BitWriter()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7)  # slice_type: I (all slices)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(4, 0)  # frame_num
    bits.ue(idr_pic_id)
    bits.u(1, 0)  # no_output_of_prior_pics_flag
    bits.u(1, 0)  # long_term_reference_flag
    bits.se(0)  # slice_qp_delta
    for mb_y in range(frame.mbs_high):
        for mb_x in range(frame.mbs_wide):
            bits.ue(25)  # mb_type I_PCM
            bits.align_zero()
            bits.raw(_pcm(pixel, mb_x * MB, mb_y * MB))
    return nal(3, 5, bits.trailing())


def _pcm(pixel: Sequence[Sequence[YCbCr]], x0: int, y0: int) -> bytes:
    luma = bytes(pixel[y0 + y][x0 + x][0] for y in range(MB) for x in range(MB))
    half = MB // 2
    cb = bytes(pixel[y0 + 2 * y][x0 + 2 * x][1] for y in range(half) for x in range(half))
    cr = bytes(pixel[y0 + 2 * y][x0 + 2 * x][2] for y in range(half) for x in range(half))
    return luma + cb + cr


# ------------------------------------------------------------------------------ MP4 boxes


def box(box_type: bytes, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return struct.pack(">I", 8 + len(payload)) + box_type + payload


def full_box(box_type: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(box_type, struct.pack(">I", (version << 24) | flags), *parts)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _avc1(frame: Frame, sps_nal: bytes, pps_nal: bytes) -> bytes:
    avcc = box(
        b"avcC",
        bytes([1, sps_nal[1], sps_nal[2], sps_nal[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps_nal)),
        sps_nal,
        bytes([1]),
        struct.pack(">H", len(pps_nal)),
        pps_nal,
    )
    return box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HH", frame.width, frame.height),
        struct.pack(">II", 0x480000, 0x480000),  # 72 dpi
        bytes(4),
        struct.pack(">H", 1),  # frame_count
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )


def _moov(frame: Frame, sizes: list[int], sps_nal: bytes, pps_nal: bytes, offset: int) -> bytes:
    duration = len(sizes) * TIMESCALE
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), _avc1(frame, sps_nal, pps_nal)),
        full_box(b"stts", 0, 0, struct.pack(">III", 1, len(sizes), TIMESCALE)),
        full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(sizes), 1)),
        full_box(b"stsz", 0, 0, struct.pack(f">II{len(sizes)}I", 0, len(sizes), *sizes)),
        full_box(b"stco", 0, 0, struct.pack(">II", 1, offset)),
    )
    minf = box(
        b"minf",
        full_box(b"vmhd", 0, 1, bytes(8)),
        box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1))),
        stbl,
    )
    mdia = box(
        b"mdia",
        full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, duration, 0x55C4, 0)),
        full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\0"),
        minf,
    )
    tkhd = full_box(
        b"tkhd",
        0,
        3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, 1, 0, duration),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0, 0),
        MATRIX,
        struct.pack(">II", frame.width << 16, frame.height << 16),
    )
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIIIIH", 0, 0, TIMESCALE, duration, 0x10000, 0x100),
        bytes(10),
        MATRIX,
        bytes(24),
        struct.pack(">I", 2),  # next_track_ID
    )
    return box(b"moov", mvhd, box(b"trak", tkhd, mdia))


def mp4(width: int, height: int, frames: Sequence[Sequence[Sequence[YCbCr]]]) -> bytes:
    """An MP4 of `frames` (each `[y][x] -> (Y, Cb, Cr)`, at least the coded size), one per
    second. `width` and `height` must be even."""
    frame = Frame(width, height)
    sps_nal, pps_nal = sps(frame), pps()
    samples = [idr_slice(frame, i % 2, pixels) for i, pixels in enumerate(frames)]
    samples = [struct.pack(">I", len(s)) + s for s in samples]  # AVCC: 4-byte lengths
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    sizes = [len(s) for s in samples]
    moov_size = len(_moov(frame, sizes, sps_nal, pps_nal, 0))
    offset = len(ftyp) + moov_size + 8  # the first sample, just past mdat's header
    moov = _moov(frame, sizes, sps_nal, pps_nal, offset)
    return ftyp + moov + box(b"mdat", *samples)


# ------------------------------------------------------------------------------ WebP


class LsbBits:
    """VP8L bits: least significant bit first."""

    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def put(self, n: int, value: int) -> None:
        self.value |= (value & ((1 << n) - 1)) << self.count
        self.count += n

    def bytes(self) -> bytes:
        return self.value.to_bytes(-(-self.count // 8), "little")


def webp(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A lossless WebP of one opaque colour."""
    bits = LsbBits()
    bits.put(8, 0x2F)  # VP8L signature
    bits.put(14, width - 1)
    bits.put(14, height - 1)
    bits.put(1, 0)  # alpha_is_used
    bits.put(3, 0)  # version
    bits.put(1, 0)  # no transform
    bits.put(1, 0)  # no colour cache
    bits.put(1, 0)  # no meta prefix codes
    red, green, blue = rgb
    for symbol in (green, red, blue, 255, 0):  # green, red, blue, alpha, distance
        bits.put(1, 1)  # simple code
        bits.put(1, 0)  # one symbol
        bits.put(1, 1)  # written with 8 bits
        bits.put(8, symbol)
    data = bits.bytes()
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
