/**
 * Who may use the HTTP admin API. "Bound to 127.0.0.1" is no boundary for HTTP: any web page in
 * the developer's browser can send requests to it (cross-site requests) and a DNS-rebinding page
 * can even read the answers — and an operation created here runs as a command on a `--shell`
 * agent. So every request is checked, in this order:
 *
 * 1. `Host` must name this server: `localhost`, `127.0.0.1`, `[::1]`, the bound address (and,
 *    for a non-loopback bind, any IP literal, this machine's host name and `allowedHosts`), with
 *    the bound port — a rebinding page's requests carry the attacker's name → 421.
 * 2. A browser request from another site or origin (`Sec-Fetch-Site` `cross-site`/`same-site`,
 *    or an `Origin` that is not this server's own) → 403. No CORS headers are ever sent, so
 *    other origins cannot read answers either.
 * 3. The per-run access token, as `Authorization: Bearer <token>` (scripts) or as the cookie set
 *    when the token URL (`/?token=…`) is opened (browsers; `HttpOnly`, `SameSite=Strict`) → else
 *    401 saying where the token is. Devices instead present Basic credentials or a Bearer JWT
 *    (handed on as such: only the REST routes accept them, after checking them). Opening the token URL answers 303 to the same URL without
 *    the token, so it does not linger in the address bar or the history.
 *
 * Tokens are compared in constant time (SHA-256 of both, then `timingSafeEqual`).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import { hostname as machineName } from "node:os";
import { basicCredentials, type BasicCredentials } from "./rest/auth.js";

/** Characters and length of an access token: safe in a URL, a header and a cookie unescaped. */
const TOKEN_SHAPE = /^[A-Za-z0-9._~-]{16,256}$/;

/** `header.claims.signature`, base64url: a device's JWT (never taken for the admin token). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A fresh random token: 32 bytes from the system's CSPRNG, base64url (43 characters). */
export const newAdminToken = (): string => randomBytes(32).toString("base64url");

/** Why `token` cannot be an access token, or `undefined` when it can. */
export const adminTokenProblem = (token: string): string | undefined =>
  TOKEN_SHAPE.test(token)
    ? undefined
    : "an access token must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ - (e.g. `openssl rand -hex 32`)";

/** Why `name` cannot be an extra `Host` name (it must be a bare name or IP, no port or scheme). */
export const allowedHostProblem = (name: string): string | undefined => {
  const bare = name.replace(/^\[(.*)\]$/, "$1");
  return /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(bare) || isIP(bare) !== 0
    ? undefined
    : `${JSON.stringify(name)} is not a host name or IP address (give it without scheme, port or path)`;
};

/** Where a refused client finds the token (never the token itself). */
export const TOKEN_HINT =
  "open the URL printed in the banner of `c8ylink sim` (http://HOST:PORT/?token=…) in the browser, " +
  "or send the header `Authorization: Bearer <token>` from scripts; the token is printed at start, " +
  "or chosen with --token / the C8YLINK_SIM_TOKEN environment variable (embedded: SimulatedTenant.adminToken)";

/** True for addresses and names that only this machine can reach. */
export const isLoopbackHost = (host: string): boolean => {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && (mapped[1] ?? "").startsWith("127.");
};

const isWildcard = (host: string): boolean => host === "" || host === "0.0.0.0" || host === "::";

/** A host as it appears in a `Host` header or an origin: lower case, IPv6 in brackets. */
const hostForm = (host: string): string => {
  const h = host.toLowerCase();
  return isIP(h) === 6 ? `[${h}]` : h;
};

interface Authority {
  readonly host: string;
  readonly port: number;
}

/** Parses `host[:port]` strictly (no user info, no path); `null` if it is anything else. */
const parseAuthority = (text: string, defaultPort: number): Authority | null => {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (m === null) return null;
  const raw = m[1] ?? "";
  if (raw.startsWith("[") && isIP(raw.slice(1, -1)) !== 6) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port > 65535) return null;
  return { host: raw.toLowerCase(), port };
};

export interface AdminAccessPolicy {
  /** The access token every request must carry. */
  readonly token: string;
  /** The address the server was asked to bind (`127.0.0.1`, `0.0.0.0`, `::1`, a name…). */
  readonly boundHost: string;
  /** The port the admin server listens on (read once it is bound). */
  readonly port: () => number;
  /** More names `Host` may carry (e.g. a Docker service name). */
  readonly allowedHosts?: readonly string[];
}

/** What the guard decided for one request. */
export type AccessVerdict =
  | { readonly kind: "allowed" }
  /**
   * No valid token but `Authorization: Basic`: a device (not a browser — it passed the origin
   * checks) whose credentials the REST routes check against the platform model.
   */
  | { readonly kind: "basic"; readonly credentials: BasicCredentials }
  /**
   * No valid token but a Bearer that is a JWT: a device with a certificate presenting the token
   * it got on `s/dat`, checked by the REST routes.
   */
  | { readonly kind: "bearer"; readonly token: string }
  /** The token URL was opened: set the cookie and redirect to `location` (the URL without the token). */
  | { readonly kind: "login"; readonly location: string; readonly setCookie: string }
  | {
      readonly kind: "refused";
      readonly status: 401 | 403 | 421;
      /** Short and free of secrets: for the sim's timeline. */
      readonly reason:
        "no-token" | "wrong-token" | "wrong-host" | "cross-origin" | "cross-site" | "malformed-basic";
      /** For the client: what was wrong and what to do. */
      readonly message: string;
    };

