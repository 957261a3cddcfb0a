// The open message: its state in Rapport (logged, private, excluded, from the server, never
// from browser storage), the thread-private switch, and one card per external person.

import { ApiError, query, segment } from "../api.js";
import { announce, fill, h } from "../dom.js";
import { personCard } from "./person.js";
import { emptyState, inlineError } from "./states.js";

export async function messageView(message, context) {
  const entries = await lookUp(message.people, context);
  const external = entries.filter((e) => !e.person?.is_colleague);
  const colleagues = entries.length - external.length;
  const bar = messageBar(message, context);
  if (!external.length) {
    return [bar, emptyState(
      message.people.length ? "Only colleagues here" : "No one to show yet",
      message.people.length
        ? "Rapport shows people outside the firm; everyone on this message works here."
        : "Add recipients to see who knows them.",
    )];
  }
  return [
    bar,
    h("ul", { class: "people", "aria-label": "People on this message" },
      external.map((entry, index) =>
        h("li", {}, personCard(entry, context, { expanded: index === 0, message })))),
    colleagues > 0 && h("p", { class: "colleagues-hidden" },
      colleagues === 1 ? "1 colleague on this message is not shown." : `${colleagues} colleagues on this message are not shown.`),
  ];
}

/** Each address on the message with its person in Rapport (null when unknown), the user's
 * own addresses left out. */
async function lookUp(people, context) {
  const own = new Set([context.ownAddress, String(context.me.email || "").toLowerCase()]);
  const others = people.filter((p) => !own.has(p.email));
  return Promise.all(others.map(async (entry) => {
    try {
      return { ...entry, person: await context.api.get(`/people${query({ email: entry.email })}`) };
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
        return { ...entry, person: null, invalid: error.status === 400 };
      }
      throw error;
    }
  }));
}

function messageBar(message, context) {
  const badges = h("div", { class: "badges", "aria-live": "polite" }, h("span", { class: "muted" }, "Checking…"));
  const subject = message.mode === "compose"
    ? message.subject || "New message"
    : message.subject || "(no subject)";
  const bar = h("section", { class: "message-bar", "aria-label": "This message in Rapport" },
    h("h2", { class: "message-subject", title: subject }, subject),
    badges);
  if (message.mode === "read" || message.conversationId) loadState(message, context, bar, badges);
  else badges.replaceChildren(h("span", { class: "badge" }, "Being written"));
  return bar;
}

async function loadState(message, context, bar, badges) {
  let state;
  try {
    state = await context.api.get(`/messages/state${query({
      internet_message_id: message.internetMessageId,
      conversation_id: message.conversationId,
      from: message.people.find((p) => p.role === "from")?.email,
    })}`);
  } catch (error) {
    badges.replaceChildren(inlineError(error, () => loadState(message, context, bar, badges)));
    return;
  }
  fill(badges,
    message.mode === "read" && (state.logged
      ? h("span", { class: "badge badge-good" }, "Logged in Rapport")
      : h("span", { class: "badge" }, "Not logged yet")),
    state.private && h("span", { class: "badge badge-warn" }, "Private thread"),
    state.excluded && h("span", { class: "badge badge-warn" }, "Never logged"),
  );
  bar.querySelector(".actions")?.remove();
  if (message.conversationId) bar.append(privateSwitch(message, context, state, bar, badges));
}

function privateSwitch(message, context, state, bar, badges) {
  const path = `/threads/${segment(message.conversationId)}/private`;
  const button = h("button", { type: "button", class: "subtle", "aria-pressed": String(Boolean(state.private)) },
    state.private ? "Make thread visible again" : "Mark thread private");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (state.private) await context.api.delete(path);
      else await context.api.put(path);
      announce(state.private
        ? "The thread is no longer private; the next sync brings it back."
        : "The thread is private: Rapport removed it from your mailbox's data.");
      await loadState(message, context, bar, badges);
    } catch (error) {
      button.disabled = false;
      button.after(inlineError(error));
    }
  });
  return h("div", { class: "actions" }, button,
    h("p", { class: "note-line" }, state.private
      ? "Rapport skips this thread in your mailbox."
      : "Rapport will remove this thread from your mailbox's data and skip it from now on."));
}
