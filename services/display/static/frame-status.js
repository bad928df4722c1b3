// What a frame keeps and says about itself: the screen kept awake, and its pairing (paired to a room, revoked, or
// waiting to be paired), from the server's hello on every (re)connect.

import { t } from "/static/i18n.js";

const PAIRED_SHOWN_MS = 8000; // "paired to …" is news for a moment; a problem stays on screen until it is solved

// Keep a tablet's screen on while the frame is visible. The browser lets the lock go whenever the page is hidden
// (and may at other times: a battery saver), so it is asked for again whenever the page is visible without one.
// body[data-awake]: yes, no (refused or let go) or unsupported.
let lock = null;
export async function stayAwake() {
  if (!navigator.wakeLock) { document.body.dataset.awake = "unsupported"; return; }
  if (document.hidden || (lock && !lock.released)) return;
  try {
    lock = await navigator.wakeLock.request("screen");
    document.body.dataset.awake = "yes";
    lock.addEventListener("release", () => { document.body.dataset.awake = "no"; stayAwake(); });
  } catch {
    document.body.dataset.awake = "no"; // not allowed here (no secure context, a policy): the next visibility retries
  }
}
document.addEventListener("visibilitychange", stayAwake);

const TEXT = { paired: "frame.paired", revoked: "frame.pairing_revoked", unpaired: "frame.unpaired" };
let fade = null;

/** Show the pairing the hello reports: `open` (nothing to pair) shows nothing. */
export function showPairing(hello) {
  const badge = document.getElementById("pairing");
  const state = hello.pairing ?? "open";
  badge.dataset.state = state;
  clearTimeout(fade);
  if (!TEXT[state]) { badge.hidden = true; return; }
  badge.textContent = t(TEXT[state], { room: hello.paired_room });
  badge.hidden = false;
  if (state === "paired") fade = setTimeout(() => { badge.hidden = true; }, PAIRED_SHOWN_MS);
}
