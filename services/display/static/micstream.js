// A browser tab as a mic of a room: getUserMedia → the worklet's 16 kHz frames → /ws/mic/<room>?name=<name>.
// Used by the mic page and by the frame's "listen here" switch.

import { name as NAME_RULE } from "/rules.js";

const NAME_KEY = "voxframe.mic.name";
const MAX_BUFFERED = 64000; // 2 s of audio waiting in the socket: frames are dropped, never burst later
const REFUSALS = { 1003: true, 1007: true, 1008: true, 1009: true, 1013: true };

/** The mic's name: ?name= (remembered on this device), else the remembered one, else a new random one. */
export function micName(params = new URLSearchParams(location.search)) {
  const banned = new RegExp(`[^${NAME_RULE.chars}]+`, "g"); // the server's name rule, served by /rules.js
  const clean = (s) => (s || "").replace(banned, "-").replace(/^-+|-+$/g, "").slice(0, NAME_RULE.max);
  const name = clean(params.get("name")) || clean(localStorage.getItem(NAME_KEY))
    || `browser-${Math.random().toString(36).slice(2, 6)}`;
  localStorage.setItem(NAME_KEY, name);
  return name;
}

export class MicUnavailable extends Error {}

/** Events: onState({state: "starting"|"live"|"offline"|"refused"|"stopped", reason}), onLevel(rms 0..1),
 *  onMuted(bool). `start()` throws MicUnavailable("needs a tap") when the browser wants a gesture first. */
export class BrowserMic {
  constructor(room, name, { onState = () => {}, onLevel = () => {}, onMuted = () => {} } = {}) {
    Object.assign(this, { room, name, onState, onLevel, onMuted });
    this.muted = false;
    this.running = false;
    this.delay = 500;
  }

  async start({ gesture = false } = {}) {
    if (this.running) return;
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      throw new MicUnavailable("This page must be opened over HTTPS (or on localhost) to use the microphone.");
    }
    this.onState({ state: "starting" });
    this.context = new AudioContext(); // the device's own rate: the worklet resamples to 16 kHz
    if (this.context.state !== "running") {
      await Promise.race([this.context.resume(), new Promise((r) => setTimeout(r, 1000))]);
      if (this.context.state !== "running" && !gesture) {
        await this.context.close();
        throw new MicUnavailable("needs a tap");
      }
    }
    try {
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      await this.context.close();
      throw new MicUnavailable(`The microphone is not available: ${err.message || err.name}`);
    }
    await this.context.audioWorklet.addModule("/static/mic-worklet.js");
    const node = new AudioWorkletNode(this.context, "voxframe-mic");
    node.port.onmessage = (e) => this.frame(e.data);
    this.context.createMediaStreamSource(this.media).connect(node);
    node.connect(this.context.destination); // silent: it outputs nothing, but a connected node keeps running
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retry);
    this.socket?.close(1000, "stopped");
    this.media?.getTracks().forEach((t) => t.stop());
    this.context?.close();
    this.onLevel(0);
    this.onState({ state: "stopped" });
  }

  setMuted(muted) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "mute", muted }));
  }

  frame({ pcm, rms }) {
    this.onLevel(this.muted ? 0 : rms);
    const socket = this.socket;
    if (socket?.readyState === WebSocket.OPEN && socket.bufferedAmount < MAX_BUFFERED) socket.send(pcm);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // This page's own id: its reconnection takes the name over from its old socket, which the server may still
    // hold when the network went (until its pings give up); another tab with the name is still refused.
    this.session ??= crypto.randomUUID(); // here, not in the constructor: only secure contexts have it
    const path = `/ws/mic/${encodeURIComponent(this.room)}?name=${encodeURIComponent(this.name)}`
      + `&session=${this.session}`;
    const socket = new WebSocket(`${scheme}//${location.host}${path}`);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    let opened = false;
    socket.onopen = () => { opened = true; };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "hello") {
        this.delay = 500;
        this.onState({ state: "live" });
      }
      if ("muted" in event) {
        this.muted = event.muted;
        this.onMuted(event.muted);
      }
    };
    socket.onclose = (event) => {
      if (!this.running || socket !== this.socket) return;
      const unheard = !opened && event.code === 1006; // away, or refused before the handshake (token, origin)
      this.onState({
        state: REFUSALS[event.code] ? "refused" : "offline",
        reason: event.reason || (unheard ? "the display is away or refuses this device (with an access token set, "
          + "open this page once with ?token=…)" : ""),
      });
      this.retry = setTimeout(() => this.connect(), this.delay * (0.5 + Math.random() / 2));
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }
}
