// A job page: its status moves live (queued → transcribing → choosing → painting → done, or error and why).
import { api, el, liveSocket } from "/static/live.js";
import { showcase } from "/static/provenance.js";

const STEPS = ["queued", "transcribing", "choosing", "painting", "done"];
const jobId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const $ = (id) => document.getElementById(id);
let shownImages = "";

function render(job) {
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
  $("job-transcript").textContent = job.transcript || (job.transcribed ? "No words were recognised." : "Not transcribed yet.");
  $("job-transcript").className = job.transcript ? "" : "empty";
  const ids = job.images.map((i) => i.id).join();
  if (ids !== shownImages) {
    shownImages = ids;
    $("job-images").replaceChildren(...(job.images.length ? job.images.map(showcase) : [el("p", { class: "empty" }, "Not painted yet.")]));
  }
}

function lastReached(job) {
  if (job.images.length || job.num_images) return 3;
  if (job.transcribed >= job.segments) return 2;
  return job.transcribed ? 1 : 0;
}

function onState(connected) {
  $("link").className = `pill ${connected ? "ok" : "down"}`;
  $("link").lastElementChild.textContent = connected ? "live" : "reconnecting";
}

try {
  render(await api(`/api/uploads/${encodeURIComponent(jobId)}`));
  liveSocket(`/ws/jobs/${encodeURIComponent(jobId)}`, (event) => { if (event.type === "job" && event.job) render(event.job); }, onState);
} catch (err) {
  $("job-error").textContent = err.message;
  $("job-error").hidden = false;
}
