// The task pane: waits for Office, signs in, and shows the open message's people. A pinned pane
// follows the selection: every ItemChanged re-renders, and answers for a message that is no
// longer selected are dropped (``generation``).

import { createApi, SignedOut } from "./api.js";
import { createTokens } from "./auth.js";
import { fill } from "./dom.js";
import * as host from "./host.js";
import { messageView } from "./views/message.js";
import { emptyState, errorState, loadingState, signedOutState } from "./views/states.js";

const app = document.getElementById("app");
const config = JSON.parse(document.getElementById("pane-config").textContent);
const tokens = createTokens(config);
const api = createApi(config.apiBase, tokens);
let me = null;
let generation = 0;

function applyTheme() {
  const theme = host.officeTheme();
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function show(...children) {
  app.setAttribute("aria-busy", "false");
  fill(app, ...children);
}

async function whoAmI() {
  me ??= await api.get("/me");
  document.getElementById("who").textContent = me.name || me.email || "";
  return me;
}

async function render() {
  const mine = ++generation;
  applyTheme();
  app.setAttribute("aria-busy", "true");
  fill(app, loadingState());
  try {
    const [user, message] = await Promise.all([whoAmI(), host.currentMessage()]);
    if (mine !== generation) return;
    if (!message) {
      show(emptyState("No message selected", "Select a message to see who knows the people on it."));
      return;
    }
    const context = { api, me: user, config, cache: new Map(), ownAddress: host.userAddress() };
    const view = await messageView(message, context);
    if (mine !== generation) return;
    show(view);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof SignedOut) show(signedOutState(error.message, signIn));
    else show(errorState(error, render));
  }
}

async function signIn() {
  app.setAttribute("aria-busy", "true");
  try {
    await tokens.get({ interactive: true });
  } catch (error) {
    show(signedOutState(error.message, signIn));
    return;
  }
  me = null;
  await render();
}

async function start() {
  const info = await host.officeReady();
  if (!host.inOutlook()) {
    show(errorState(
      { message: "Rapport runs inside Outlook. Open a message and choose Who knows them." },
      null,
      info?.host ? "Not a mail item" : "Open Rapport from Outlook",
    ));
    return;
  }
  host.onItemChanged(render);
  host.onThemeChanged(applyTheme);
  // A card part whose call found the sign-in gone: the whole pane shows the signed-out state.
  document.addEventListener("rapport:signed-out", () => {
    generation += 1;
    show(signedOutState("Your sign-in has expired.", signIn));
  });
  await render();
}

start();
