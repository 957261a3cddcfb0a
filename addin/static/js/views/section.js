// One titled part of a person card whose content loads on its own: a slow or failing part
// shows its own loading text or error (with a retry) and never blanks the rest of the card.

import { SignedOut } from "../api.js";
import { h, uid } from "../dom.js";
import { inlineError } from "./states.js";

/** ``load(body)`` fills ``body`` (it may return nodes to put there instead). */
export function section(title, load, { className = "" } = {}) {
  const id = uid("section");
  const body = h("div", { class: "section-body", "aria-live": "polite" });
  const element = h("section", { class: `section ${className}`.trim(), "aria-labelledby": id },
    h("h3", { class: "section-title", id, tabindex: "-1" }, title),
    body);
  const run = async () => {
    body.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    body.setAttribute("aria-busy", "true");
    try {
      const nodes = await load(body);
      if (nodes !== undefined) body.replaceChildren(...[nodes].flat().filter(Boolean));
    } catch (error) {
      if (error instanceof SignedOut) document.dispatchEvent(new CustomEvent("rapport:signed-out"));
      body.replaceChildren(inlineError(error, run));
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  };
  run();
  return element;
}

/** ``GET path`` once per pane render, shared by the card parts that need it; a failure is
 * forgotten so that a retry asks again. */
export function fetchOnce(context, path) {
  if (!context.cache.has(path)) {
    const pending = context.api.get(path);
    pending.catch(() => context.cache.delete(path));
    context.cache.set(path, pending);
  }
  return context.cache.get(path);
}

/** A labelled text field for a small form. */
export function field(label, name, value = "", attributes = {}) {
  const id = uid(name);
  const input = attributes.multiline
    ? h("textarea", { id, name, ...attributes, multiline: null })
    : h("input", { id, name, type: "text", autocomplete: "off", ...attributes });
  input.value = value ?? "";
  return [h("label", { for: id }, label), input];
}

/** Disable a form's controls while ``work`` runs; show its error under the form. */
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, textarea")];
  form.querySelector(".field-error")?.remove();
  controls.forEach((c) => { c.disabled = true; });
  try {
    return await work();
  } catch (error) {
    form.append(h("p", { class: "field-error", role: "alert" }, error.message || "That did not work."));
    return undefined;
  } finally {
    controls.forEach((c) => { c.disabled = false; });
  }
}
