// The frame's "listen here" switch: the screen's own microphone becomes a mic of the frame's room, so one
// tablet is both frame and mic. On with ?listen=1 or a tap on the switch; remembered on this device.
import { t } from "/static/i18n.js";
import { BrowserMic, MicUnavailable, micName } from "/static/micstream.js";

const KEY = "voxframe.frame.listen";
const room = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const params = new URLSearchParams(location.search);
const button = document.getElementById("listen");
const label = button.querySelector("span");
let mic = null;

function show(text, state) {
  label.textContent = text;
  button.dataset.state = state;
}

async function listen(gesture) {
  const name = micName(params);
  mic = new BrowserMic(room, name, {
    onState: ({ state, reason }) => {
      if (state === "live") show(t(mic.muted ? "frame.mic_muted" : "frame.mic_listening", { name }), mic.muted ? "muted" : "live");
      else if (state === "refused") show(t("frame.mic_refused", { reason }), "problem");
      else if (state === "offline") show(t("frame.reconnecting"), "problem");
    },
    onMuted: (muted) => show(t(muted ? "frame.mic_muted" : "frame.mic_listening", { name }), muted ? "muted" : "live"),
  });
  try {
    await mic.start({ gesture });
    localStorage.setItem(KEY, "1");
  } catch (err) {
    if (!(err instanceof MicUnavailable)) throw err;
    mic = null;
    show(err.message === "needs a tap" ? t("frame.tap_to_listen") : err.message, "problem");
  }
}

button.addEventListener("click", (event) => {
  event.stopPropagation(); // not a tap on the picture (that toggles the caption)
  if (mic?.running) {
    mic.stop();
    mic = null;
    localStorage.removeItem(KEY);
    show(t("frame.listen_here"), "off");
  } else {
    listen(true);
  }
});

if (params.get("listen") === "1" || localStorage.getItem(KEY) === "1") listen(false);
