// One scene across several screens: /frame/<room>?tile=CxR:i shows tile i (row by row from the top left) of a
// wall of C×R screens like this one. The picture covers the whole wall (frame.css, body.tiled), so screens side by
// side show one scene; the rule is the server's (/rules.js), as the e-ink endpoint's ?tile= reads it.
import { tiles } from "/rules.js";

function parse(raw) {
  const match = raw ? new RegExp(`^${tiles.pattern}$`).exec(raw) : null;
  if (!match) return null;
  const [columns, rows, index] = match.slice(1).map(Number);
  const fits = [columns, rows].every((n) => n >= 1 && n <= tiles.max_side) && index < columns * rows;
  return fits ? { columns, rows, column: index % columns, row: Math.floor(index / columns) } : null;
}

/** This screen's tile, or null for the whole picture (no ?tile=, or one that is not a tile). */
export const tile = parse(new URLSearchParams(location.search).get("tile"));

if (tile) {
  document.body.classList.add("tiled");
  for (const [name, value] of Object.entries(tile)) document.body.style.setProperty(`--tile-${name}`, value);
}
