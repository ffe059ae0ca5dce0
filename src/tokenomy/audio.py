"""Audio input length: the duration of a WAV or MP3 clip, read from its headers and frames.

The API bills audio input by duration (``data/chat.toml`` ``[audio]``); the clip is never decoded,
only its frame headers are read, so memory stays at the size of the clip itself.
"""

from __future__ import annotations

import io
import wave

from tokenomy.errors import MessageFormatError

# MPEG audio: bitrates (kbit/s) by version and layer-3 index, sample rates by version
_BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2.5
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def audio_seconds(data: bytes, fmt: str) -> float:
    """Duration in seconds of a ``wav`` or ``mp3`` clip.

    >>> import io, wave
    >>> buffer = io.BytesIO()
    >>> with wave.open(buffer, "wb") as w:
    ...     w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(bytes(16000))
    >>> audio_seconds(buffer.getvalue(), "wav")
    1.0
    """
    if fmt == "wav":
        try:
            with wave.open(io.BytesIO(data)) as clip:
                return float(clip.getnframes() / clip.getframerate())
        # RuntimeError: the stdlib's chunk reader on a chunk that claims more bytes than follow
        except (wave.Error, EOFError, ZeroDivisionError, RuntimeError) as error:
            raise MessageFormatError("input_audio.data", f"not a readable WAV file ({error})") from None
    if fmt == "mp3":
        return _mp3_seconds(data)
    raise MessageFormatError("input_audio.format", f"{fmt!r} is not 'wav' or 'mp3'")


def _mp3_seconds(data: bytes) -> float:
    """Frames x samples per frame / sample rate, less the encoder delay and padding that a LAME
    (Xing/Info) header declares: players and the API both leave those samples out."""
    i = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        i = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    frames = samples_per_frame = rate = gap = 0
    first = True
    while i + 4 <= len(data):
        header = int.from_bytes(data[i : i + 4], "big")
        if (header >> 21) & 0x7FF != 0x7FF:
            break
        version, layer = (header >> 19) & 3, (header >> 17) & 3
        bitrate_index, rate_index = (header >> 12) & 15, (header >> 10) & 3
        if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
            break  # reserved values, free format or not layer 3: not a frame we can measure
        rate = _RATES[version][rate_index]
        samples_per_frame = 1152 if version == 3 else 576
        padding = (header >> 9) & 1
        length = samples_per_frame // 8 * _BITRATES[version][bitrate_index] * 1000 // rate + padding
        frame = data[i : i + length]
        i += length
        if first:
            first = False
            tag = max(frame.find(b"Xing"), frame.find(b"Info"))
            if tag >= 0:
                gap = _lame_gap(frame, tag)
                continue
        frames += 1
    if not frames or not rate:
        raise MessageFormatError("input_audio.data", "not a readable MP3 file (no MPEG audio frames)")
    return max(0, frames * samples_per_frame - gap) / rate


def _lame_gap(frame: bytes, tag: int) -> int:
    """Encoder delay + padding from the LAME extension after a Xing/Info header (0 if absent)."""
    flags = int.from_bytes(frame[tag + 4 : tag + 8], "big")
    at = tag + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
    lame = frame[at : at + 24]
    if len(lame) < 24 or not lame[:4].isalpha():
        return 0
    d = lame[21:24]
    return ((d[0] << 4) | (d[1] >> 4)) + (((d[1] & 15) << 8) | d[2])
