// The dashboard: rooms, live mics with mute switches, controls, conversation, prompts and the gallery.
import { t } from "/static/i18n.js";
import { ago, api, clock, el, liveSocket } from "/static/live.js";
import { showcase } from "/static/provenance.js";
import { controls } from "/rules.js";

const FEED_LENGTH = 30;
const PAGE = 24;
const state = { rooms: new Map(), room: null, mics: new Map(), images: [], more: false };
const $ = (id) => document.getElementById(id);

// ---- rooms -------------------------------------------------------------------------------------------
async function loadRooms() {
  for (const room of await api("/api/rooms")) {
    state.rooms.set(room.room, room);
    for (const mic of room.mics) state.mics.set(`${mic.room}/${mic.mic}`, mic);
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const busiest = [...state.rooms.values()].sort((a, b) => (b.last_image_at ?? "").localeCompare(a.last_image_at ?? ""))[0];
  await selectRoom(state.rooms.has(wanted) ? wanted : busiest?.room ?? "living-room");
}

function renderRooms() {
  $("rooms").replaceChildren(...[...state.rooms.values()].map((room) => el("button", {
    type: "button", "aria-current": String(room.room === state.room), dataset: { room: room.room },
    onclick: () => selectRoom(room.room),
  }, room.room, room.images ? el("span", { class: "count" }, room.images) : null,
  micsIn(room.room) ? el("span", { class: "count mics", title: "microphones" }, `🎙${micsIn(room.room)}`) : null)));
}

const micsIn = (room) => [...state.mics.values()].filter((m) => m.room === room).length;

function knowRoom(name) {
  if (!state.rooms.has(name)) {
    state.rooms.set(name, { room: name, images: 0, last_image_at: null, mics: [] });
    renderRooms();
  }
  return state.rooms.get(name);
}

async function selectRoom(room) {
  state.room = room;
  knowRoom(room);
  history.replaceState(null, "", `#${encodeURIComponent(room)}`);
  $("open-frame").href = `/frame/${encodeURIComponent(room)}`;
  $("add-mic").href = `/mic/${encodeURIComponent(room)}`;
  renderRooms();
  renderMics();
  $("language").value = state.rooms.get(room).language ?? "";
  const path = `/api/rooms/${encodeURIComponent(room)}`;
  const [images, transcripts, prompts] = await Promise.all([
    api(`${path}/images?limit=${PAGE}`), api(`${path}/transcripts?limit=${FEED_LENGTH}`), api(`${path}/prompts?limit=10`)]);
  if (state.room !== room) return; // another room was chosen meanwhile
  state.images = images;
  state.more = images.length === PAGE;
  renderImages();
  $("transcripts").replaceChildren(...transcripts.map(transcriptItem));
  $("prompts").replaceChildren(...prompts.map(promptItem));
  if (!transcripts.length) $("transcripts").append(el("li", { class: "empty" }, "Waiting for speech…"));
  if (!prompts.length) $("prompts").append(el("li", { class: "empty" }, "No prompt yet."));
}

// ---- mics --------------------------------------------------------------------------------------------
function renderMics() {
  const mics = [...state.mics.values()].filter((m) => m.room === state.room);
  if (!mics.length) {
    $("mics").replaceChildren(el("p", { class: "empty" }, "No microphone has reported in this room yet."));
    return;
  }
  $("mics").replaceChildren(...mics.map((mic) => el("div", { class: "mic", dataset: { mic: mic.mic } },
    el("div", { class: "name" }, el("span", { class: "speaking" }), mic.mic),
    el("button", { class: "switch", type: "button", title: "Mute or unmute this mic", "aria-label": `Mute ${mic.mic}`,
      onclick: (e) => toggleMute(mic.mic, e.currentTarget) }),
    el("div", { class: "device" }, mic.device || "—"),
    el("div", { class: "meter", title: "input level" }, el("div")))));
  mics.forEach(updateMic);
}

function updateMic(mic) {
  const row = $("mics").querySelector(`.mic[data-mic="${CSS.escape(mic.mic)}"]`);
  if (!row) return renderMics();
  const level = Math.max(0, Math.min(1, (mic.level_dbfs + 60) / 60));
  row.classList.toggle("muted", mic.muted);
  row.querySelector(".meter > div").style.width = `${(mic.muted ? 0 : level) * 100}%`;
  row.querySelector(".speaking").classList.toggle("on", !mic.muted && mic.speech_ratio > 0.3);
  row.querySelector(".switch").setAttribute("aria-pressed", String(mic.muted));
  row.querySelector(".device").textContent = `${mic.kind} · ${mic.device || "—"} · ${mic.level_dbfs.toFixed(0)} dBFS${mic.muted ? " · muted" : ""} · seen ${clock(mic.seen_at)}`;
}

async function toggleMute(mic, button) {
  const muted = button.getAttribute("aria-pressed") === "true";
  button.setAttribute("aria-pressed", String(!muted)); // the mic's next status confirms or corrects this
  await send(muted ? "unmute" : "mute", { mic }, `${muted ? "Unmuted" : "Muted"} ${mic}`);
}

// ---- controls -------------------------------------------------------------------------------------------
async function send(command, extra = {}, done = `Sent: ${command.replace("_", " ")}`) {
  try {
    await api(`/api/rooms/${encodeURIComponent(state.room)}/controls`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ command, ...extra }),
    });
    toast(done);
  } catch (err) {
    toast(err.message, true);
  }
}

