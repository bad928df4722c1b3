// Dashboard card "Frames": make a one-time pairing link for a wall screen, list paired screens, revoke them.
// A paired screen's frame shows captions even when the display has an access token (see pairing.py). E-ink frames
// (a TRMNL that set itself up, eink_frames.py) are approved here, or moved to the room the dashboard shows.
import { ago, api, el } from "/static/live.js";

const $ = (id) => document.getElementById(id);
const currentRoom = () => decodeURIComponent(location.hash.slice(1)) || "living-room";

async function load() {
  const pairings = await api("/api/pairings");
  $("pairings").replaceChildren(...(pairings.length ? pairings.map((p) => el("li", {},
    el("span", {}, `${p.name} · ${p.room}${p.kind ? ` · ${p.kind}` : ""} · `,
      el("span", { class: "faint" }, p.paired_at ? `seen ${ago(p.seen_at ?? p.paired_at)}`
        : p.kind ? "waiting for approval" : "link not opened yet")),
    ...(p.kind && (!p.paired_at || p.room !== currentRoom())
      ? [el("button", { class: "small", type: "button", onclick: () => approve(p) },
        p.paired_at ? "Move here" : `Approve for ${currentRoom()}`)] : []),
    el("button", { class: "small", type: "button", onclick: () => revoke(p) }, "Revoke")))
    : [el("li", { class: "empty" }, "No paired frames.")]));
}

async function approve(pairing) {
  await api(`/api/eink/frames/${encodeURIComponent(pairing.id)}/approve`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ room: currentRoom() }),
  });
  await load();
}

async function revoke(pairing) {
  await api(`/api/pairings/${encodeURIComponent(pairing.id)}`, { method: "DELETE" });
  await load();
}

$("pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("pair-name").value.trim() || "frame";
  const made = await api("/api/pairings", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, room: currentRoom() }),
  });
  const link = `${location.origin}${made.link}`;
  $("pair-link").replaceChildren(
    el("img", { class: "pair-qr", src: made.qr, alt: "QR code of the pairing link", width: "180", height: "180" }),
    "Scan this with the frame's camera, or open the link once in its browser (within 15 minutes, works once): ",
    el("code", {}, link));
  $("pair-link").hidden = false;
  await load();
});

load().catch((err) => console.error("pairings", err));
window.addEventListener("hashchange", () => load().catch((err) => console.error("pairings", err)));
