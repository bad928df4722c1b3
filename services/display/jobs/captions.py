"""A finished job's transcript as files people keep: plain text, WebVTT and SRT (speakers named when known).

A line is what one piece or speaker turn said, up to Whisper's 30 s window of talk: the text file keeps it as a
paragraph, and the captions split it by its words' own times into cues a viewer can read while they are shown,
ending each at a sentence's end or a pause, and never past MAX_CUE_SECONDS or MAX_CUE_CHARS. `srt` and
`webvtt-py` write the formats, so timestamps and escaping follow each format's rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import srt
from webvtt import Caption, WebVTT

from services.display.views import JobLineView
from shared.messages import Word

FORMATS = {"txt": "text/plain; charset=utf-8", "vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip"}

MAX_CUE_SECONDS = 7.0  # the longest a subtitle stays up by broadcasters' guidelines (BBC, Netflix)
MAX_CUE_CHARS = 84  # two rows of 42 characters
MIN_CUE_SECONDS = 1.0  # a short cue ("Yeah.") stays up this long, unless the next one comes sooner
PAUSE_SECONDS = 0.7  # a gap this long between two words ends a cue
_SENTENCE_END = (".", "?", "!", "…")


@dataclass(frozen=True)
class Cue:
    """One caption: where it shows in the file and what it says."""

    start_seconds: float
    end_seconds: float
    text: str
    speaker: str | None


def render(lines: Sequence[JobLineView], fmt: str) -> str:
    """The transcript in `fmt` (a key of FORMATS); lines without words are left out."""
    spoken = [line for line in lines if line.text.strip()]
    if fmt == "txt":
        return "".join(f"{_said(line.text, line.speaker)}\n" for line in spoken)
    cued = [cue for line in spoken for cue in cues(line)]
    if fmt == "srt":
        return cast(str, srt.compose([srt.Subtitle(i + 1, timedelta(seconds=cue.start_seconds),
                                         timedelta(seconds=cue.end_seconds), _said(cue.text, cue.speaker))
                            for i, cue in enumerate(cued)]))  # srt ships no types
    vtt = WebVTT()
    for cue in cued:
        text = cue.text if cue.speaker is None else f"<v Speaker {cue.speaker}>{cue.text}"
        vtt.captions.append(Caption(_vtt_time(cue.start_seconds), _vtt_time(cue.end_seconds), text))
    return vtt.content


def cues(line: JobLineView) -> list[Cue]:
    """A line's captions: split by its words' times (one cue, the line's span, when it has no words)."""
    if not line.words:
        return [Cue(line.start_seconds, line.end_seconds, line.text.strip(), line.speaker)]
    runs: list[list[Word]] = [[]]
    for word, after in zip(line.words, [*line.words[1:], None], strict=True):
        while runs[-1] and _too_long([*runs[-1], word]):
            run = runs[-1]  # end it after its last comma, if any, else before this word
            comma = max((i for i, w in enumerate(run[:-1], 1) if w.text.endswith((",", ";", ":"))), default=0)
            runs[-1:] = [run[:comma], run[comma:]] if comma else [run, []]
        runs[-1].append(word)
        if after is not None and (word.text.endswith(_SENTENCE_END)
                                  or after.start_seconds - word.end_seconds >= PAUSE_SECONDS):
            runs.append([])
    runs = [run for run in runs if run]
    starts = [line.start_seconds + run[0].start_seconds for run in runs]
    ends = [*starts[1:], max(line.end_seconds, starts[-1])]
    return [Cue(start, min(nxt, max(line.start_seconds + run[-1].end_seconds, start + MIN_CUE_SECONDS)),
                " ".join(w.text.strip() for w in run), line.speaker)
            for run, start, nxt in zip(runs, starts, ends, strict=True)]


def _too_long(run: Sequence[Word]) -> bool:
    return (run[-1].end_seconds - run[0].start_seconds > MAX_CUE_SECONDS
            or sum(len(w.text.strip()) + 1 for w in run) - 1 > MAX_CUE_CHARS)


def _said(text: str, speaker: str | None) -> str:
    return text.strip() if speaker is None else f"Speaker {speaker}: {text.strip()}"


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
