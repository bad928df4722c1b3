// The frame: shows each new picture of its room with a crossfade (a living scene's: its change, frame-change.js), cycles recent ones while the room is quiet,
// and reconnects by itself. URL: /frame/<room>?caption=off&cycle=<seconds>
import { t } from "/static/i18n.js";
import { liveSocket } from "/static/live.js";
import { CHANGE_MS, animate, difference } from "/static/frame-change.js";
import { showPairing, stayAwake } from "/static/frame-status.js";
import { ambient, still } from "/static/frame-ambient.js";
import { tile } from "/static/frame-tile.js";

const room = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const params = new URLSearchParams(location.search);
const cycleMs = Math.max(5, Number(params.get("cycle")) || 45) * 1000;
let keep = 1; // how many recent pictures to cycle through: the server's hello says

const stage = document.getElementById("stage");
const slides = [document.getElementById("slide-a"), document.getElementById("slide-b")];
const caption = document.getElementById("caption");
const offline = document.getElementById("offline");
const changeLayer = document.getElementById("change");
const ambientLayer = document.getElementById("ambient");
const calm = window.matchMedia("(prefers-reduced-motion: reduce)");
let captionOn = params.get("caption") !== "off";
let front = 0;
let ticket = 0;
let recent = []; // newest first
let current = null;
let newest = null; // id of the latest picture this frame has been told about
let lastChange = Date.now();
let cycled = 0;

document.title = `Voxframe · ${room}`;
document.getElementById("waiting-room").textContent = room ? t("frame.in_room", { room }) : "";

// The picture at this screen's width (device pixels), bucketed as the server does (its hello names the widths)
// so frames share variants; the browser's Accept header gets WebP where it reads it.
let widths = [];
function sized(url) {
  if (!widths.length) return url;
  const need = Math.ceil(window.innerWidth * (window.devicePixelRatio || 1) * (tile?.columns ?? 1)); // a tile: the wall's
  return `${url}?w=${widths.find((w) => w >= need) ?? widths[widths.length - 1]}`;
}

async function show(image) {
  if (current?.id === image.id) return;
  const mine = ++ticket;
  const url = sized(image.url);
  const probe = new Image();
  probe.src = url;
  try {
    await probe.decode(); // fully loaded before it fades in: no half-drawn pictures
  } catch {
    console.warn("image failed to load", url);
    return;
  }
  if (mine !== ticket) return; // a newer picture arrived while this one loaded
  const next = slides[1 - front];
  const last = slides[front];
  const change = calm.matches || tile ? null : difference(current, image); // a tile: its patches would miss
  ambientLayer.replaceChildren(); // the old picture's motion stops as the next one comes
  next.querySelector("img").src = url;
  next.querySelector("img").alt = image.prompt;
  next.querySelector(".backdrop").style.backgroundImage = `url("${url}")`;
  if (change) { // the new picture fades in over the old one, which stays whole beneath: no dip in between
    stage.insertBefore(next, last.nextSibling);
    getComputedStyle(next).opacity; // styled where it now stands, so its fade-in runs rather than jumps
    next.style.setProperty("--fade", `${CHANGE_MS}ms`);
    last.classList.add("under");
    stage.dataset.changing = image.id;
    animate(changeLayer, next.querySelector("img"), last.querySelector("img").src, url, change).finally(() => {
      last.classList.remove("under");
      next.style.removeProperty("--fade");
      if (stage.dataset.changing === image.id) {
        delete stage.dataset.changing;
        moveGently();
      }
    });
  } else {
    const fade = parseFloat(getComputedStyle(next).transitionDuration) * 1000;
    setTimeout(() => { if (current?.id === image.id) moveGently(); }, fade);
  }
  next.classList.add("shown");
  last.classList.remove("shown");
  front = 1 - front;
  current = image;
  stage.dataset.imageId = image.id;
  document.getElementById("credit").hidden = image.backend !== "illustrator"; // the licence asks for credit
  document.getElementById("waiting").classList.add("gone");
  setCaption(image);
}

