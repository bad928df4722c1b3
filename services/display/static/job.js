// A job page: its status moves live (queued → transcribing → choosing → painting → done, or error and why);
// the transcript as timed lines, and each picture linked both ways with the lines it was chosen from.
import { t } from "/static/i18n.js";
import { api, el, liveSocket } from "/static/live.js";
import { provenance } from "/static/provenance.js";

const STEPS = ["queued", "transcribing", "choosing", "painting", "done"];
const jobId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const $ = (id) => document.getElementById(id);
let job = null;
let shownLines = "";     // what the lines and pictures were last built from: a repeated event rebuilds nothing
let shownImages = "";
let chosen = null;       // the picture whose lines are highlighted
let arrived = false;     // a #line-… or #picture-… in the address is scrolled to once the page has built it

function render(next) {
  job = next;
  $("job").dataset.status = job.status;
  $("job-title").textContent = job.filename;
  document.title = `Voxframe · ${job.filename} · ${job.status}`;
  $("job-facts").replaceChildren(
    el("span", {}, `room ${job.room}`), el("span", {}, `${job.audio_seconds.toFixed(1)} s of audio`),
    el("span", {}, `${job.transcribed} of ${job.segments} segment${job.segments === 1 ? "" : "s"} transcribed`),
    job.num_images ? el("span", {}, `${job.images.length} of ${job.num_images} picture${job.num_images === 1 ? "" : "s"}`) : null,
    el("a", { href: `/frame/${encodeURIComponent(job.room)}`, target: "_blank", rel: "noopener" }, "room's frame ↗"));
  const reached = job.status === "error" ? lastReached(job) : STEPS.indexOf(job.status);
  for (const item of $("steps").children) {
    const index = STEPS.indexOf(item.dataset.step);
    item.className = index < reached || job.status === "done" ? "done"
      : index === reached ? (job.status === "error" ? "failed" : "current") : "";
  }
  $("job-error").hidden = job.status !== "error";
  $("job-error").textContent = job.error ?? "";
  $("job-note").hidden = !job.note;  // done with no picture: nothing picturable was said
  $("job-note").textContent = job.note ?? "";
  renderDownloads();
  const images = JSON.stringify([job.images.map((i) => i.id), job.image_lines, job.note]);
  const lines = JSON.stringify([job.status === "done" || job.status === "error", job.lines, images]);
  if (lines !== shownLines) {
    shownLines = lines;
    renderLines();
  }
  if (images !== shownImages) {
    shownImages = images;
    $("job-images").replaceChildren(...(job.images.length ? job.images.map(picture) : [el("p", { class: "empty" }, job.note ? "No picture: nothing picturable was said." : "Not painted yet.")]));
    $("job-images").classList.toggle("filmstrip", job.images.length > 1); // a living upload: its scenes in the order of the recording
  }
  highlight();
  if (!arrived && location.hash) arrived = arrive(location.hash);
}

function lastReached(job) {
  if (job.images.length || job.num_images) return 3;
  if (job.transcribed >= job.segments) return 2;
  return job.transcribed ? 1 : 0;
}

function renderDownloads() {
  const nav = $("job-downloads");
  nav.hidden = !job.lines.some((line) => line.text.trim());
  for (const link of nav.querySelectorAll("a[data-format]")) {
    link.href = `/api/uploads/${encodeURIComponent(jobId)}/transcript.${link.dataset.format}`;
  }
}

/** One list item per line: its time in the file, who spoke (when the engine says), the words, its pictures. */
function renderLines() {
  const box = $("job-transcript");
  if (!job.lines.length) {
    box.replaceChildren(el("p", { class: "empty" }, job.status === "done" ? "No words were recognised." : "Not transcribed yet."));
    return;
  }
  const finished = job.status === "done" || job.status === "error";
  box.replaceChildren(el("ol", { class: "lines", "aria-label": "Transcript lines" }, job.lines.map((line) => {
    const said = line.text.trim();
    const state = !line.transcribed ? "pending" : said ? "said" : "silent";
    const pictures = job.images.map((image, index) => ({ image, index }))
      .filter(({ image }) => (job.image_lines[image.id] ?? []).includes(line.sequence));
    return el("li", { class: `line ${state}`, id: `line-${line.sequence}`, dataset: { line: line.sequence } },
      el("time", { class: "line-time", datetime: `PT${Math.floor(line.start_seconds)}S` }, clock(line.start_seconds)),
      el("div", { class: "line-body" },
        line.speaker ? el("span", { class: "line-speaker" }, `Speaker ${line.speaker}`) : null,
        el("span", { class: "line-text" }, said || (state === "silent" ? "(no words)"
          : finished ? "(not transcribed)" : "waiting for a transcriber…"))),
      pictures.length ? el("span", { class: "line-pictures" }, pictures.map(({ image, index }) => el("a", {
        class: "line-picture", href: `#picture-${image.id}`, title: `Painted into picture ${index + 1}`,
        "aria-label": `Painted into picture ${index + 1}: go to the picture`, onclick: () => choose(image.id),
      }, `▣ ${index + 1}`))) : null);
  })));
}

