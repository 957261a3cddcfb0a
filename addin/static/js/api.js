// Calls to Rapport's API with the pane's bearer token. Errors follow the API's one contract,
// {"error": code, "message": text}, and surface as ApiError; a token the API refuses twice
// (after one fresh token) is SignedOut.

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export class SignedOut extends Error {
  constructor(message = "You are signed out of Rapport.") {
    super(message);
  }
}

const TIMEOUT_MS = 20000;

export function createApi(base, tokens) {
  async function send(method, path, body, token) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      return await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const message = error?.name === "TimeoutError"
        ? "Rapport took too long to answer. Try again."
        : "Rapport cannot be reached. Check your connection and try again.";
      throw new ApiError(0, "network", message);
    }
  }

  async function request(method, path, body) {
    let response = await send(method, path, body, await tokens.get());
    if (response.status === 401) {
      tokens.invalidate(); // expired or revoked: one more try with a fresh token
      response = await send(method, path, body, await tokens.get());
      if (response.status === 401) {
        tokens.invalidate();
        throw new SignedOut(await messageOf(response, "Your sign-in has expired."));
      }
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const message = data?.message || `Rapport answered ${response.status}.`;
      throw new ApiError(response.status, data?.error || "http_error", message, data);
    }
    return data;
  }

  return {
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body ?? {}),
    patch: (path, body) => request("PATCH", path, body ?? {}),
    put: (path, body) => request("PUT", path, body ?? {}),
    delete: (path) => request("DELETE", path),
  };
}

async function messageOf(response, fallback) {
  const data = await response.json().catch(() => null);
  return data?.message || fallback;
}

/** A query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment for an id Outlook gives us (conversation ids hold "/", "+" and "="). */
export function segment(value) {
  return encodeURIComponent(String(value));
}
