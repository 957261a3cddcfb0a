// A card per external person on the message: who they are and how strong my tie is at a
// glance; the rest (who knows them, their company, my history, paths, notes, follow-up) loads
// when the card is opened. People Rapport has not seen get a card to add them.

import { capital, h, initials, uid } from "../dom.js";
import { fetchOnce } from "./section.js";
import { addPersonForm, contactSection, neverLogButton } from "./contact.js";
import { connectorsSection, companySection, pathsSection, strengthSection } from "./relations.js";
import { followUpSection, interactionsSection, notesSection } from "./activity.js";

export function personCard(entry, context, { expanded = false } = {}) {
  const card = h("article", { class: "card", "data-email": entry.email });
  const render = (person, open) => {
    const fresh = entry.person === person ? entry : { ...entry, person };
    card.replaceChildren(...(person ? known(fresh, context, open, render) : unknown(fresh, context, open, render)));
  };
  render(entry.person, expanded);
  return card;
}

function known(entry, context, open, render) {
  const { person } = entry;
  const name = person.display_name || entry.name || entry.email;
  const line = [person.title, person.company?.name].filter(Boolean).join(" · ") || entry.email;
  const tier = h("span", { class: "tier tier-unknown" }, "…");
  loadTier(person, context, tier);
  return toggle(
    [h("span", { class: "avatar", "aria-hidden": "true" }, initials(name)),
      h("span", { class: "who" }, h("span", { class: "who-name" }, name), h("span", { class: "who-line" }, line)),
      tier],
    () => [
      contactSection(entry, context, (updated) => render(updated, true)),
      strengthSection(person, context),
      connectorsSection(person, context),
      person.company && companySection(person, context),
      interactionsSection(person, context),
      pathsSection(person, context),
      notesSection(person, context),
      followUpSection(person, context),
      h("div", { class: "section" }, neverLogButton(entry.email, context)),
    ],
    open,
  );
}

function unknown(entry, context, open, render) {
  const name = entry.name || entry.email;
  return toggle(
    [h("span", { class: "avatar avatar-unknown", "aria-hidden": "true" }, initials(name)),
      h("span", { class: "who" }, h("span", { class: "who-name" }, name), h("span", { class: "who-line" }, entry.email)),
      h("span", { class: "tier tier-none" }, "New")],
    () => [
      h("div", { class: "section" },
        h("p", {}, entry.invalid
          ? "Rapport cannot use this address."
          : "Rapport has not seen this address in the firm's mail yet."),
        !entry.invalid && addPersonForm(entry, context, (person) => render(person, true))),
      !entry.invalid && h("div", { class: "section" }, neverLogButton(entry.email, context)),
    ],
    open,
  );
}

/** A card head that opens and closes the card body; the body is built on first opening. */
function toggle(head, body, open) {
  const id = uid("card-body");
  const button = h("button", { type: "button", class: "card-head", "aria-expanded": String(open), "aria-controls": id }, head);
  const panel = h("div", { class: "card-body", id, hidden: !open });
  let built = false;
  const build = () => {
    if (!built) panel.replaceChildren(...body().filter(Boolean));
    built = true;
  };
  if (open) build();
  button.addEventListener("click", () => {
    const opening = button.getAttribute("aria-expanded") !== "true";
    if (opening) build();
    button.setAttribute("aria-expanded", String(opening));
    panel.hidden = !opening;
  });
  return [button, panel];
}

async function loadTier(person, context, tier) {
  try {
    const strength = await fetchOnce(context, `/people/${person.id}/strength`);
    tier.className = `tier tier-${strength.tier || "none"}`;
    tier.textContent = strength.tier === "none" || !strength.tier ? "No tie" : `${capital(strength.tier)} ${Math.round(strength.score)}`;
    tier.title = "Your relationship strength (0-100)";
  } catch {
    tier.className = "tier tier-none";
    tier.textContent = "–";
    tier.title = "Your relationship strength could not be loaded";
  }
}