/** A picture with its provenance; the picture and its "from lines …" link go to (and highlight) its lines. */
function picture(image, index) {
  const lines = job.image_lines[image.id] ?? [];
  const name = `Picture ${index + 1}`;
  const first = lines.length ? `#line-${lines[0]}` : null;
  const img = el("img", { src: image.url, alt: image.prompt });
  const toLines = `show the ${lines.length === 1 ? "line" : `${lines.length} lines`} it was painted from`;
  return el("figure", { class: "showcase job-picture", id: `picture-${image.id}`, dataset: { imageId: image.id } },
    first
      ? el("a", { class: "picture-link", href: first, "aria-label": `${name}, “${image.prompt}”: ${toLines}`,
        onclick: () => choose(image.id) }, img)
      : el("a", { href: image.url, target: "_blank", rel: "noopener" }, img),
    el("figcaption", { class: "picture-caption" },
      el("span", { class: "picture-name" }, name),
      first ? el("a", { class: "from-lines", href: first, "aria-label": `${name}: ${toLines}`, onclick: () => choose(image.id) },
        fromLines(lines)) : null,
      el("a", { href: image.url, target: "_blank", rel: "noopener", "aria-label": `${name} at full size (new tab)` }, "full size ↗")),
    provenance(image));
}

function fromLines(numbers) {
  const at = new Map(job.lines.map((line) => [line.sequence, clock(line.start_seconds)]));
  const times = numbers.map((n) => at.get(n) ?? `#${n}`);
  if (times.length === 1) return `from the line at ${times[0]}`;
  const listed = times.length > 3 ? `${times.slice(0, 3).join(", ")} …` : times.join(", ");
  return `from ${times.length} lines at ${listed}`;
}

function choose(imageId) {
  chosen = imageId;
  highlight();  // the link's own href then scrolls there (and the address keeps it, for back and sharing)
}

/** The chosen picture's lines are marked (a class for the eye, aria-current for assistive technology). */
function highlight() {
  const lines = new Set(chosen ? job.image_lines[chosen] ?? [] : []);
  for (const item of $("job-transcript").querySelectorAll(".line")) {
    const on = lines.has(Number(item.dataset.line));
    item.classList.toggle("linked", on);
    if (on) item.setAttribute("aria-current", "true");
    else item.removeAttribute("aria-current");
  }
  for (const figure of $("job-images").querySelectorAll(".job-picture")) {
    figure.classList.toggle("chosen", figure.dataset.imageId === chosen);
  }
}

/** Opened at #picture-… or #line-…: highlight that picture's lines and scroll to what the address names. */
function arrive(hash) {
  const target = document.getElementById(decodeURIComponent(hash.slice(1)));
  if (!target) return false;
  if (target.dataset.imageId) choose(target.dataset.imageId);
  target.scrollIntoView({ block: "start" });
  return true;
}

/** Where a line starts in the file: mm:ss (h:mm:ss past an hour). */
function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(whole / 3600);
  const rest = `${two(Math.floor(whole / 60) % 60)}:${two(whole % 60)}`;
  return hours ? `${hours}:${rest}` : rest;
}

function onState(connected) {
  $("link").className = `pill ${connected ? "ok" : "down"}`;
  $("link").lastElementChild.textContent = t(connected ? "link.live" : "link.reconnecting");
}

try {
  render(await api(`/api/uploads/${encodeURIComponent(jobId)}`));
  liveSocket(`/ws/jobs/${encodeURIComponent(jobId)}`, (event) => { if (event.type === "job" && event.job) render(event.job); }, onState);
} catch (err) {
  $("job-error").textContent = err.message;
  $("job-error").hidden = false;
}
