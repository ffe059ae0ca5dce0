"""Audio clip durations (tokenomy.audio) from WAV headers and hand-built MP3 frames, and the audio
tokens count_request bills for an input_audio part."""

from __future__ import annotations

import base64
import contextlib
import io
import math
import struct
import sys
import wave

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiktoken_enc
from tokenomy._data import table
from tokenomy.audio import audio_seconds
from tokenomy.errors import MessageFormatError
from tokenomy.requests import count_request

SAMPLES_PER_FRAME, RATE = 1152, 44100  # MPEG-1 Layer III


def wav(seconds: float, *, rate: int = 16000, channels: int = 1) -> bytes:
    """A silent 16-bit PCM WAV clip of ``seconds`` written by the stdlib."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(channels)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(bytes(2 * channels * round(seconds * rate)))
    return buffer.getvalue()


def mp3_frame(*, padding: bool = False, payload: bytes = b"") -> bytes:
    """One MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz, stereo, no CRC: 417 bytes, 418 padded."""
    header = 0xFFFB9000 | (0x200 if padding else 0)  # sync, MPEG-1, layer III, bitrate 9, 44.1 kHz
    length = 144 * 128_000 // RATE + padding
    assert length == (418 if padding else 417)
    return header.to_bytes(4, "big") + payload.ljust(length - 4, b"\0")


def info_frame(delay: int, end_padding: int) -> bytes:
    """A leading Xing "Info" frame with every optional field and a LAME tag carrying ``delay`` and
    ``end_padding`` (12 bits each, bytes 21-23 of the LAME tag)."""
    flags = 0b1111  # frames, bytes, TOC and quality fields present
    fields = (
        (100).to_bytes(4, "big") + (41_800).to_bytes(4, "big") + bytes(range(100)) + (50).to_bytes(4, "big")
    )
    lame = bytearray(b"LAME3.100".ljust(36, b"\0"))
    lame[21:24] = bytes([delay >> 4, ((delay & 0xF) << 4) | (end_padding >> 8), end_padding & 0xFF])
    side_info = bytes(32)  # MPEG-1 stereo: the tag follows 32 bytes of side information
    return mp3_frame(payload=side_info + b"Info" + flags.to_bytes(4, "big") + fields + bytes(lame))


def id3v2(size: int) -> bytes:
    """An ID3v2.4 tag of ``size`` body bytes (a syncsafe size), its body full of 0xFF to look like sync."""
    syncsafe = bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + syncsafe + b"\xff" * size


def test_wav_duration() -> None:
    """A WAV clip lasts its frame count over its frame rate."""
    assert audio_seconds(wav(2.5), "wav") == 2.5
    assert audio_seconds(wav(1.25, rate=44100, channels=2), "wav") == round(1.25 * 44100) / 44100


def test_mp3_frames() -> None:
    """N frames (padded or not) last N x 1152 / 44100 seconds."""
    frames = b"".join(mp3_frame(padding=i % 3 == 1) for i in range(38))
    assert audio_seconds(frames, "mp3") == 38 * SAMPLES_PER_FRAME / RATE


def test_mp3_lame_tag_removes_delay_and_padding() -> None:
    """A leading Info frame is not audio, and its LAME tag's encoder delay and padding are subtracted."""
    delay, end_padding = 576, 1_234
    clip = info_frame(delay, end_padding) + b"".join(mp3_frame() for _ in range(40))
    assert audio_seconds(clip, "mp3") == (40 * SAMPLES_PER_FRAME - delay - end_padding) / RATE


def test_mp3_id3v2_tag_is_skipped() -> None:
    """An ID3v2 tag in front of the frames adds no duration, even when its bytes look like frame sync."""
    frames = b"".join(mp3_frame() for _ in range(10))
    assert (
        audio_seconds(id3v2(300) + frames, "mp3")
        == audio_seconds(frames, "mp3")
        == 10 * SAMPLES_PER_FRAME / RATE
    )


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(b"definitely not audio", "mp3"), (b"", "mp3"), (b"RIFF\x00\x00\x00\x00WAVEjunk", "wav"),
     (b"definitely not audio", "wav"), (id3v2(20), "mp3"), (info_frame(0, 0), "mp3"),
     (wav(1.0), "ogg")],
)  # fmt: skip
def test_garbage_raises(data: bytes, fmt: str) -> None:
    """Bytes that are not a readable clip of the named format raise MessageFormatError."""
    with pytest.raises(MessageFormatError):
        audio_seconds(data, fmt)


