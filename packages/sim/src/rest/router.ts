/**
 * The REST routes' table and dispatcher: literal segments and `:param`s, per-method handlers
 * that write their own response (downloads stream), 405 with `Allow` for other methods.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PlatformState } from "@c8ylink/platform";
import type { SimAdminInput, SimAdminResult } from "../admin.js";
import type { Principal } from "./auth.js";
import type { HttpFaults } from "./faults.js";
import { matchPath } from "../path-match.js";
import { badRequest, RestError } from "./http.js";
import type { Repository } from "./repository-store.js";
import type { BinaryStore } from "./store.js";

export interface RestContext {
  state(): PlatformState;
  /** Feeds a model input (stamped by the tenant) and returns its answer. */
  step(input: SimAdminInput): SimAdminResult;
  readonly store: BinaryStore;
  readonly faults: HttpFaults;
  readonly repository: Repository;
  now(): number;
  /** Told about refused device requests (401/403), for the timeline. */
  refused?(request: { method: string; path: string; status: number; reason: string }): void;
}

export interface RouteCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: readonly string[];
  readonly url: URL;
  readonly principal: Principal;
}

export type RouteHandler = (call: RouteCall) => Promise<void> | void;

export interface RestRoute {
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

export const restRoute = (path: string, methods: Record<string, RouteHandler>): RestRoute => ({
  pattern: path.split("/").filter((s) => s !== ""),
  methods,
});

/** The route of `path`, if any (and its params). */
export const findRoute = (
  table: readonly RestRoute[],
  path: string,
): { readonly route: RestRoute; readonly params: readonly string[] } | undefined => {
  const parts = path.split("/").filter((s) => s !== "");
  for (const route of table) {
    const params = matchPath(route.pattern, parts, badRequest);
    if (params !== null) return { route, params };
  }
  return undefined;
};

/** Runs the handler of `method` or throws 405 naming the allowed ones. */
export const dispatch = async (
  found: { readonly route: RestRoute; readonly params: readonly string[] },
  call: Omit<RouteCall, "params">,
): Promise<void> => {
  const method = call.req.method ?? "GET";
  const handler = found.route.methods[method] ?? (method === "HEAD" ? found.route.methods.GET : undefined);
  if (handler === undefined) {
    const allow = Object.keys(found.route.methods).join(", ");
    throw new RestError(
      405,
      "Method Not Allowed",
      `method ${method} not allowed on ${call.url.pathname} (allowed: ${allow})`,
      undefined,
      { allow },
    );
  }
  await handler({ ...call, params: found.params });
};

export const adminOnly = (principal: Principal, what: string): void => {
  if (principal.kind !== "admin")
    throw new RestError(
      403,
      "security/Forbidden",
      `${what} needs the admin access token (device credentials are not enough)`,
    );
};

/** Lines for the API index (`GET /`). */
export const routeLines = (table: readonly RestRoute[]): string[] =>
  table.flatMap((r) => Object.keys(r.methods).map((m) => `${m} /${r.pattern.join("/")}`));
