// The preview page: lists a colleague's sample messages (GET preview/session.json) and feeds the
// chosen one to the pane's stand-in Office object in the frame, as a pinned pane in Outlook sees
// a new selection. Every name and subject goes in as text, never as markup.

const frame = document.getElementById("pane");
const list = document.getElementById("messages");
const status = document.getElementById("picker-status");
const drafts = document.getElementById("drafts");
let frameReady = false;
let pending = null;
let theme = "";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function post(data) {
  frame.contentWindow.postMessage(data, location.origin);
}

function select(message, button) {
  for (const other of list.querySelectorAll("button")) other.removeAttribute("aria-current");
  button?.setAttribute("aria-current", "true");
  if (frameReady) post({ type: "rapport-preview:select", message });
  else pending = message;
}

function label(person) {
  return person?.name ? `${person.name} <${person.email}>` : person?.email || "";
}

function messageButton(message) {
  const button = el("button");
  button.type = "button";
  const who = message.mode === "compose"
    ? `New message to ${label(message.to[0])}`
    : label(message.from);
  button.append(
    el("span", "from", who),
    el("span", "subject", message.subject || (message.mode === "compose" ? "(compose mode)" : "(no subject)")),
    message.date ? el("span", "date", new Date(message.date).toLocaleString()) : "",
  );
  button.addEventListener("click", () => select(message, button));
  return button;
}

function composeSample(messages, user) {
  const first = messages.flatMap((m) => [m.from, ...m.to, ...m.cc])
    .find((p) => p && p.email && !p.email.endsWith(user.email.split("@")[1]));
  return first ? { mode: "compose", subject: "", to: [first], cc: [] } : null;
}

async function load() {
  const response = await fetch(`preview/session.json${location.search}`, { cache: "no-store" });
  const session = await response.json();
  if (!response.ok) throw new Error(session.message || `HTTP ${response.status}`);
  const picker = document.getElementById("as");
  for (const colleague of session.colleagues) {
    const option = el("option", "", `${colleague.name} (${colleague.email})`);
    option.value = colleague.email;
    option.selected = colleague.email === session.user.email;
    picker.append(option);
  }
  picker.addEventListener("change", () => {
    location.search = new URLSearchParams({ as: picker.value }).toString();
  });
  const messages = session.messages;
  const compose = composeSample(messages, session.user);
  const all = compose ? [...messages, compose] : messages;
  list.append(...all.map((m) => { const li = el("li"); li.append(messageButton(m)); return li; }));
  status.textContent = messages.length
    ? `${messages.length} recent client emails from ${session.user.name}'s mailbox.`
    : `${session.user.name} has no client email yet.`;
  const firstButton = list.querySelector("button");
  if (all.length) select(all[0], firstButton);
}

window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow || event.origin !== location.origin) return;
  if (event.data?.type === "rapport-preview:ready") {
    frameReady = true;
    if (theme) post({ type: "rapport-preview:theme", theme });
    if (pending) post({ type: "rapport-preview:select", message: pending });
    pending = null;
  }
  if (event.data?.type === "rapport-preview:draft") showDraft(event.data.parameters || {});
});

function showDraft({ toRecipients = [], subject = "", htmlBody = "" }) {
  // An inert document: parsing runs no script and loads nothing; only its text is shown.
  const body = new DOMParser().parseFromString(String(htmlBody), "text/html").body;
  const text = Array.from(body.querySelectorAll("p"), (p) => p.textContent).join("\n\n") || body.textContent;
  const item = el("li");
  item.append(el("strong", "", `To: ${toRecipients.join(", ")}`), "\n",
    el("span", "", `Subject: ${subject}`), "\n\n", el("span", "", text));
  drafts.prepend(item);
}

for (const radio of document.querySelectorAll('input[name="theme"]')) {
  radio.addEventListener("change", () => {
    theme = radio.value;
    document.documentElement.style.colorScheme = theme || "light dark";
    if (frameReady) post({ type: "rapport-preview:theme", theme });
  });
}

frame.src = `preview/taskpane.html${location.search}`;
load().catch((error) => { status.textContent = `Could not load sample messages: ${error.message}`; });