def test_damaged_wav_header_raises() -> None:
    """A WAV whose fmt chunk claims more bytes than the file holds raises MessageFormatError."""
    clip = bytearray(wav(0.01))
    clip[16:20] = struct.pack("<I", 0x1000)  # the fmt chunk's size, normally 16
    with pytest.raises(MessageFormatError):
        audio_seconds(bytes(clip), "wav")


@pytest.mark.xfail(
    sys.version_info < (3, 12),
    strict=True,
    reason="the stdlib wave module reads WAVE_FORMAT_EXTENSIBLE only from Python 3.12",
)
def test_extensible_wav_duration() -> None:
    """A WAVE_FORMAT_EXTENSIBLE clip (24-bit and multichannel recorders write them) lasts its frames over its rate."""
    guid = bytes.fromhex("0100000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 8000, 16000, 2, 16) + struct.pack("<HHI", 22, 16, 4) + guid
    data = bytes(2 * 12_000)
    riff = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    assert audio_seconds(b"RIFF" + struct.pack("<I", len(riff)) + riff, "wav") == 1.5


@pytest.mark.parametrize(
    ("fmt", "clip"), [("wav", wav(2.588)), ("mp3", b"".join(mp3_frame() for _ in range(99)))]
)
def test_input_audio_part_bills_ten_tokens_per_second(fmt: str, clip: bytes) -> None:
    """An input_audio part bills floor(10 x seconds) audio tokens, in the `audio` field, plus its framing."""
    seconds = audio_seconds(clip, fmt)
    part = {"type": "input_audio", "input_audio": {"data": base64.b64encode(clip).decode(), "format": fmt}}
    body = {"model": "gpt-4o-audio-preview", "messages": [{"role": "user", "content": [part]}]}
    result = count_request(body)
    rules, chatml = table("chat")["audio"], table("chat")["formats"]["chatml"]
    assert rules["tokens_per_second"] == 10
    assert result.audio == math.floor(10 * seconds) > 0
    message = (
        chatml["tokens_per_message"] + len(tiktoken_enc("o200k_base").encode("user")) + rules["part_framing"]
    )
    assert result.messages == (message,)
    assert result.tokens == message + result.audio + chatml["reply_priming"]
    assert "audio" in result.features


# ---- properties --------------------------------------------------------------------------------


@given(padding=st.lists(st.booleans(), min_size=1, max_size=60), junk=st.binary(max_size=40))
@settings(max_examples=100, deadline=None)
def test_any_frame_run_lasts_its_frames(padding: list[bool], junk: bytes) -> None:
    """Any run of frames, an ID3v2 tag before and anything after, lasts its frame count x 1152 / 44100."""
    frames = b"".join(mp3_frame(padding=p) for p in padding)
    trailer = b"\0" + junk  # a byte that cannot start a frame sync ends the run
    assert (
        audio_seconds(id3v2(len(junk)) + frames + trailer, "mp3") == len(padding) * SAMPLES_PER_FRAME / RATE
    )


@given(data=st.binary(max_size=600), fmt=st.sampled_from(["wav", "mp3"]))
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_a_duration_or_message_format_error(data: bytes, fmt: str) -> None:
    """Any bytes give a non-negative duration or raise MessageFormatError."""
    with contextlib.suppress(MessageFormatError):
        assert audio_seconds(data, fmt) >= 0


@given(edits=st.lists(st.tuples(st.integers(0, 43), st.integers(0, 255)), min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_damaged_wav_header_gives_a_duration_or_message_format_error(
    edits: list[tuple[int, int]],
) -> None:
    """A WAV clip with any bytes of its 44-byte header changed gives a duration or raises MessageFormatError."""
    clip = bytearray(wav(0.01, rate=8000))
    for at, value in edits:
        clip[at] = value
    with contextlib.suppress(MessageFormatError):
        assert audio_seconds(bytes(clip), "wav") >= 0
