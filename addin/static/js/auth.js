// The pane's access token for Rapport's API, by the first method the host supports:
//   1. nested app authentication (MSAL.js createNestablePublicClientApplication), Microsoft's
//      recommendation for Outlook add-ins, where Office reports the NestedAppAuth 1.1 set;
//   2. Office single sign-on, Office.auth.getAccessToken;
//   3. the Office dialog API: /addin/signin.html signs in with MSAL.js and hands the token back
//      (only when the user asked to sign in: a dialog never opens by itself).
// Tokens live in memory only, never in browser storage.

import { SignedOut } from "./api.js";

const EARLY_MS = 120000; // renew this long before expiry
const USER_ABORTED = 13002; // Office.auth: the user closed the sign-in or consent prompt
const NOT_SIGNED_IN = 13001;
const DIALOG_OPTIONS = { height: 60, width: 30, promptBeforeOpen: false };

export function createTokens(config) {
  let cached = null; // {token, expires}
  let pending = null;
  let nestable = null; // the MSAL application, created once

  async function acquire(interactive) {
    if (naaSupported()) {
      try {
        return await naaToken(interactive);
      } catch (error) {
        console.warn("Rapport: nested app authentication failed", error);
      }
    }
    try {
      return await ssoToken(interactive);
    } catch (error) {
      if (!interactive || error?.code === USER_ABORTED) throw signedOut(error);
      if (!Office.context?.ui?.displayDialogAsync) throw signedOut(error);
      return dialogToken();
    }
  }

  async function naaToken(interactive) {
    nestable ??= await loadMsal().then((msal) =>
      msal.createNestablePublicClientApplication({
        auth: { clientId: config.clientId, authority: config.authority },
      }));
    const request = { scopes: [config.scope] };
    try {
      return (await nestable.acquireTokenSilent(request)).accessToken;
    } catch (error) {
      if (!interactive) throw error;
      return (await nestable.acquireTokenPopup(request)).accessToken;
    }
  }

  return {
    /** A valid token; throws SignedOut when none can be had without the user. */
    async get({ interactive = false } = {}) {
      if (cached && cached.expires - EARLY_MS > Date.now()) return cached.token;
      pending ??= acquire(interactive).then(
        (token) => { cached = { token, expires: expiry(token) }; return token; },
      ).finally(() => { pending = null; });
      return pending;
    },
    invalidate() {
      cached = null;
    },
  };
}

function naaSupported() {
  try {
    return Boolean(Office.context?.requirements?.isSetSupported("NestedAppAuth", "1.1"));
  } catch {
    return false;
  }
}

async function ssoToken(interactive) {
  if (!Office.auth?.getAccessToken) throw new SignedOut("Single sign-on is not available here.");
  return Office.auth.getAccessToken({
    allowSignInPrompt: interactive,
    allowConsentPrompt: interactive,
  });
}

function dialogToken() {
  const url = new URL("../../signin.html", import.meta.url);
  return new Promise((resolve, reject) => {
    Office.context.ui.displayDialogAsync(url.href, DIALOG_OPTIONS, (opened) => {
      if (opened.status !== Office.AsyncResultStatus.Succeeded) {
        reject(new SignedOut(`The sign-in window could not open (${opened.error?.message}).`));
        return;
      }
      const dialog = opened.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        dialog.close();
        if (arg.origin && arg.origin !== location.origin) {
          reject(new SignedOut("The sign-in window answered from another site."));
          return;
        }
        const reply = parse(arg.message);
        if (reply?.token) resolve(reply.token);
        else reject(new SignedOut(reply?.error || "Sign-in did not finish."));
      });
      dialog.addEventHandler(Office.EventType.DialogEventReceived, () => {
        reject(new SignedOut("The sign-in window was closed."));
      });
    });
  });
}

function signedOut(error) {
  if (error instanceof SignedOut) return error;
  const reason = error?.code === NOT_SIGNED_IN
    ? "Sign in to see who at the firm knows the people on this message."
    : error?.message || "Sign in to use Rapport.";
  return new SignedOut(reason);
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The token's expiry (ms) from its exp claim; used for caching only, never trusted. */
function expiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(payload)).exp;
    return Number.isFinite(exp) ? exp * 1000 : Date.now() + 300000;
  } catch {
    return Date.now() + 300000;
  }
}

let msalLoading = null;
/** MSAL.js (vendored from npm, served by addin.web) as the global ``msal``, loaded once. */
export function loadMsal(src = msalSource()) {
  msalLoading ??= new Promise((resolve, reject) => {
    if (window.msal) { resolve(window.msal); return; }
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => (window.msal ? resolve(window.msal) : reject(new Error("MSAL.js did not load")));
    script.onerror = () => reject(new Error("MSAL.js could not be loaded"));
    document.head.append(script);
  });
  return msalLoading;
}

function msalSource() {
  return new URL("../../vendor/msal-browser.min.js", import.meta.url).href;
}
