// What the pane reads from and asks of Outlook, through Office.js (or the preview's stand-in
// for it, which implements the same calls). Nothing else in the pane touches Office.

/** Resolves once Office.js is ready: {host, platform}; host is null outside Office. */
export function officeReady() {
  if (typeof Office === "undefined") return Promise.resolve({ host: null, platform: null });
  return Office.onReady();
}

export function inOutlook() {
  return typeof Office !== "undefined" && Boolean(Office.context?.mailbox);
}

/** The signed-in user's own address, as Outlook knows it. */
export function userAddress() {
  return String(Office.context.mailbox.userProfile?.emailAddress || "").toLowerCase();
}

/** The open message, or null when none is selected:
 * {mode: "read"|"compose", internetMessageId, conversationId, subject, people: [{name, email, role}]} */
export async function currentMessage() {
  const item = Office.context.mailbox.item;
  if (!item) return null;
  const compose = typeof item.to?.getAsync === "function";
  const people = compose ? await composeRecipients(item) : readParticipants(item);
  return {
    mode: compose ? "compose" : "read",
    internetMessageId: compose ? null : item.internetMessageId || null,
    conversationId: item.conversationId || null,
    subject: compose ? await asyncValue(item.subject) : item.subject || "",
    people: unique(people),
  };
}

function readParticipants(item) {
  const one = (address, role) => (address ? [{ ...address, role }] : []);
  return [
    ...one(item.from || item.sender, "from"),
    ...(item.to || []).map((a) => ({ ...a, role: "to" })),
    ...(item.cc || []).map((a) => ({ ...a, role: "cc" })),
  ];
}

async function composeRecipients(item) {
  const lists = await Promise.all(
    [["to", item.to], ["cc", item.cc], ["bcc", item.bcc]].map(async ([role, field]) =>
      field ? (await asyncValue(field)).map((a) => ({ ...a, role })) : []),
  );
  return lists.flat();
}

function unique(addresses) {
  const seen = new Map();
  for (const address of addresses) {
    const email = String(address.emailAddress || "").trim().toLowerCase();
    if (!email || seen.has(email)) continue;
    seen.set(email, { name: String(address.displayName || "").trim(), email, role: address.role });
  }
  return [...seen.values()];
}

/** ``field.getAsync`` as a promise; a plain value is returned as is. */
function asyncValue(field) {
  if (!field || typeof field.getAsync !== "function") return Promise.resolve(field ?? "");
  return new Promise((resolve, reject) => {
    field.getAsync((result) => {
      if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value ?? "");
      else reject(new Error(result.error?.message || "Outlook could not read the message"));
    });
  });
}

/** Call ``handler`` when a pinned pane's selection changes (and, while composing, when the
 * recipients change). */
export function onItemChanged(handler) {
  const mailbox = Office.context.mailbox;
  if (typeof mailbox.addHandlerAsync === "function") {
    mailbox.addHandlerAsync(Office.EventType.ItemChanged, () => {
      watchRecipients(handler);
      handler();
    });
  }
  watchRecipients(handler);
}

function watchRecipients(handler) {
  const item = Office.context.mailbox.item;
  const kind = Office.EventType.RecipientsChanged;
  if (item && kind && typeof item.addHandlerAsync === "function") {
    item.addHandlerAsync(kind, () => handler());
  }
}

/** Open a new message in Outlook for the user to edit and send. ``htmlBody`` must be built
 * from escaped text (see intro.js). */
export function draftMessage({ to, subject, htmlBody }) {
  Office.context.mailbox.displayNewMessageForm({ toRecipients: to, subject, htmlBody });
}

/** Call ``handler`` when the user switches Office's theme (where the host reports it). */
export function onThemeChanged(handler) {
  const kind = Office.EventType?.OfficeThemeChanged;
  const mailbox = Office.context.mailbox;
  if (kind && typeof mailbox.addHandlerAsync === "function") {
    mailbox.addHandlerAsync(kind, () => handler(), () => {});
  }
}

/** "dark" or "light" when Office tells the theme, else null (the CSS then follows the system). */
export function officeTheme() {
  const theme = typeof Office !== "undefined" ? Office.context?.officeTheme : null;
  const color = theme?.bodyBackgroundColor;
  if (!color || !/^#?[0-9a-f]{6}$/i.test(color)) return null;
  const hex = color.replace("#", "");
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 ? "dark" : "light";
}
