// Shared by every page: a websocket that reconnects by itself, and small DOM helpers.

/** Open `path` as a websocket; call onEvent(json) per message and onState(true|false) on (dis)connect.
 *  Reconnects with capped, jittered backoff after network loss or a server restart. A dropped Wi-Fi can leave a
 *  socket open but dead for minutes: the browser's `offline` closes it, and its `online` connects afresh at once
 *  instead of waiting out the backoff. */
export function liveSocket(path, onEvent, onState = () => {}) {
  let delay = 500;
  let socket = null;
  let retry = null;
  let stopped = false;
  const open = () => {
    retry = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${path}`);
    socket.onopen = () => { delay = 500; onState(true); };
    socket.onmessage = (message) => {
      try { onEvent(JSON.parse(message.data)); } catch (err) { console.error("bad event", err); }
    };
    socket.onclose = () => {
      onState(false);
      if (stopped || retry) return;
      retry = setTimeout(open, delay * (0.5 + Math.random() / 2));
      delay = Math.min(delay * 2, 10000);
    };
  };
  window.addEventListener("offline", () => socket?.close());
  window.addEventListener("online", () => {
    if (stopped) return;
    clearTimeout(retry);
    delay = 500;
    const old = socket;
    if (old) old.onclose = null;
    old?.close();
    open();
  });
  open();
  return { close() { stopped = true; clearTimeout(retry); socket?.close(); } };
}

export async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error(body?.error ?? `${response.status} ${response.statusText}`);
  return body;
}

/** Create an element: el("div", {class: "x"}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function ago(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