// The shown picture's ambient motion (stars, snow, sea, flames), laid over it afresh: after its change or fade
// has settled, when the screen's size or the motion preference changes.
function moveGently() {
  ambientLayer.replaceChildren();
  if (current && !tile && !stage.dataset.changing) ambient(ambientLayer, slides[front].querySelector("img"), current); // a tile: misplaced
}
window.addEventListener("resize", moveGently);
still.addEventListener("change", moveGently);

function setCaption(image) {
  const words = image.keywords.slice(0, 4).map((k) => k.text).join("  ·  ");
  const said = image.excerpt || image.transcripts.map((t) => t.text).join(" ") || image.prompt;
  caption.classList.remove("shown");
  setTimeout(() => {
    document.getElementById("caption-keywords").textContent = words;
    document.getElementById("caption-excerpt").textContent = said ? `“${said.trim()}”` : "";
    caption.hidden = !captionOn || !(words || said);
    requestAnimationFrame(() => caption.classList.toggle("shown", !caption.hidden));
  }, current ? 400 : 0);
}

function remember(images) {
  const known = new Set(recent.map((i) => i.id));
  recent = [...images.filter((i) => !known.has(i.id)), ...recent]
    .sort((a, b) => b.received_at.localeCompare(a.received_at)).slice(0, keep);
}

function onEvent(event) {
  if (event.type === "hello") { // first connect, or back after a restart: show what arrived meanwhile
    showPairing(event);
    keep = event.keep;
    widths = event.widths;
    remember(event.images);
    if (recent.length && recent[0].id !== newest) {
      newest = recent[0].id;
      lastChange = Date.now();
      show(recent[0]);
    }
  } else if (event.type === "spoken") {
    heardCommand(event.spoken);
  } else if (event.type === "image") {
    newest = event.image.id;
    remember([event.image]);
    lastChange = Date.now();
    cycled = 0;
    show(event.image);
  } else if (event.type === "next") { // "next picture" (Home Assistant, the dashboard): the quiet room's step, now
    step();
  }
}

// Spoken commands ("hey frame, …"): a small toast confirms one; "what is this?" shows the picture's words and
// where they came from for a few seconds, even with the caption off.
const CONFIRM = { paint: t("frame.painting"), regenerate: t("frame.painting_again"), mute: t("frame.stopped"),
  describe: t("frame.this_picture") };
let toastTimer = null;
function heardCommand(c) {
  if (!CONFIRM[c.action]) return; // not understood: ignored
  const toast = document.getElementById("command-toast") ?? stage.appendChild(Object.assign(document.createElement("div"), { id: "command-toast" }));
  toast.textContent = c.subject ? `${CONFIRM[c.action]}: ${c.subject}` : CONFIRM[c.action];
  toast.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("shown"), 4000);
  if (c.action === "describe" && current) describe(current);
}

function describe(image) {
  const wasOn = captionOn;
  captionOn = true;
  setCaption(image);
  const made = `${image.backend} · from ${image.source} · ${new Date(image.received_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  setTimeout(() => { document.getElementById("caption-keywords").textContent += `  —  ${made}`; }, 450);
  setTimeout(() => { captionOn = wasOn; if (current) setCaption(current); }, 8000);
}

let offlineTimer = null;
function onState(connected) {
  clearTimeout(offlineTimer);
  if (connected) offline.hidden = true;
  else offlineTimer = setTimeout(() => { offline.hidden = false; }, 2000); // no flicker on a quick restart
}

// A quiet room: step through its recent pictures so the frame stays alive.
function step() {
  if (recent.length < 2) return;
  cycled = (cycled + 1) % recent.length;
  lastChange = Date.now();
  show(recent[cycled]);
}
setInterval(() => {
  if (Date.now() - lastChange >= cycleMs) step();
}, 1000);

// Tap or "c" toggles the caption; the cursor hides when the mouse rests.
function toggleCaption() {
  captionOn = !captionOn;
  if (current) setCaption(current);
}
stage.addEventListener("click", toggleCaption);
document.addEventListener("keydown", (e) => { if (e.key === "c") toggleCaption(); });
let idleTimer = null;
document.addEventListener("mousemove", () => {
  document.body.classList.remove("idle");
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => document.body.classList.add("idle"), 3000);
});

stayAwake();

liveSocket(`/ws/frame/${encodeURIComponent(room)}`, onEvent, onState);
