// A stand-in for Office.js outside Outlook. Office.js itself only works inside an Office host
// (elsewhere Office.onReady reports host null and there is no mailbox), so the browser preview
// (/addin/preview) and the Playwright tests load this file where the pane loads Microsoft's.
// It implements the calls the pane makes, with Office.js's shapes and asynchronous style:
// a read or compose item, ItemChanged, userProfile, officeTheme, requirement sets,
// auth.getAccessToken, displayNewMessageForm and displayDialogAsync.
//
// Configuration: tests set window.RAPPORT_OFFICE_STUB = {token, signInToken, user, message,
// theme, sets} before the page loads; the preview page's frame fetches its session (a dev token
// for the chosen colleague) and receives the chosen message from the preview page.
(function () {
  "use strict";
  const SUCCEEDED = "succeeded";
  const FAILED = "failed";
  const NOT_SIGNED_IN = { code: 13001, name: "User is not signed in", message: "The user is not signed in." };
  const THEMES = {
    light: { bodyBackgroundColor: "#ffffff", bodyForegroundColor: "#242424" },
    dark: { bodyBackgroundColor: "#1f1f1f", bodyForegroundColor: "#ffffff" },
  };
  const preset = window.RAPPORT_OFFICE_STUB;
  const settings = Object.assign({ token: null, signInToken: null, user: {}, message: null, sets: {} }, preset || {});
  const handlers = { ItemChanged: [], OfficeThemeChanged: [] };
  const calls = [];

  const address = (p) => ({ displayName: String(p?.name ?? ""), emailAddress: String(p?.email ?? "") });
  const later = (fn) => setTimeout(fn, 0);
  const result = (value) => ({ status: SUCCEEDED, value, error: null, asyncContext: undefined });
  const getter = (value) => ({ getAsync(options, callback) { later(() => (callback || options)(result(value))); } });

  function makeItem(message) {
    if (!message) return null;
    const to = (message.to || []).map(address);
    const cc = (message.cc || []).map(address);
    if (message.mode === "compose") {
      return {
        itemType: "message",
        conversationId: message.conversationId || null,
        subject: getter(String(message.subject || "")),
        to: getter(to), cc: getter(cc), bcc: getter([]),
        addHandlerAsync(type, handler, callback) { later(() => callback?.(result(undefined))); },
      };
    }
    const from = address(message.from);
    return {
      itemType: "message",
      itemId: message.itemId || `stub-${message.internetMessageId || ""}`,
      internetMessageId: message.internetMessageId || null,
      conversationId: message.conversationId || null,
      subject: String(message.subject || ""),
      dateTimeCreated: message.date ? new Date(message.date) : new Date(),
      from, sender: from, to, cc,
    };
  }

  const mailbox = {
    item: makeItem(settings.message),
    userProfile: { displayName: settings.user.name || "", emailAddress: settings.user.email || "" },
    addHandlerAsync(type, handler, options, callback) {
      (handlers[type] ||= []).push(handler);
      later(() => (typeof options === "function" ? options : callback)?.(result(undefined)));
    },
    displayNewMessageForm(parameters) {
      calls.push({ method: "displayNewMessageForm", parameters });
      if (window.parent !== window) {
        window.parent.postMessage({ type: "rapport-preview:draft", parameters }, location.origin);
      }
    },
  };

  const context = {
    mailbox,
    officeTheme: settings.theme ? THEMES[settings.theme] : undefined,
    requirements: {
      isSetSupported(name, version) {
        const have = settings.sets[name];
        return have !== undefined && Number(have) >= Number(version || 0);
      },
    },
    ui: {
      displayDialogAsync(url, options, callback) {
        calls.push({ method: "displayDialogAsync", url });
        later(() => (typeof options === "function" ? options : callback)({
          status: FAILED, error: { code: 12011, message: "Dialogs are not available outside Outlook." },
        }));
      },
    },
  };

  let ready;
  const Office = {
    AsyncResultStatus: { Succeeded: SUCCEEDED, Failed: FAILED },
    EventType: {
      ItemChanged: "ItemChanged", RecipientsChanged: "RecipientsChanged",
      OfficeThemeChanged: "OfficeThemeChanged",
      DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived",
    },
    HostType: { Outlook: "Outlook" },
    context,
    onReady(callback) {
      return ready.then((info) => { callback?.(info); return info; });
    },
    auth: {
      getAccessToken(options = {}) {
        calls.push({ method: "getAccessToken", options });
        if (!settings.token && options.allowSignInPrompt && settings.signInToken) {
          settings.token = settings.signInToken;
        }
        return settings.token ? Promise.resolve(settings.token) : Promise.reject(NOT_SIGNED_IN);
      },
    },
  };

  function fire(type) {
    for (const handler of handlers[type] || []) later(() => handler({ type }));
  }

  const stub = {
    calls,
    /** Select another message, as a pinned pane sees when the user clicks one (null: none). */
    select(message) {
      mailbox.item = makeItem(message);
      fire("ItemChanged");
    },
    setTheme(theme) {
      context.officeTheme = THEMES[theme];
      fire("OfficeThemeChanged");
    },
    signOut() {
      settings.token = null;
    },
  };

  function previewSession() {
    // The preview's frame: a dev token for the colleague picked on the page, then the messages
    // the page sends (same origin, from the parent window only).
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || event.origin !== location.origin) return;
      if (event.data?.type === "rapport-preview:select") stub.select(event.data.message);
      if (event.data?.type === "rapport-preview:theme") stub.setTheme(event.data.theme);
    });
    const url = new URL("../../preview/session.json", document.currentScript.src);
    url.search = location.search;
    return fetch(url, { credentials: "omit", cache: "no-store" })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`preview session: ${response.status}`))))
      .then((session) => {
        settings.token = session.token;
        mailbox.userProfile = { displayName: session.user.name, emailAddress: session.user.email };
        window.parent.postMessage({ type: "rapport-preview:ready" }, location.origin);
        return { host: "Outlook", platform: "OfficeOnline" };
      });
  }

  ready = preset ? Promise.resolve({ host: "Outlook", platform: "PC" }) : previewSession();
  window.Office = Office;
  window.OfficeStub = stub;
})();