// The controls' ranges and presets are the server's (shared/messages/control.py), served by /rules.js.
Object.assign($("window"), { min: controls.window_seconds.min, max: controls.window_seconds.max });
$("style").replaceChildren(...controls.styles.map((style) => el("option", {}, style)));
$("scene-mode").replaceChildren(...controls.scene_modes.map((mode) => el("option", {}, mode)));
$("images").replaceChildren(...Array.from({ length: controls.images_per_prompt.max - controls.images_per_prompt.min + 1 },
  (_, i) => String(controls.images_per_prompt.min + i)).map((n) =>
  el("button", { type: "button", "data-value": n, "aria-pressed": String(n === "1") }, n)));

$("window").addEventListener("input", (e) => { $("window-out").textContent = `${e.target.value} s`; });
$("window").addEventListener("change", (e) => send("set_window", { value: Number(e.target.value) }, `Window: ${e.target.value} s`));
$("style").addEventListener("change", (e) => send("set_style", { value: e.target.value }, `Style: ${e.target.value}`));
$("language").addEventListener("change", (e) => {
  state.rooms.get(state.room).language = e.target.value;
  send("set_language", { value: e.target.value }, `${t("dash.language")}: ${e.target.selectedOptions[0].textContent}`);
});
$("scene-mode").addEventListener("change", (e) => send("set_scene_mode", { value: e.target.value }, `Pictures: ${e.target.value}`));
$("images").addEventListener("click", (e) => {
  const value = e.target.dataset?.value;
  if (!value) return;
  for (const b of $("images").children) b.setAttribute("aria-pressed", String(b === e.target));
  send("set_images", { value: Number(value) }, `${value} image${value === "1" ? "" : "s"} per prompt`);
});
$("paint-now").addEventListener("click", () => send("paint_now", {}, "Painting now…"));
$("regenerate").addEventListener("click", () => send("regenerate", {}, "Painting the last prompt again…"));
$("mute-room").addEventListener("click", () => send("mute", {}, `Muted every mic in ${state.room}`));

// ---- images, transcripts, prompts ----------------------------------------------------------------------
function renderImages() {
  const [latest] = state.images;
  $("now-body").replaceChildren(latest ? showcase(latest)
    : el("p", { class: "empty" }, "Nothing painted in this room yet. Talk, or press “Paint now”."));
  $("now-when").textContent = latest ? ago(latest.received_at) : "";
  $("gallery").replaceChildren(...state.images.map(tile));
  $("gallery-count").textContent = state.rooms.get(state.room)?.images ? t("dash.pictures", { count: state.rooms.get(state.room).images }) : "";
  $("more").hidden = !state.more;
}

function tile(image) {
  return el("button", { class: "tile", type: "button", title: image.prompt, dataset: { imageId: image.id }, onclick: () => detail(image) },
    el("img", { src: image.url, alt: image.prompt, loading: "lazy" }),
    image.fallback ? el("span", { class: "badge" }, "fallback") : null,
    el("span", { class: "label" }, image.keywords.slice(0, 3).map((k) => k.text).join(" · ") || clock(image.received_at)));
}

function detail(image) {
  $("detail-body").replaceChildren(showcase(image));
  $("detail").showModal();
}
$("detail").querySelector(".close").addEventListener("click", () => $("detail").close());
$("detail").addEventListener("click", (e) => { if (e.target === $("detail")) $("detail").close(); });

