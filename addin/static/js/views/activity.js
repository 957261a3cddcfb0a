// My own history with the person (my emails and meetings, paginated), my notes, and my
// follow-up date. The server decides what I may see: subjects only of my own mailbox's items.

import { query } from "../api.js";
import { announce, dateOnly, h, when } from "../dom.js";
import { busy, fetchOnce, field, section } from "./section.js";

const PAGE = 5;

/** The newest page of my interactions with the person, fetched once per card: the strength
 * section reads it too (relations.js). */
export function newestInteractions(person, context) {
  return fetchOnce(context, `/people/${person.id}/interactions${query({ limit: PAGE })}`);
}

export function interactionsSection(person, context) {
  return section("Your recent emails and meetings", async (body) => {
    const list = h("ul", { class: "rows" });
    const more = h("button", { type: "button", class: "subtle" }, "Show older");
    const page = async (before) => {
      const found = before === null ? await newestInteractions(person, context)
        : await context.api.get(`/people/${person.id}/interactions${query({ limit: PAGE, before })}`);
      const items = found.items || [];
      list.append(...items.map(interactionRow));
      const next = found.next_before;
      more.hidden = !next;
      more.onclick = async () => {
        more.disabled = true;
        await page(next).catch((error) => more.after(h("p", { class: "error-text" }, error.message)));
        more.disabled = false;
      };
      return items.length;
    };
    if (!(await page(null))) return h("p", {}, "You have no emails or meetings with them yet.");
    body.replaceChildren(list, more);
    return undefined;
  });
}

function interactionRow(item) {
  const kind = item.kind === "meeting" ? "Meeting"
    : item.direction === "out" ? "You wrote" : item.direction === "in" ? "They wrote" : "Email";
  // The server sends a subject only for items of my own mailbox, never a colleague's.
  // An empty subject of my own mail reads "(no subject)", as Outlook writes it.
  const title = item.subject
    || (item.in_my_mailbox === false ? "Synced from a colleague's mailbox" : "(no subject)");
  return h("li", {},
    h("div", { class: "row-head" },
      h("span", { class: item.subject ? "row-title" : "row-title muted" }, title),
      h("span", { class: "muted" }, when(item.occurred_at))),
    h("p", { class: "row-text" }, kind));
}

export function notesSection(person, context) {
  return section("Notes", async (body) => {
    const found = await context.api.get(`/people/${person.id}/notes`);
    const notes = found.items || [];
    const list = h("ul", { class: "rows" }, notes.map(noteRow));
    const empty = h("p", { class: "muted", hidden: notes.length > 0 }, "No notes yet.");
    const form = h("form", { class: "note-form", "aria-label": "Add a note" },
      field("New note", "text", "", { multiline: true, maxlength: 10000, required: true }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "shared" }), " Visible to colleagues"),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add note")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = form.elements.text.value.trim();
      if (!text) return;
      const shared = form.elements.shared.checked;
      const note = await busy(form, () => context.api.post(`/people/${person.id}/notes`, { text, shared }));
      if (note) {
        list.prepend(noteRow(note));
        empty.hidden = true;
        form.elements.text.value = "";
        form.elements.shared.checked = false;
        announce("Note added.");
      }
    });
    body.replaceChildren(empty, list, form);
    return undefined;
  });
}

function noteRow(note) {
  const author = note.mine ? "You" : note.author?.name || "";
  const shared = note.shared ? "shared" : "only you";
  return h("li", {},
    h("p", { class: "note-text" }, note.text),
    h("p", { class: "muted" }, [author, dateOnly(note.created_at), shared].filter(Boolean).join(" · ")));
}

export function followUpSection(person, context) {
  return section("Follow-up", async (body) => {
    body.replaceChildren(followUpView(person, context, person.follow_up || null));
    return undefined;
  });
}

function followUpView(person, context, current) {
  const holder = h("div", {});
  const form = h("form", { class: "follow-up-form", "aria-label": "Set a follow-up date" },
    current && h("p", { class: "row-text" }, `Due ${dateOnly(current.due)}${current.text ? `: ${current.text}` : ""}`),
    field("Date", "due", current?.due?.slice(0, 10) || "", { type: "date", required: true }),
    field("What to do (optional)", "text", current?.text || ""),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, current ? "Change follow-up" : "Set follow-up"),
      current && h("button", { type: "button", class: "subtle", onclick: () => clear() }, "Clear")));
  const path = `/people/${person.id}/follow-up`;
  const done = (next, text) => {
    holder.replaceChildren(followUpView(person, context, next));
    announce(text);
  };
  const clear = async () => {
    const ok = await busy(form, async () => { await context.api.delete(path); return true; });
    if (ok) done(null, "Follow-up cleared.");
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const due = form.elements.due.value;
    const text = form.elements.text.value.trim();
    const saved = await busy(form, () => context.api.put(path, text ? { due, text } : { due }));
    if (saved !== undefined) done(saved?.follow_up || saved || { due, text }, `Follow-up set for ${dateOnly(due)}.`);
  });
  holder.append(form);
  return holder;
}
