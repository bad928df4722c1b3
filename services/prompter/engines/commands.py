"""Spoken controls: a line that starts with the room's wake phrase is a command for the frame, never talk.

Speech engines spell a wake phrase many ways ("Hey, frame.", "hay frame", "A frame", "Heyframe"), so each word
of it matches its sound-alikes and, for words of four letters or more, anything one edit away. What follows it
is matched against a few phrasings per action; anything else is `UNRECOGNISED` (ignored by the prompter and
counted), so a misheard command never leaks into a picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.messages.spoken import SpokenAction

DEFAULT_WAKE_PHRASE = "hey frame"
MAX_SUBJECT_CHARS = 120  # a spoken subject longer than this is cut at a word: it must fit a prompt

# How speech engines write the words of the default wake phrase (and a few others people might choose).
_SPELLINGS = ({"hey", "hay", "hei", "heh", "he", "hi", "a", "eh", "ay", "hate"},
              {"frame", "frames", "fram", "fraim", "freim", "flame", "fray"},
              {"ok", "okay", "o.k"})
SOUND_ALIKES = {word: group for group in _SPELLINGS for word in group}

_TOKEN = re.compile(r"[A-Za-z0-9']+")
_POLITE = re.compile(r"^(?:(?:please|can you|could you|would you|will you|now|and|okay|ok|so)\s+)+")
_PAINT = re.compile(r"^(?:paint|draw|show|sketch)(?:\s+(?:me|us))?\s+(?:(?:a|an)\s+(?:picture|painting|image)"
                    r"\s+of\s+)?(?P<subject>.+)$")
_REGENERATE = re.compile(r"^(?:next(?:\s+(?:picture|one|painting|image))?|another(?:\s+(?:one|picture))?"
                         r"|(?:paint|draw|do)\s+(?:that|it)\s+again|again|try\s+again|new\s+picture)$")
_MUTE = re.compile(r"^(?:stop|quit)\s+listening$")
_DESCRIBE = re.compile(r"^(?:what(?:'s|\s+is)\s+(?:this|that|it)|what\s+am\s+i\s+looking\s+at)$")


@dataclass(frozen=True)
class ParsedCommand:
    action: SpokenAction
    subject: str  # what to paint (PAINT only), as said
    heard: str  # the words after the wake phrase


def parse(line: str, wake: tuple[str, ...]) -> ParsedCommand | None:
    """The command in `line`, or None when it does not start with the wake phrase `wake` (its words, as
    `shared.messages.control.wake_phrase` normalises them; empty: spoken controls are off) and is conversation."""
    if not wake:
        return None
    rest = _after_wake(line, wake)
    if rest is None:
        return None
    tokens = _TOKEN.findall(rest)
    heard = " ".join(tokens)
    said = _POLITE.sub("", heard.lower())
    if _DESCRIBE.match(said):
        return ParsedCommand(SpokenAction.DESCRIBE, "", heard)
    if _REGENERATE.match(said):
        return ParsedCommand(SpokenAction.REGENERATE, "", heard)
    if _MUTE.match(said):
        return ParsedCommand(SpokenAction.MUTE, "", heard)
    paint = _PAINT.match(said)
    if paint:  # the subject as written (names keep their capitals, so they can be kept out of the picture)
        return ParsedCommand(SpokenAction.PAINT, _trim(" ".join(tokens[-len(paint["subject"].split()):])), heard)
    return ParsedCommand(SpokenAction.UNRECOGNISED, "", heard)


def _after_wake(text: str, wake: tuple[str, ...]) -> str | None:
    """What follows the wake phrase at the start of `text`, or None. The engine may also run its words
    together ("heyframe")."""
    tokens = list(_TOKEN.finditer(text))
    if len(tokens) >= len(wake) and all(_sounds_like(t.group().lower(), w) for t, w in zip(tokens, wake,
                                                                                           strict=False)):
        return text[tokens[len(wake) - 1].end():]
    if tokens and len(wake) > 1 and tokens[0].group().lower() == "".join(wake):
        return text[tokens[0].end():]
    return None


def _sounds_like(said: str, word: str) -> bool:
    if said == word or said in SOUND_ALIKES.get(word, ()):
        return True
    return len(word) >= 4 and len(said) >= 3 and _one_edit(said, word)


def _one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def _trim(subject: str) -> str:
    """The subject without trailing punctuation, cut at a word to MAX_SUBJECT_CHARS."""
    subject = re.sub(r"\s+", " ", subject).strip(" ,.!?;:")
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[:MAX_SUBJECT_CHARS].rsplit(" ", 1)[0]
    return subject
