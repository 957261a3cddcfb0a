// "Ask for an introduction": a drafted email to the colleague, opened in Outlook for the user to
// edit and send (Office.js displayNewMessageForm); nothing is sent by Rapport.

import { h, nameOf } from "./dom.js";
import { draftMessage } from "./host.js";

export async function draftIntroduction(button, connector, person, context) {
  button.disabled = true;
  try {
    const colleague = await context.api.get(`/people/${connector.colleague.person_id}`);
    const address = colleague.emails?.find((e) => e.kind === "smtp" && !e.bounced)?.address;
    if (!address) throw new Error(`Rapport has no address for ${connector.colleague.name}.`);
    draftMessage({
      to: [address],
      subject: `Introduction to ${nameOf(person)}`,
      htmlBody: introBody(connector, person, context.me),
    });
  } catch (error) {
    button.after(h("p", { class: "error-text", role: "alert" }, error.message));
  } finally {
    button.disabled = false;
  }
}

/** The body as HTML. It is built as DOM and serialized, so every name is escaped by the
 * browser's serializer: a name like "<img src=x onerror=...>" arrives in the draft as text. */
export function introBody(connector, person, me) {
  const greeting = String(connector.colleague.name || "").split(/\s+/)[0] || "there";
  const company = person.company?.name ? ` at ${person.company.name}` : "";
  const body = h("div", {},
    h("p", {}, `Hi ${greeting},`),
    h("p", {}, `Rapport tells me you know ${nameOf(person)}${company}. `
      + "Would you be willing to introduce me? Happy to send a short note you can forward."),
    h("p", {}, "Thanks,", h("br"), me.name || me.email || ""));
  return body.innerHTML;
}
