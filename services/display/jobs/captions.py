"""A finished job's transcript as files people keep: plain text, WebVTT and SRT (speakers named when known).

`srt` and `webvtt-py` write the formats, so timestamps and escaping follow each format's rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast

import srt
from webvtt import Caption, WebVTT

from services.display.views import JobLineView

FORMATS = {"txt": "text/plain; charset=utf-8", "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip"}


def render(lines: Sequence[JobLineView], fmt: str) -> str:
    """The transcript in `fmt` (a key of FORMATS); lines without words are left out."""
    spoken = [line for line in lines if line.text.strip()]
    if fmt == "txt":
        return "".join(f"{_said(line)}\n" for line in spoken)
    if fmt == "srt":
        return cast(str, srt.compose([srt.Subtitle(i + 1, timedelta(seconds=line.start_seconds),
                                         timedelta(seconds=line.end_seconds), _said(line))
                            for i, line in enumerate(spoken)]))  # srt ships no types
    vtt = WebVTT()
    for line in spoken:
        text = line.text.strip() if line.speaker is None else f"<v Speaker {line.speaker}>{line.text.strip()}"
        vtt.captions.append(Caption(_vtt_time(line.start_seconds), _vtt_time(line.end_seconds), text))
    return vtt.content


def _said(line: JobLineView) -> str:
    return line.text.strip() if line.speaker is None else f"Speaker {line.speaker}: {line.text.strip()}"


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
