"""The pages speak the browser's language (English, German, Spanish, French) from one message catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.display.conftest import DisplayProcess

STATIC = Path(__file__).resolve().parents[2] / "services" / "display" / "static"
LANGUAGES = ("en", "de", "es", "fr")


def catalogue() -> dict[str, set[str]]:
    """Each language's keys in static/messages.js (its blocks open with `  <code>: {`)."""
    text = (STATIC / "messages.js").read_text(encoding="utf-8")
    blocks = re.split(r"^  ([a-z]{2}): \{$", text, flags=re.MULTILINE)
    return {code: set(re.findall(r'"([a-z_]+\.[a-z_]+)":', body)) for code, body in zip(blocks[1::2], blocks[2::2],
                                                                                          strict=True)}


def used_keys() -> set[str]:
    """Every key a page names: data-i18n* attributes in the HTML, t("…") calls in the scripts."""
    keys: set[str] = set()
    for page in STATIC.glob("*.html"):
        keys |= set(re.findall(r'data-i18n(?:-[a-z]+)?="([^"]+)"', page.read_text(encoding="utf-8")))
    for script in STATIC.glob("*.js"):
        if script.name != "messages.js":  # every "area.name" string a script holds is a key it translates
            keys |= set(re.findall(r'"((?:frame|mic|nav|link|upload|job|login|pair|dash)\.[a-z_]+)"',
                                   script.read_text(encoding="utf-8")))
    return keys


def test_every_key_a_page_uses_is_in_every_language() -> None:
    languages = catalogue()
    assert set(languages) == set(LANGUAGES)
    used = used_keys()
    assert len(used) > 40
    for code in LANGUAGES:
        assert used <= languages[code], (code, sorted(used - languages[code]))
        assert languages[code] == languages["en"], (code, languages[code] ^ languages["en"])


def test_every_page_loads_the_translator() -> None:
    for page in STATIC.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        if "data-i18n" in html:
            assert '<script type="module" src="/static/i18n.js"></script>' in html, page.name


@pytest.mark.browser
@pytest.mark.parametrize(("locale", "listening", "start"), [
    ("de-DE", "Hört zu", "Start"), ("es-ES", "Escuchando", "Empezar"), ("fr-FR", "À l'écoute", "Démarrer"),
    ("en-US", "Listening", "Start"), ("nl-NL", "Listening", "Start")])  # a language it does not speak: English
def test_the_frame_and_the_mic_page_follow_the_browsers_language(display: DisplayProcess, browser, locale: str,
                                                                  listening: str, start: str) -> None:
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        page.goto(f"{display.url}/frame/living-room?caption=off")
        page.wait_for_function("lang => document.documentElement.lang === lang", arg=locale[:2]
                               if locale[:2] in LANGUAGES else "en")
        assert page.inner_text("#waiting p >> nth=0").startswith(listening)
        page.goto(f"{display.url}/mic/living-room")
        page.wait_for_function("lang => document.documentElement.lang === lang", arg=locale[:2]
                               if locale[:2] in LANGUAGES else "en")
        assert page.inner_text("#toggle") == start
    finally:
        context.close()
