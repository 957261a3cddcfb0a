// The sign-in dialog (opened by auth.js through Office's dialog API when neither nested app
// authentication nor Office SSO can give a token): MSAL.js with a redirect inside the dialog,
// then the access token goes to the pane with messageParent, to our own origin only.

import { loadMsal } from "./auth.js";

const config = JSON.parse(document.getElementById("pane-config").textContent);
const status = document.getElementById("signin-status");

function reply(message) {
  Office.context.ui.messageParent(JSON.stringify(message), { targetOrigin: location.origin });
}

async function signIn() {
  await Office.onReady();
  const msal = await loadMsal();
  const client = new msal.PublicClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      redirectUri: location.origin + location.pathname,
    },
    cache: { cacheLocation: "sessionStorage" },
  });
  await client.initialize();
  const request = { scopes: [config.scope] };
  const result = await client.handleRedirectPromise();
  if (result?.accessToken) {
    reply({ token: result.accessToken });
    return;
  }
  const account = client.getAllAccounts()[0];
  if (account) {
    try {
      reply({ token: (await client.acquireTokenSilent({ ...request, account })).accessToken });
      return;
    } catch {
      // fall through to an interactive sign-in
    }
  }
  await client.acquireTokenRedirect(request);
}

signIn().catch((error) => {
  status.textContent = `Sign-in failed: ${error.message || error}`;
  reply({ error: String(error.message || error) });
});
