// The tenant's JSON admin API, called from its own page: same origin, so the browser sends the
// HttpOnly cookie set by the token URL; no token is ever visible to this script.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** One request; resolves the parsed JSON body, rejects with an ApiError carrying the API's message. */
export const api = (method, path, body) =>
  send(path, {
    method,
    headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A multipart upload (`FormData`: the browser sets the boundary). */
export const apiForm = (path, form) => send(path, { method: "POST", body: form });

const send = async (path, init) => {
  let res;
  try {
    res = await fetch(path, { ...init, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, `the tenant did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await res.text();
  let parsed;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    // The REST routes answer `{ error: category, message }`, the admin API `{ error: message }`.
    const detail =
      typeof parsed?.message === "string"
        ? parsed.message
        : typeof parsed?.error === "string"
          ? parsed.error
          : String(text).slice(0, 300);
    const problems = Array.isArray(parsed?.problems)
      ? `: ${parsed.problems.map((p) => `${p.path} ${p.message}`).join("; ")}`
      : "";
    throw new ApiError(res.status, `${res.status} ${detail}${problems}`);
  }
  return parsed;
};

/** `encodeURIComponent` for one path segment. */
export const seg = (text) => encodeURIComponent(String(text));