$("more").addEventListener("click", async () => {
  const oldest = state.images.at(-1);
  const older = await api(`/api/rooms/${encodeURIComponent(state.room)}/images?limit=${PAGE}&before=${encodeURIComponent(oldest.received_at)}`);
  state.images.push(...older);
  state.more = older.length === PAGE;
  renderImages();
});

const UNSURE = 0.5; // words the speech engine was less sure of are dimmed: they may be misheard
function transcriptItem(t, fresh = false) {
  const said = t.words?.length ? t.words.map((w) => el("span", { class: w.confidence < UNSURE ? "unsure" : "", title: `${Math.round(w.confidence * 100)} % sure` }, `${w.text} `)) : t.text;
  return el("li", { class: fresh ? "fresh" : "", dataset: { id: t.id } }, el("div", { class: "meta" }, el("span", {}, t.source), el("span", {}, clock(t.created_at))), said);
}

// A line the prompter took as a spoken command: shown as a command, never as conversation.
const DID = { paint: "painting", regenerate: "painting again", mute: "muting the room's mics", describe: "showing what this is", unrecognised: "not understood, ignored" };
function spokenCommand(c) {
  const line = $("transcripts").querySelector(`li[data-id="${CSS.escape(c.transcript_id)}"]`);
  line?.replaceChildren(el("div", { class: "meta" }, el("span", {}, "spoken command"), el("span", {}, clock(c.created_at))), `“${c.heard}” → ${DID[c.action]}${c.subject ? `: ${c.subject}` : ""}`);
  line?.classList.add("command");
  toast(`Heard: ${c.heard} → ${DID[c.action]}`, c.action === "unrecognised");
}

function promptItem(p, fresh = false) {
  return el("li", { class: fresh ? "fresh" : "" },
    el("div", { class: "meta" }, el("span", {}, `${p.style} · ${p.mood}${p.job_id ? " · upload" : ""}`), el("span", {}, clock(p.created_at))),
    el("div", { class: "prompt-text" }, p.text),
    el("div", { class: "chips" }, p.keywords.map((k) => el("span", { class: "chip" }, k.text))));
}

function prepend(list, item) {
  list.querySelector(".empty")?.remove();
  list.prepend(item);
  while (list.children.length > FEED_LENGTH) list.lastElementChild.remove();
}

// ---- live events ---------------------------------------------------------------------------------------
function onEvent(event) {
  if (event.type === "hello") {
    for (const mic of event.mics) state.mics.set(`${mic.room}/${mic.mic}`, mic);
    renderMics();
  } else if (event.type === "mic") {
    const { mic } = event;
    const isNew = !state.mics.has(`${mic.room}/${mic.mic}`);
    state.mics.set(`${mic.room}/${mic.mic}`, mic);
    knowRoom(mic.room);
    if (isNew) renderRooms();
    if (mic.room === state.room) (isNew ? renderMics() : updateMic(mic));
  } else if (event.type === "image") {
    const { image } = event;
    const room = knowRoom(image.room);
    room.images += 1;
    room.last_image_at = image.received_at;
    renderRooms();
    if (image.room === state.room && !state.images.some((i) => i.id === image.id)) {
      state.images.unshift(image);
      renderImages();
    }
  } else if (event.type === "transcript" && event.transcript.room === state.room) {
    prepend($("transcripts"), transcriptItem(event.transcript, true));
  } else if (event.type === "spoken" && event.spoken.room === state.room) {
    spokenCommand(event.spoken);
  } else if (event.type === "prompt" && event.prompt.room === state.room) {
    prepend($("prompts"), promptItem(event.prompt, true));
  }
}

let wasDown = false;
function onState(connected) {
  $("link").className = `pill ${connected ? "ok" : "down"}`;
  $("link").lastElementChild.textContent = t(connected ? "link.live" : "link.reconnecting");
  if (connected && wasDown && state.room) selectRoom(state.room); // catch up on what happened while away
  wasDown = !connected;
}

let toastTimer = null;
function toast(text, error = false) {
  $("toast").textContent = text;
  $("toast").className = `shown${error ? " error" : ""}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { $("toast").className = error ? "error" : ""; }, 2600);
}

setInterval(() => { if (state.images[0]) $("now-when").textContent = ago(state.images[0].received_at); }, 10000);
await loadRooms();
liveSocket("/ws/dashboard", onEvent, onState);
