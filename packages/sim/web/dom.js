// Building DOM nodes without innerHTML: every text from the tenant goes in as text, never as markup.

/**
 * `h("tag.class", { attr: value, onclick: fn }, ...children)`. Children may be nodes, strings,
 * numbers, arrays, or null/undefined/false (skipped). `data-*`, `aria-*` and others become
 * attributes; `on*` functions become listeners.
 */
export const h = (spec, attrs = {}, ...children) => {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length > 0) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
};

const append = (el, children) => {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
};

/** Replaces the children of `el`. */
export const fill = (el, ...children) => {
  el.replaceChildren();
  append(el, children);
  return el;
};

/** `12:03:04.123` (local time) of an epoch millisecond or an ISO string. */
export const clock = (at) => {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
};

/** "3 s ago", "5 min ago"… from epoch milliseconds. */
export const ago = (atMs, nowMs = Date.now()) => {
  const s = Math.max(0, Math.round((nowMs - atMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
};
