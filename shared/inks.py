"""The inks of the e-paper panels: what their drivers take (canonical) and, where someone measured a real panel,
what they look like. The display dithers to them for its e-ink frames; the illustrator's e-paper finish draws in
them (`shared.messages.prompt.Finish` names each set)."""

from __future__ import annotations

from dataclasses import dataclass

import epaper_dithering as dithering

from shared.messages.prompt import Finish

_ACEP_NAMES = ("black", "white", "green", "blue", "red", "yellow", "orange")


def _palette(names: tuple[str, ...], rgb: tuple[tuple[int, int, int], ...], accent: str) -> dithering.ColorPalette:
    return dithering.ColorPalette(colors=dict(zip(names, rgb, strict=True)), accent=accent)


@dataclass(frozen=True)
class Inks:
    """One kind of panel's inks, in the same order in both palettes."""

    canonical: dithering.ColorPalette
    measured: dithering.ColorPalette | None

    @property
    def colors(self) -> list[tuple[int, int, int]]:
        """The canonical colours, in ink order."""
        return list(self.canonical.colors.values())

    @property
    def seen(self) -> list[tuple[int, int, int]]:
        """What each ink looks like on a panel (the canonical colour where none was measured), in ink order."""
        return list((self.measured or self.canonical).colors.values())


# Pimoroni's inky_uc8159.py: DESATURATED_PALETTE is what the controller takes, SATURATED_PALETTE what it shows.
ACEP_7 = _palette(_ACEP_NAMES, ((0, 0, 0), (255, 255, 255), (0, 255, 0), (0, 0, 255), (255, 0, 0), (255, 255, 0),
                                (255, 140, 0)), "red")
ACEP_7_MEASURED = _palette(_ACEP_NAMES, ((57, 48, 57), (255, 255, 255), (58, 91, 70), (61, 59, 94), (156, 72, 75),
                                         (208, 190, 71), (177, 106, 73)), "red")

INKS: dict[Finish, Inks] = {
    "spectra6": Inks(dithering.ColorScheme.BWGBRY.palette, dithering.SPECTRA_7_3_6COLOR),
    "acep7": Inks(ACEP_7, ACEP_7_MEASURED),
    "grey4": Inks(dithering.ColorScheme.GRAYSCALE_4.palette, None),
    "bw": Inks(dithering.ColorScheme.MONO.palette, dithering.MONO_4_26),
}
