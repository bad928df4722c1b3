// Between windows a living scene's picture is alive but calm: its stars twinkle at night, snow or rain falls, the
// sea shimmers, flames flicker. The picture's layout (from the illustrator) says where: each element's box and
// motion, the horizon, the setting's motion. CSS animations of transform and opacity only, which the compositor
// runs without script per frame, so an old tablet keeps its frame rate. Off where motion is unwelcome: with
// prefers-reduced-motion, and on e-ink (a screen that updates slowly or not at all).
import { overPicture, patch } from "/static/frame-change.js";

export const still = window.matchMedia("(prefers-reduced-motion: reduce), (update: slow), (update: none)");
const STARS = 14;
const FALLING = 40;

// A number in [0, 1) for the n-th thing of this picture: the same picture twinkles the same way on every frame.
function unit(seed, n) {
  let h = 2166136261 ^ n;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return ((h >>> 0) % 10000) / 10000;
}

// A div of `className` in `group`, over `box` (fractions: left, top, right, bottom) or where its style puts it.
function add(group, className, box = null) {
  const div = group.appendChild(document.createElement("div"));
  div.className = className;
  if (box) {
    const [left, top, right, bottom] = box;
    Object.assign(div.style, { left: `${left * 100}%`, top: `${top * 100}%`, width: `${(right - left) * 100}%`,
      height: `${(bottom - top) * 100}%` });
  }
  return div;
}

function stars(group, image, horizon) {
  for (let n = 0; n < STARS; n++) {
    const x = unit(image.id, 3 * n);
    const y = 0.04 + unit(image.id, 3 * n + 1) * horizon * 0.8;
    const star = add(group, "star");
    Object.assign(star.style, { left: `${x * 100}%`, top: `${y * 100}%` });
    star.style.animationDuration = `${3.5 + 3 * unit(image.id, 3 * n + 2)}s`;
    star.style.animationDelay = `${-6 * unit(image.id, 3 * n + 2)}s`;
  }
}

// Snowflakes or raindrops, each a small layer falling the screen's height on its own course (the picture's edge
// clips it): many small layers cost a software compositor far less than a picture-sized one of mostly air.
function falling(group, image, kind) {
  for (let n = 0; n < FALLING; n++) {
    const drop = add(group, kind);
    const slow = unit(image.id, 100 + 2 * n);
    Object.assign(drop.style, { left: `${unit(image.id, 101 + 2 * n) * 100}%`,
      animationDuration: `${kind === "snow" ? 9 + 9 * slow : 1.1 + 0.8 * slow}s`,
      animationDelay: `${-20 * unit(image.id, 300 + n)}s` });
    drop.classList.toggle("far", slow > 0.5);
  }
}

// The motion of `image` over its picture (the <img> it is shown in), or null when it has none or motion is off.
export function ambient(layer, picture, image) {
  const layout = image.layout;
  if (still.matches || !layout) return null;
  const moving = layout.elements.filter((e) => e.motion !== "still");
  if (!layout.stars && layout.falling === "none" && !layout.sea && !moving.length) return null;
  const group = overPicture(layer, picture, "ambience");
  group.dataset.imageId = image.id;
  if (layout.stars) stars(group, image, layout.horizon);
  if (layout.sea) add(add(group, "sea", layout.sea), "swell");
  for (const element of moving) {
    const [left, top, right, bottom] = element.box;
    const thing = patch(group, picture.src, element.box);
    thing.classList.add(element.motion);
    thing.style.transformOrigin = `${(left + right) * 50}% ${bottom * 100}%`;
    add(group, `glow ${element.motion}`, element.box);
  }
  if (layout.falling !== "none") falling(group, image, layout.falling);
  return group;
}
