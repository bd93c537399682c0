/**
 * The tenant's REST surface for file transfer on the admin HTTP port (docs/sim.md "REST API"):
 * identity lookup, events, event and inventory binaries for devices (Basic auth with their MQTT
 * credentials) and the admin; the repository, operation forms and SIM-ONLY `/http-faults` for the
 * admin only. Called after the access guard; answers false for paths it does not serve.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  authenticateDevice,
  authenticateDeviceToken,
  unauthorized,
  type BasicCredentials,
  type Principal,
} from "./auth.js";
import { binaryRoutes } from "./binaries.js";
import { eventRoutes } from "./events.js";
import { FaultBody } from "./faults.js";
import { decodeOr400, readJson, RestError, sendError, sendJson } from "./http.js";
import { identityRoutes } from "./identity.js";
import { repositoryRoutes } from "./repository.js";
import {
  adminOnly,
  dispatch,
  findRoute,
  restRoute,
  routeLines,
  type RestContext,
  type RestRoute,
} from "./router.js";

export type { RestContext } from "./router.js";
export { BinaryStore, type BinaryLimits, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES } from "./store.js";
export { HttpFaults } from "./faults.js";
export { Repository } from "./repository-store.js";
export { basicCredentials, type BasicCredentials } from "./auth.js";

/**
 * Who the guard let through: the admin (token/cookie), or someone presenting Basic credentials
 * or a Bearer token that is not the admin's (a device's JWT, checked here).
 */
export type Caller =
  | { readonly kind: "admin" }
  | { readonly kind: "basic"; readonly credentials: BasicCredentials }
  | { readonly kind: "bearer"; readonly token: string };

export type RestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  caller: Caller,
) => Promise<boolean>;

const faultRoutes = (ctx: RestContext): RestRoute[] => [
  restRoute("/http-faults", {
    GET: ({ res, principal }) => {
      adminOnly(principal, "/http-faults");
      sendJson(res, 200, { armed: ctx.faults.current() });
    },
    POST: async ({ req, res, principal }) => {
      adminOnly(principal, "/http-faults");
      const body = decodeOr400(FaultBody, await readJson(req, "fault"), "fault");
      sendJson(res, 201, { armed: ctx.faults.arm(body) });
    },
    DELETE: ({ res, principal }) => {
      adminOnly(principal, "/http-faults");
      ctx.faults.disarm();
      sendJson(res, 204, null);
    },
  }),
];

export const restRouteTable = (ctx: RestContext): RestRoute[] => [
  ...identityRoutes(ctx),
  ...eventRoutes(ctx),
  ...binaryRoutes(ctx),
  ...repositoryRoutes(ctx),
  ...faultRoutes(ctx),
];

export interface RestHandlerResult {
  readonly handler: RestHandler;
  /** `METHOD /path` lines for the API index. */
  readonly lines: readonly string[];
}

export const restHandler = (ctx: RestContext): RestHandlerResult => {
  const table = restRouteTable(ctx);
  const handler: RestHandler = async (req, res, url, caller) => {
    const found = findRoute(table, url.pathname);
    try {
      let principal: Principal;
      if (caller.kind === "admin") principal = { kind: "admin" };
      else {
        principal =
          caller.kind === "basic"
            ? authenticateDevice(ctx.state(), caller.credentials)
            : authenticateDeviceToken(ctx.state(), caller.token, ctx.now());
        // Device credentials open only these routes; the admin API needs the token.
        if (found === undefined)
          throw new RestError(
            403,
            "security/Forbidden",
            `${url.pathname} is not part of the REST API devices may use; the admin API needs the access token`,
          );
      }
      if (found === undefined) return false;
      await dispatch(found, { req, res, url, principal });
    } catch (e) {
      req.resume();
      if (e instanceof RestError && (e.status === 401 || e.status === 403))
        ctx.refused?.({
          method: req.method ?? "GET",
          path: url.pathname,
          status: e.status,
          reason: e.message,
        });
      if (e instanceof RestError) sendError(res, e);
      else sendError(res, new RestError(500, "Internal Error", e instanceof Error ? e.message : String(e)));
    }
    return true;
  };
  return { handler, lines: routeLines(table) };
};

export { unauthorized };
