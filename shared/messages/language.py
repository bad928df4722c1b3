"""Which language was spoken, and which a room expects: the one statement of how languages are written.

A language is a BCP-47 primary language subtag: ISO 639-1 where the language has a two-letter code ("de"), else
ISO 639-3 (Whisper's "haw", "yue"). Regions and scripts are dropped ("de-AT", AssemblyAI's "en_us" → "de", "en"):
nothing downstream (the stop words, lemmas and emoji names the prompter and illustrator use) tells regions apart.
A room's setting is a language, or `auto` to detect it per segment.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

AUTO = "auto"
DEFAULT_LANGUAGE = "en"
_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def language_code(value: object) -> str:
    """The primary subtag of a language tag ("DE", "de-AT", "en_us" → "de", "en"); ValueError otherwise."""
    text = str(value).strip()
    match = _TAG.fullmatch(text) if len(text) <= 35 else None
    if match is None:
        raise ValueError(f"not a language code (ISO 639-1 such as 'de', or a BCP-47 tag such as 'de-AT'): "
                         f"{text[:40]!r}")
    return match.group(1).lower()


def room_language(value: object) -> str:
    """A room's language setting: `auto`, or a language code as `language_code` writes it; ValueError otherwise."""
    text = str(value).strip()
    return AUTO if text.lower() == AUTO else language_code(text)


def language_list(value: object) -> str:
    """A comma-separated list of language codes, each as `language_code` writes it, in order, once each
    ("de-AT, en,DE" → "de,en"); ValueError on any that is not a code."""
    return ",".join(dict.fromkeys(language_code(code) for code in str(value).split(",") if code.strip()))


# On the wire: exactly as written above (a sender normalises with `language_code`), so one reading holds everywhere.
Language = Annotated[str, StringConstraints(max_length=3, pattern=r"^[a-z]{2,3}$")]
RoomLanguage = Annotated[str, StringConstraints(max_length=len(AUTO), pattern=rf"^({AUTO}|[a-z]{{2,3}})$")]

# A setting read from the environment, normalised by the rules above (the transcriber's and the prompter's alike).
RoomLanguageSetting = Annotated[str, AfterValidator(room_language)]
LanguageListSetting = Annotated[str, AfterValidator(language_list)]
