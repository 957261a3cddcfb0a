// DOM building without markup parsing. Names, subjects and notes come from outside the firm,
// so text only ever enters the page through text nodes and attribute setters: this module is
// the pane's only way to make elements, and nothing in the pane assigns innerHTML.

/** An element: h("button", {class: "primary", onclick: fn}, "Save"). Props whose value is
 * null, undefined or false are left out; true sets an empty attribute. Children may be
 * strings (text nodes), nodes, nested arrays, or null/false (skipped). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replace everything inside ``element``. */
export function fill(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

let ids = 0;
/** A page-unique id for aria-controls / label[for]. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** Announce a short status to screen readers and show it briefly. */
export function announce(text) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { status.textContent = ""; }, 4000);
}

/** Initials for an avatar, from a display name or an address. */
export function initials(name) {
  const words = String(name || "?").replace(/[<>@._-]+/g, " ").trim().split(/\s+/);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]];
  return letters.map((w) => Array.from(w)[0] || "").join("").toUpperCase() || "?";
}

const DAY = 86400000;
/** "today", "3 days ago", or a date, for an ISO time. */
export function when(iso) {
  if (!iso) return "never";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const days = Math.floor((Date.now() - at.getTime()) / DAY);
  if (days === 0) return "today";
  if (days === 1) return "yesterday";
  if (days > 1 && days < 45) return `${days} days ago`;
  return at.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

export function dateOnly(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

export function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

/** How a person is named: the display name, else their address (half of the contacts in real
 * mail have no name). ``person`` is the API's person (``emails``) or a listing's (``email``). */
export function nameOf(person) {
  return person?.display_name
    || person?.emails?.find((e) => e.kind === "smtp")?.address
    || person?.email
    || "";
}
