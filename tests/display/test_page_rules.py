"""The rules page scripts share with the server are stated once in Python and served by `/rules.js`:
no static file restates them, and the scripts that use them apply the server's values in a real browser."""

from __future__ import annotations

import re

import pytest

from services.display.web.pages import STATIC_DIR
from shared.messages.control import IMAGES_PER_PROMPT, STYLES, WINDOW_SECONDS
from shared.messages.envelope import NAME_CHARS, NAME_PATTERN
from shared.messages.scene import SCENE_MODES
from tests.display.conftest import DisplayProcess


def test_no_page_script_restates_the_name_rule() -> None:
    restating = [p.name for p in STATIC_DIR.iterdir() if NAME_CHARS.removesuffix("-") in p.read_text(errors="replace")]
    assert restating == [], "page scripts import the name rule from /rules.js"


@pytest.mark.browser
def test_a_browser_mic_cleans_its_name_by_the_servers_rule(display: DisplayProcess, browser) -> None:
    page = browser.new_page()
    page.goto(f"{display.url}/frame/living-room")
    cleaned = page.evaluate("""async () => {
      const { micName } = await import("/static/micstream.js");
      return micName(new URLSearchParams({ name: "kitchen table.2!" + "x".repeat(80) }));
    }""")
    assert re.fullmatch(NAME_PATTERN, cleaned) and cleaned.startswith("kitchen-table-2-x")


@pytest.mark.browser
def test_the_dashboards_controls_offer_what_the_server_accepts(display: DisplayProcess, browser) -> None:
    page = browser.new_page()
    page.goto(display.url)
    page.wait_for_function("document.querySelectorAll('#images button').length > 0")
    offered = page.evaluate("""() => ({
      window: [Number(document.getElementById("window").min), Number(document.getElementById("window").max)],
      styles: [...document.querySelectorAll("#style option")].map((o) => o.value),
      images: [...document.querySelectorAll("#images button")].map((b) => Number(b.dataset.value)),
      scene_modes: [...document.querySelectorAll("#scene-mode option")].map((o) => o.value),
    })""")
    assert offered == {"window": list(WINDOW_SECONDS), "styles": list(STYLES), "scene_modes": list(SCENE_MODES),
                       "images": list(range(IMAGES_PER_PROMPT[0], IMAGES_PER_PROMPT[1] + 1))}


@pytest.mark.browser
@pytest.mark.parametrize(("path", "field"), [("/mic/living-room", "name"), ("/upload", "room")])
def test_name_fields_check_the_servers_rule(display: DisplayProcess, browser, path: str, field: str) -> None:
    page = browser.new_page()
    page.goto(display.url + path)
    page.wait_for_function(f"document.getElementById('{field}').pattern !== ''")
    valid = page.evaluate("""([field, names]) => names.map((n) => {
      const input = document.getElementById(field);
      input.value = n;
      return input.checkValidity();
    })""", [field, ["sofa_mic-2", "x" * 64, "sofa mic", "a.b", "x" * 65]])
    assert valid == [bool(re.fullmatch(NAME_PATTERN, n)) for n in ["sofa_mic-2", "x" * 64, "sofa mic", "a.b", "x" * 65]]
