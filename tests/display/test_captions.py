"""Captions of a job's transcript: a long line is split by its words' own times into cues a person can read."""

from __future__ import annotations

import io
import itertools

import srt
import webvtt

from services.display.jobs.captions import MAX_CUE_CHARS, MAX_CUE_SECONDS, render
from services.display.views import JobLineView
from shared.messages import Word


def _timed(text: str, start_s: float, seconds_per_word: float = 0.4, pause_s: float = 0.3) -> tuple[Word, ...]:
    """`text`'s words, one after another from `start_s`, a short pause after each sentence."""
    words, t = [], start_s
    for token in text.split():
        words.append(Word(text=token, start_seconds=t, end_seconds=t + seconds_per_word - 0.05, confidence=0.9))
        t += seconds_per_word + (pause_s if token.endswith(".") else 0)
    return tuple(words)


# One piece's 25 s of talk: short sentences, then one long sentence with no stop in it.
SAID = ("Welcome to the lighthouse. The captain sang loudly. A farmer ran home. "
        "and then we all walked down to the harbour where the boats were, because the fishermen wanted to show "
        "us how they mend their nets before the storm comes in from the sea tonight and we listened for hours. "
        "Goodbye.")


def test_a_long_line_is_captioned_in_cues_no_longer_than_a_subtitle_at_its_sentence_ends() -> None:
    words = _timed(SAID, start_s=1.0)
    line = JobLineView(sequence=3, start_seconds=100.0, end_seconds=126.0, text=SAID, transcribed=True, words=words)
    assert words[-1].end_seconds > 20

    cues = list(srt.parse(render([line], "srt")))
    assert len(cues) >= 6
    assert " ".join(c.content for c in cues).split() == SAID.split()  # every word once, in order
    assert all((c.end - c.start).total_seconds() <= MAX_CUE_SECONDS and len(c.content) <= MAX_CUE_CHARS
               for c in cues), [(c.start, c.end, c.content) for c in cues]
    assert [c.content for c in cues[:3]] == ["Welcome to the lighthouse.", "The captain sang loudly.",
                                             "A farmer ran home."]  # a cue ends at a sentence's end
    assert cues[0].start.total_seconds() == 101.0  # on the file's timeline: the line's start + the word's time
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert cues[-1].content == "Goodbye." and cues[-1].end.total_seconds() <= 126.0
    assert any(c.content.endswith("were,") for c in cues)  # the long sentence is split after a comma

    vtt = webvtt.from_buffer(io.StringIO(render([line], "vtt")))
    assert [c.text for c in vtt.captions] == [c.content for c in cues]
    assert render([line], "txt") == SAID + "\n"  # the text file keeps the line whole, a paragraph


def test_a_line_without_words_is_one_cue_over_its_span() -> None:
    line = JobLineView(sequence=0, start_seconds=2.0, end_seconds=30.0, speaker="A", text="Hello there.",
                       transcribed=True)
    [cue] = srt.parse(render([line], "srt"))
    assert (cue.start.total_seconds(), cue.end.total_seconds(), cue.content) == (2.0, 30.0, "Speaker A: Hello there.")
