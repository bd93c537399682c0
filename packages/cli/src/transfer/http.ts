/**
 * What the download and the upload share: the tenant's origin and when credentials go with a
 * request, bounded retries with backoff, requests with an idle timeout, redirects followed by
 * hand (so that credentials are never carried to another origin), and errors classified as
 * values.
 */

import type { TenantAuth } from "@c8ylink/mqtt";

/**
 * The device's credentials for the tenant's REST API (`Engine.tenantCredentials()`): its user
 * and password (Basic), or the JWT a certificate device got on `s/dat` (Bearer).
 */
export type TenantCredentials = TenantAuth;

/** What the download and the upload are configured with (resolved from `HttpTransferOptions`). */
export interface TransferSettings {
  readonly tenant: URL;
  readonly credentials: () => TenantCredentials | undefined;
  readonly attempts: number;
  readonly backoffMs: (retry: number) => number;
  readonly idleTimeoutMs: number;
  readonly fetch: typeof fetch;
}

export interface HttpTransferOptions {
  /** The tenant's HTTP(S) base URL, e.g. `https://t123.eu-latest.cumulocity.com`. */
  readonly tenantUrl: string;
  /** The current device credentials, or undefined while they are not known. */
  readonly credentials: () => TenantCredentials | undefined;
  /** Tries per download or upload step (default 5). */
  readonly attempts?: number;
  /** Delay before retry `n` (1-based), default 1 s, 2 s, 4 s … capped at 30 s. */
  readonly backoffMs?: (retry: number) => number;
  /** A request that receives nothing for this long is abandoned (and retried); default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Replaces the global `fetch` (tests). */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

export const defaultBackoffMs = (retry: number): number => Math.min(30_000, 1000 * 2 ** (retry - 1));

/** A failure of one attempt: `retryable` ones are tried again while attempts remain. */
export interface Failure {
  readonly reason: string;
  readonly retryable: boolean;
}

export const failure = (reason: string, retryable: boolean): Failure => ({ reason, retryable });

export const errorText = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  // fetch wraps the network cause ("fetch failed" / "terminated"): name the cause too.
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== e.message ? `${e.message}: ${cause.message}` : e.message;
};

/** HTTP statuses worth retrying: server errors, timeouts, rate limits. */
export const retryableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429;

/** Why a request to the tenant cannot be authenticated (yet). */
export const NO_CREDENTIALS =
  "no device credentials for the tenant's REST API (yet): the registration is not accepted yet, or (with a certificate) no unexpired token has arrived on s/dat yet";

export const sameOrigin = (a: URL, b: URL): boolean => a.origin === b.origin;

/** `Authorization` for a URL on the tenant's origin, none for any other. */
export const authHeaders = (
  url: URL,
  tenant: URL,
  credentials: TenantCredentials | undefined,
): Record<string, string> => {
  if (!sameOrigin(url, tenant) || credentials === undefined) return {};
  switch (credentials.kind) {
    case "basic": {
      const login = `${credentials.tenant}/${credentials.user}:${credentials.password}`;
      return { authorization: `Basic ${Buffer.from(login).toString("base64")}` };
    }
    case "bearer":
      return { authorization: `Bearer ${credentials.token}` };
  }
};

/**
 * An abort signal for one request: fires when the caller aborts or when nothing was received
 * for `idleMs` (`touch()` after each chunk restarts the wait). `done()` clears the timer.
 */
export const idleSignal = (
  idleMs: number,
  outer: AbortSignal | undefined,
): { signal: AbortSignal; touch: () => void; done: () => void; timedOut: () => boolean } => {
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`nothing received for ${idleMs / 1000} s`));
    }, idleMs);
  };
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  if (outer?.aborted === true) controller.abort(outer.reason);
  arm();
  return {
    signal: controller.signal,
    touch: arm,
    done: () => {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    },
    timedOut: () => timedOut,
  };
};

/**
 * `fetch` that follows redirects itself (up to 5): each hop gets the tenant's credentials only
 * when it is on the tenant's origin.
 */
export const fetchFollowing = async (
  fetchImpl: typeof fetch,
  url: URL,
  init: RequestInit & { readonly headers: Record<string, string> },
  tenant: URL,
  credentials: TenantCredentials | undefined,
): Promise<{ response: Response; url: URL }> => {
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await fetchImpl(current, {
      ...init,
      redirect: "manual",
      headers: { ...init.headers, ...authHeaders(current, tenant, credentials) },
    });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || location === null)
      return { response, url: current };
    await response.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS)
      throw new RedirectError(`more than ${MAX_REDIRECTS} redirects from ${url.href}`);
    current = new URL(location, current);
  }
};

export class RedirectError extends Error {}

/** Waits `ms` unless `signal` aborts first (then resolves at once: the caller checks the signal). */
export const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** A short excerpt of an error response's body, for the reason. */
export const bodyExcerpt = async (response: Response): Promise<string> => {
  try {
    const text = (await response.text()).trim().replace(/\s+/g, " ");
    return text === "" ? "" : `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
  } catch {
    return "";
  }
};

/** Runs `attempt` up to `attempts` times while it fails retryably, waiting between tries. */
export const withRetries = async <T>(
  attempts: number,
  backoffMs: (retry: number) => number,
  signal: AbortSignal | undefined,
  attempt: (n: number) => Promise<T | Failure>,
  isFailure: (r: T | Failure) => r is Failure,
): Promise<T | Failure> => {
  let last: Failure = failure("not attempted", true);
  for (let n = 1; n <= attempts; n++) {
    if (signal?.aborted === true) return failure("cancelled", true);
    const result = await attempt(n);
    if (!isFailure(result)) return result;
    last = result;
    if (!result.retryable) return result;
    if (n < attempts) await sleep(backoffMs(n), signal);
  }
  return failure(`${last.reason} (gave up after ${attempts} attempts)`, true);
};
