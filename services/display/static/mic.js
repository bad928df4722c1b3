// The mic page: /mic/<room>?name=<name>&autostart=1. Start/stop, a level meter, mute (shared with the
// dashboard's switch for this mic), and the mic's name, remembered on this device.
import { name as NAME_RULE } from "/rules.js";
import { t } from "/static/i18n.js";
import { BrowserMic, MicUnavailable, micName } from "/static/micstream.js";

document.getElementById("name").pattern = NAME_RULE.input_pattern; // the server's rule, served

const room = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const params = new URLSearchParams(location.search);
let name = micName(params);
const toggle = document.getElementById("toggle");
const muteButton = document.getElementById("mute");
const status = document.getElementById("status");
const level = document.getElementById("level");
document.getElementById("mic-room").textContent = room;
document.title = `Voxframe · Mic in ${room}`;

function say(text, problem = false) {
  status.textContent = text;
  status.classList.toggle("problem", problem);
}

function showName() {
  document.getElementById("mic-name").textContent = name;
  document.getElementById("name").value = name;
}

const STATES = {
  starting: () => say(t("mic.starting")),
  live: () => say(t(mic.muted ? "mic.muted" : "mic.listening")),
  offline: ({ reason }) => say(reason ? t("mic.reconnecting_because", { reason }) : t("mic.reconnecting"), true),
  refused: ({ reason }) => say(t("mic.refused", { reason }), true),
  stopped: () => say(t("mic.stopped")),
};

const mic = new BrowserMic(room, name, {
  onState: (s) => {
    document.body.dataset.state = s.state;
    STATES[s.state](s);
  },
  onLevel: (rms) => { level.style.width = `${Math.min(100, Math.sqrt(rms) * 180)}%`; },
  onMuted: (muted) => {
    muteButton.setAttribute("aria-pressed", String(muted));
    muteButton.textContent = t(muted ? "mic.unmute" : "mic.mute");
    document.body.dataset.muted = String(muted);
    STATES.live();
  },
});

async function start(gesture) {
  try {
    await mic.start({ gesture });
    toggle.textContent = t("mic.stop");
    toggle.setAttribute("aria-pressed", "true");
    muteButton.disabled = false;
  } catch (err) {
    if (!(err instanceof MicUnavailable)) throw err;
    say(err.message === "needs a tap" ? "Tap Start to begin listening (this browser needs a tap first)." : err.message,
      err.message !== "needs a tap");
  }
}

toggle.addEventListener("click", () => {
  if (mic.running) {
    mic.stop();
    toggle.textContent = t("mic.start");
    toggle.setAttribute("aria-pressed", "false");
    muteButton.disabled = true;
  } else {
    start(true);
  }
});
muteButton.addEventListener("click", () => mic.setMuted(!mic.muted));
document.getElementById("rename").addEventListener("submit", (e) => {
  e.preventDefault();
  name = micName(new URLSearchParams({ name: document.getElementById("name").value }));
  showName();
  if (mic.running) { mic.stop(); mic.name = name; start(true); } else { mic.name = name; }
});

showName();
if (params.get("autostart") === "1") start(false);
