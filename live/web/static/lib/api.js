// The thin API client every page uses: the signed-in token, JSON in and out, Idempotency-Key on
// request, and the server's errors handed on as the server words them (ApiError).

const TOKEN_KEY = "yc.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

function decodeClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

// Who is signed in, read from the token the server issued (the server checks it on every call; the
// page uses the claims only to decide what to show).
export const session = {
  get token() {
    const token = localStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    const claims = decodeClaims(token);
    if (!claims || (claims.exp && claims.exp * 1000 < Date.now())) {
      localStorage.removeItem(TOKEN_KEY);
      return null;
    }
    return token;
  },
  get user() {
    const token = this.token;
    if (!token) return null;
    const c = decodeClaims(token);
    return { id: c.sub, name: c.name || c.sub, roles: c.roles || [], exp: c.exp };
  },
  has(role) {
    const u = this.user;
    return !!u && u.roles.includes(role);
  },
  signIn(token) {
    if (!decodeClaims(token)) throw new ApiError(0, "bad_token", "not a token");
    localStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// api("GET", "/rooms", {query: {state: ["live"]}}); api("POST", "/x", {body, key: newKey()})
export async function api(method, path, { body, query, key, token } = {}) {
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === "") continue;
      for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
    }
    const s = q.toString();
    if (s) url += "?" + s;
  }
  const headers = { Accept: "application/json" };
  const bearer = token === undefined ? session.token : token;
  if (bearer) headers.Authorization = "Bearer " + bearer;
  if (key) headers["Idempotency-Key"] = key;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "http_" + res.status, err.message || res.statusText, err.details);
  }
  return data;
}

// Retry a call that may have timed out or met a 503, with the same Idempotency-Key (safe by design).
export async function apiRetrying(method, path, opts = {}, tries = 3) {
  for (let i = 1; ; i++) {
    try {
      return await api(method, path, opts);
    } catch (e) {
      const again = e instanceof ApiError && (e.status === 0 || e.status === 503) && i < tries;
      if (!again) throw e;
      await new Promise((r) => setTimeout(r, 300 * i + Math.random() * 300));
    }
  }
}
