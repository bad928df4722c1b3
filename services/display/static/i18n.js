// The pages in the browser's language: the first of navigator.languages the catalogue speaks (else English).
// Elements name their words with data-i18n="key" (text), data-i18n-title, data-i18n-label (aria-label) and
// data-i18n-placeholder; scripts call t(key, {name: value}). The HTML keeps the English words, so a page is whole
// before this runs and without it.
import { MESSAGES } from "/static/messages.js";

export const LANGUAGE = pick(navigator.languages?.length ? navigator.languages : [navigator.language]);

function pick(tags) {
  for (const tag of tags) {
    const code = String(tag ?? "").slice(0, 2).toLowerCase();
    if (code in MESSAGES) return code;
  }
  return "en";
}

export function t(key, params = {}) {
  const text = MESSAGES[LANGUAGE][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

const ATTRIBUTES = { i18nTitle: "title", i18nLabel: "aria-label", i18nPlaceholder: "placeholder" };

export function translate(root = document) {
  document.documentElement.lang = LANGUAGE;
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const [data, attribute] of Object.entries(ATTRIBUTES)) {
    for (const element of root.querySelectorAll(`[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`)) {
      element.setAttribute(attribute, t(element.dataset[data]));
    }
  }
}

translate();
