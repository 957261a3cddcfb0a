// Who the person is (name, title, company, phone, address), with the two ways to change it:
// correct a field of a known person (PATCH, audited with provenance on the server) and add a
// person Rapport has not seen (POST). Plus "never log this address".

import { ApiError } from "../api.js";
import { announce, dateOnly, h } from "../dom.js";
import { busy, field, section } from "./section.js";

const EDITABLE = [
  ["name", "Name", (p) => p.display_name],
  ["title", "Title", (p) => p.title],
  ["company", "Company (name or web domain)", (p) => p.company?.name],
  ["phone", "Phone", (p) => (p.phones || [])[0]],
  ["address", "Address", (p) => p.address],
];

export function contactSection(entry, context, onUpdated) {
  const { person } = entry;
  return section("Contact", () => [
    facts(person),
    h("div", { class: "actions" },
      h("button", {
        type: "button",
        class: "subtle",
        onclick: (event) => event.currentTarget.closest(".section-body").replaceChildren(editForm(person, context, onUpdated)),
      }, "Correct details")),
  ]);
}

function facts(person) {
  const corrected = (name) => person.provenance?.[name]?.source === "user";
  const rows = [
    ["Email", (person.emails || []).map((e) => e.address).join(", "), false],
    ["Title", person.title, corrected("title")],
    ["Company", person.company?.name, corrected("company")],
    ["Phone", (person.phones || []).join(", "), corrected("phones") || corrected("phone")],
    ["Address", person.address, corrected("address")],
  ].filter(([, value]) => value);
  return h("dl", { class: "facts" }, rows.map(([label, value, mark]) => [
    h("dt", {}, label),
    h("dd", {}, value, mark && h("span", { class: "muted" }, " (corrected)")),
  ]));
}

function editForm(person, context, onUpdated) {
  const form = h("form", { class: "edit-form", "aria-label": "Correct details" },
    EDITABLE.map(([name, label, value]) => field(label, name, value(person) || "")),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Save"),
      h("button", { type: "button", onclick: () => onUpdated(person) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {};
    for (const [name, , value] of EDITABLE) {
      const now = form.elements[name].value.trim();
      if (now !== (value(person) || "")) changes[name] = now;
    }
    if (!Object.keys(changes).length) { onUpdated(person); return; }
    const updated = await busy(form, () => context.api.patch(`/people/${person.id}`, changes));
    if (updated) {
      announce("Saved. Your correction will not be overwritten by synced mail.");
      context.cache.clear();
      onUpdated(updated);
    }
  });
  queueMicrotask(() => form.elements.name.focus());
  return form;
}

export function addPersonForm(entry, context, onCreated) {
  const open = h("button", { type: "button", class: "primary" }, "Add to Rapport");
  const holder = h("div", { class: "actions" }, open);
  open.addEventListener("click", () => {
    const form = h("form", { class: "add-form", "aria-label": "Add this person" },
      field("Name", "name", entry.name),
      field("Title", "title"),
      field("Company (name or web domain)", "company"),
      field("Phone", "phone", "", { type: "tel" }),
      field("Address", "address"),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Add person"),
        h("button", { type: "button", onclick: () => holder.replaceChildren(open) }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { email: entry.email };
      for (const name of ["name", "title", "company", "phone", "address"]) {
        const value = form.elements[name].value.trim();
        if (value) body[name] = value;
      }
      const person = await busy(form, () => create(context, body));
      if (person) {
        announce(`${person.display_name || entry.email} is now in Rapport.`);
        onCreated(person);
      }
    });
    holder.replaceChildren(form);
    form.elements.name.focus();
  });
  return holder;
}

async function create(context, body) {
  try {
    return await context.api.post("/people", body);
  } catch (error) {
    // Someone added the address meanwhile: show that record rather than an error.
    if (error instanceof ApiError && error.status === 409 && error.body?.person_id) {
      return context.api.get(`/people/${error.body.person_id}`);
    }
    throw error;
  }
}

export function neverLogButton(email, context) {
  const holder = h("div", {});
  const offer = () => {
    const button = h("button", { type: "button", class: "subtle danger" }, "Never log this address");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        excluded(await context.api.post("/exclusions", { address: email }));
        announce(`${email} will never be logged from your mailbox.`);
      } catch (error) {
        button.disabled = false;
        holder.append(h("p", { class: "error-text", role: "alert" }, error.message));
      }
    });
    holder.replaceChildren(button,
      h("p", { class: "note-line" }, "Rapport removes what your mailbox holds with this address and skips it from now on."));
  };
  const excluded = (exclusion) => {
    const undo = h("button", { type: "button", class: "subtle" }, "Undo");
    undo.addEventListener("click", async () => {
      undo.disabled = true;
      try {
        await context.api.delete(`/exclusions/${exclusion.id}`);
        announce(`${email} can be logged again from the next sync.`);
        offer();
      } catch (error) {
        undo.disabled = false;
        holder.append(h("p", { class: "error-text", role: "alert" }, error.message));
      }
    });
    holder.replaceChildren(h("p", {}, h("span", { class: "badge badge-warn" }, "Never logged"), " ", undo),
      h("p", { class: "note-line" }, `Not logged from your mailbox since ${dateOnly(exclusion.created_at) || "now"}.`));
  };
  offer();
  return holder;
}
