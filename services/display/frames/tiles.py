"""One scene across several panels: a frame that asks for `?tile=CxR:i` shows tile i (row by row from the top
left) of a wall of C×R panels like itself, so panels side by side show one picture. The e-ink endpoint fits the
picture to the whole wall and cuts the tile out; the frame page does the same in CSS (`static/frame-tile.js`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SIDE = 4  # panels in a row or a column
PATTERN = r"(\d)x(\d):(\d{1,2})"  # served to the frame page by /rules.js
_TILE = re.compile(PATTERN)


@dataclass(frozen=True)
class Tile:
    """Tile `index` of a `columns`×`rows` wall; the default is the whole picture on one panel."""

    columns: int = 1
    rows: int = 1
    index: int = 0

    @classmethod
    def parse(cls, raw: str | None) -> Tile:
        """From `CxR:i`; ValueError saying what a tile is."""
        if raw is None:
            return cls()
        match = _TILE.fullmatch(raw)
        tile = cls(*map(int, match.groups())) if match else None
        if tile is None or not (1 <= tile.columns <= MAX_SIDE and 1 <= tile.rows <= MAX_SIDE
                                and tile.index < tile.columns * tile.rows):
            raise ValueError(f"tile is COLUMNSxROWS:INDEX (1-{MAX_SIDE} each way, INDEX from 0 row by row from the "
                             f"top left), not {raw[:20]!r}")
        return tile

    @property
    def key(self) -> str:
        return f"{self.columns}x{self.rows}:{self.index}"

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Where this tile lies in the wall, each panel `width`×`height`: left, top, right, bottom pixels."""
        column, row = self.index % self.columns, self.index // self.columns
        return column * width, row * height, (column + 1) * width, (row + 1) * height
