// Illustrator pictures of a living scene: instead of a crossfade, the frame animates what changed. Things drawn in
// both pictures (the same box) stay put; new ones grow in from their feet; gone ones fade out. Regions are matched
// by place, not by id, so frames without the room's words (no scene) animate too. A few layers animated by the
// compositor (Web Animations on transform and opacity), no per-frame script.
const SAME = 0.02; // a box that moved less than this (fraction of the picture) is the same thing, staying put
export const CHANGE_MS = 2400;

const same = (a, b) => a.every((v, i) => Math.abs(v - b[i]) <= SAME);

// Which of the new picture's regions enter and which of the old one's leave; null when nothing stays (another
// scene, or a slideshow picture): then a plain crossfade fits better than patches.
export function difference(before, after) {
  if (before?.backend !== "illustrator" || after.backend !== "illustrator") return null;
  if (!before.regions.length || !after.regions.length) return null;
  const entering = after.regions.filter((r) => !before.regions.some((o) => same(o, r)));
  const leaving = before.regions.filter((r) => !after.regions.some((n) => same(n, r)));
  if (entering.length === after.regions.length) return null;
  return { entering, leaving };
}

// A copy of `url` over the picture's area, clipped to `box` (fractions: left, top, right, bottom).
export function patch(group, url, [left, top, right, bottom]) {
  const div = document.createElement("div");
  div.className = "change";
  div.style.backgroundImage = `url("${url}")`;
  div.style.clipPath = `inset(${top * 100}% ${(1 - right) * 100}% ${(1 - bottom) * 100}% ${left * 100}%)`;
  div.style.transformOrigin = `${(left + right) * 50}% ${bottom * 100}%`;
  return group.appendChild(div);
}

// A layer exactly over the picture's drawn area inside its contain-fitted <img>, for patches placed by fractions.
export function overPicture(layer, picture, className) {
  const box = picture.getBoundingClientRect();
  const scale = Math.min(box.width / picture.naturalWidth, box.height / picture.naturalHeight);
  const w = picture.naturalWidth * scale;
  const h = picture.naturalHeight * scale;
  const group = layer.appendChild(document.createElement("div"));
  group.className = className;
  Object.assign(group.style, { left: `${box.left + (box.width - w) / 2}px`, top: `${box.top + (box.height - h) / 2}px`,
    width: `${w}px`, height: `${h}px` });
  return group;
}

// Over the new picture (already in front): the old picture's patches hide where things enter until they have
// grown, and hold what leaves while it fades. Resolves when done, its patches gone (a newer change keeps its own).
export async function animate(layer, picture, oldUrl, newUrl, { entering, leaving }) {
  const group = overPicture(layer, picture, "changes");
  const timing = { duration: CHANGE_MS, easing: "ease-in-out", fill: "both" };
  const animations = [];
  for (const region of leaving) {
    animations.push(patch(group, oldUrl, region).animate({ opacity: [1, 0] }, timing));
  }
  for (const region of entering) {
    animations.push(patch(group, oldUrl, region).animate({ opacity: [1, 1, 0] }, timing));
    animations.push(patch(group, newUrl, region).animate(
      { transform: ["scale(0.05)", "scale(1)"], opacity: [0, 1, 1] }, { ...timing, easing: "ease-out" }));
  }
  try {
    await Promise.all(animations.map((a) => a.finished));
  } finally {
    group.remove();
  }
}