export interface AccessRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** The cookie that carries the token; named after the port because cookies ignore ports. */
export const cookieName = (port: number): string => `c8ylink_sim_${port}`;

const cookieValues = (headers: IncomingHttpHeaders, name: string): string[] => {
  const raw = header(headers, "cookie");
  if (raw === undefined) return [];
  return raw
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair.startsWith(`${name}=`))
    .map((pair) => pair.slice(name.length + 1));
};

const bearer = (headers: IncomingHttpHeaders): string | undefined => {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header(headers, "authorization") ?? "");
  return m?.[1];
};

/** The `Location` of the URL without its `token` parameter; always a path on this server. */
const withoutToken = (url: URL): string => {
  const params = new URLSearchParams(url.search);
  params.delete("token");
  const query = params.toString();
  // Never `//host…` (a protocol-relative URL would leave this server).
  return `/${url.pathname.replace(/^\/+/, "")}${query === "" ? "" : `?${query}`}`;
};

/** The request guard of the admin API (reads only the bound port and, once, the machine's name). */
export const adminGuard = (policy: AdminAccessPolicy): ((request: AccessRequest) => AccessVerdict) => {
  const expected = digest(policy.token);
  const matches = (candidate: string | undefined): boolean =>
    candidate !== undefined && timingSafeEqual(digest(candidate), expected);

  const bound = hostForm(policy.boundHost);
  const openToNetwork = !isLoopbackHost(policy.boundHost);
  const names = new Set([
    "localhost",
    "127.0.0.1",
    "[::1]",
    ...(isWildcard(policy.boundHost) ? [] : [bound]),
    ...(openToNetwork ? [machineName().toLowerCase()] : []),
    ...(policy.allowedHosts ?? []).map(hostForm),
  ]);
  const hostAllowed = (host: string): boolean =>
    names.has(host) ||
    // An IP literal cannot be rebound by a DNS answer; allowed when the server is meant to be reached.
    (openToNetwork && isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0);

  return (request) => {
    const port = policy.port();
    const hostHeader = header(request.headers, "host") ?? "";
    const authority = parseAuthority(hostHeader, 80);
    if (authority === null || authority.port !== port || !hostAllowed(authority.host))
      return {
        kind: "refused",
        status: 421,
        reason: "wrong-host",
        // Readable by a rebinding page: names no secret and not the machine's name.
        message:
          `the Host header ${JSON.stringify(hostHeader.slice(0, 200))} does not name this server; refused ` +
          `to guard against DNS rebinding (use http://127.0.0.1:${port}, http://localhost:${port} or the ` +
          `address it was started on${openToNetwork ? "; allow more names with allowedHosts / --allow-host" : ""})`,
      };

    const fetchSite = header(request.headers, "sec-fetch-site");
    if (fetchSite === "cross-site" || fetchSite === "same-site")
      return {
        kind: "refused",
        status: 403,
        reason: "cross-site",
        message: `refused a request another site's page sent (Sec-Fetch-Site: ${fetchSite}); use this server's own page or a script`,
      };

    const origin = header(request.headers, "origin");
    if (origin !== undefined) {
      const m = /^http:\/\/(.+)$/i.exec(origin);
      const from = m === null ? null : parseAuthority(m[1] ?? "", 80);
      if (from === null || from.host !== authority.host || from.port !== authority.port)
        return {
          kind: "refused",
          status: 403,
          reason: "cross-origin",
          message: `refused a request from the page of another origin (Origin: ${origin.slice(0, 200)}); this API answers only its own origin and scripts`,
        };
    }

    const queryToken = request.url.searchParams.get("token");
    if (request.method === "GET" && queryToken !== null) {
      if (!matches(queryToken))
        return {
          kind: "refused",
          status: 401,
          reason: "wrong-token",
          message: `wrong access token: ${TOKEN_HINT}`,
        };
      return {
        kind: "login",
        location: withoutToken(request.url),
        setCookie: `${cookieName(port)}=${policy.token}; HttpOnly; SameSite=Strict; Path=/`,
      };
    }

    const offered = [bearer(request.headers), ...cookieValues(request.headers, cookieName(port))].filter(
      (t): t is string => t !== undefined,
    );
    // Check every candidate (no early exit) so the time taken does not depend on which one matched.
    const accepted = offered.map(matches).includes(true);
    if (accepted) return { kind: "allowed" };
    const basic = basicCredentials(header(request.headers, "authorization"));
    if (basic === "malformed")
      return {
        kind: "refused",
        status: 401,
        reason: "malformed-basic",
        message: "malformed Basic Authorization header (expected base64 of <tenant>/<user>:<password>)",
      };
    if (basic !== undefined) return { kind: "basic", credentials: basic };
    const jwt = bearer(request.headers);
    if (jwt !== undefined && JWT_SHAPE.test(jwt)) return { kind: "bearer", token: jwt };
    return offered.length === 0
      ? {
          kind: "refused",
          status: 401,
          reason: "no-token",
          message: `this API needs its access token: ${TOKEN_HINT}`,
        }
      : { kind: "refused", status: 401, reason: "wrong-token", message: `wrong access token: ${TOKEN_HINT}` };
  };
};
