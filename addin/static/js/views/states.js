// Whole-pane states: loading, empty, error and signed out. Each says what is happening and,
// where the user can do something about it, offers the one action that helps.

import { h } from "../dom.js";

export function loadingState() {
  return h("div", { class: "state-loading-block", role: "status" },
    h("span", { class: "visually-hidden" }, "Loading people on this message…"),
    h("div", { class: "skeleton" }),
    h("div", { class: "skeleton" }));
}

export function emptyState(title, text) {
  return h("section", { class: "state state-empty", "aria-labelledby": "empty-title" },
    h("h2", { class: "state-title", id: "empty-title" }, title),
    h("p", {}, text));
}

export function errorState(error, retry, title = "Something went wrong") {
  const message = error?.message || "Rapport could not load this message.";
  return h("section", { class: "state state-error", role: "alert" },
    h("h2", { class: "state-title" }, title),
    h("p", {}, message),
    retry && h("button", { class: "primary", type: "button", onclick: () => retry() }, "Try again"));
}

export function signedOutState(reason, signIn) {
  const button = h("button", { class: "primary", type: "button", id: "sign-in" }, "Sign in");
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = "Signing in…";
    signIn();
  });
  return h("section", { class: "state state-signed-out", "aria-labelledby": "signed-out-title" },
    h("h2", { class: "state-title", id: "signed-out-title" }, "You are signed out"),
    h("p", {}, reason || "Sign in with your work account to use Rapport."),
    button,
    h("p", { class: "muted" }, "Rapport uses your Microsoft 365 sign-in; it never sees your password."));
}

/** A small inline error inside a section, with a retry. */
export function inlineError(error, retry) {
  return h("p", { class: "error-text", role: "alert" },
    error?.message || "Could not load.",
    " ",
    retry && h("button", { class: "subtle", type: "button", onclick: retry }, "Retry"));
}
