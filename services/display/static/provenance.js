// An image with where it came from: image ← prompt ← keywords ← transcript lines ← mic, time.
import { clock, el } from "/static/live.js";

export function provenance(image) {
  const heard = image.transcripts.length
    ? image.transcripts.map((t) => el("blockquote", {}, t.text, el("span", { class: "who" }, `${t.source} · ${clock(t.created_at)}`)))
    : [el("blockquote", {}, image.excerpt || "—")];
  const delay = (new Date(image.created_at) - new Date(image.origin_at)) / 1000;
  return el("div", { class: "provenance" },
    step("Prompt", el("div", {}, image.prompt,
      el("div", { class: "faint" }, [image.style, image.backend, `${image.generation_seconds.toFixed(1)} s to paint`,
        image.fallback ? "fallback poster" : null].filter(Boolean).join(" · ")))),
    step("Keywords", image.keywords.length
      ? el("div", { class: "chips" }, image.keywords.map((k) => el("span", {
        class: (image.depicted ?? []).includes(k.text) ? "chip depicted" : "chip", title: `score ${k.score.toFixed(2)}` }, k.text)))
      : el("span", { class: "faint" }, "none")),
    image.depicted?.length ? step("Drawn", el("div", { class: "depicted-list" }, image.depicted.join(" · "))) : null,
    step("Said", el("div", {}, heard)),
    step("Heard by", el("div", {}, `${image.source} · speech ended ${clock(image.origin_at)} · painted ${clock(image.created_at)}`,
      Number.isFinite(delay) ? el("span", { class: "faint" }, ` (${delay.toFixed(1)} s later)`) : null)),
  );
}

function step(label, body) {
  return el("div", { class: "step" }, el("span", { class: "label" }, label), body);
}

export function showcase(image) {
  return el("div", { class: "showcase" },
    el("a", { href: image.url, target: "_blank", rel: "noopener" }, el("img", { src: image.url, alt: image.prompt })),
    provenance(image));
}
