/**
 * The local HTTP admin API (JSON over `node:http`): read views of the tenant state and the admin
 * inputs of the platform model (register, accept, block, create operation, delete device).
 *
 * Every request body and query is checked at the boundary (io-ts); problems are answered with
 * 400 and a list of `{ path, message }`. Unknown paths → 404, known paths with another method →
 * 405 (with `Allow`), unknown devices/operations/registrations → 404, admin inputs the model
 * refuses in the current state → 409. The handler never throws: anything unexpected is a 500.
 * Before any of that, every request passes the access guard (`access.ts`): Host, origin, token.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, refine, validateDeviceId, type DecodeProblem, type DistributiveOmit } from "@c8ylink/core";
import {
  connectionLog,
  findDevice,
  findOperation,
  findRegistration,
  listAlarms,
  listDevices,
  listErrors,
  listEvents,
  listMeasurements,
  listOperations,
  listRegistrations,
  listSessions,
  type AdminAccept,
  type AdminAcknowledgeAlarm,
  type AdminClearAlarm,
  type AdminRefuseNextConnect,
  type AdminRemoveCertificate,
  type AdminTrustCertificate,
  type AdminBlock,
  type AdminCreateOperation,
  type AdminDeleteDevice,
  type AdminRegister,
  type AdminCreateEvent,
  type AdminReserveId,
  type AdminSetEventBinary,
  type OperationStatus,
  type PlatformOutput,
  type PlatformState,
} from "@c8ylink/platform";
import type { AccessRequest, AccessVerdict } from "./access.js";
import { describeTrustedCertificate } from "./certs.js";
import type { Caller, RestHandlerResult } from "./rest/index.js";
import { matchPath } from "./path-match.js";
import { WEB_ROUTE_LINES, type WebHandler } from "./web/routes.js";

/** An admin input of the platform model without `nowMs` (the tenant stamps it from its clock). */
export type SimAdminInput = DistributiveOmit<
  | AdminRegister
  | AdminAccept
  | AdminBlock
  | AdminCreateOperation
  | AdminDeleteDevice
  | AdminAcknowledgeAlarm
  | AdminClearAlarm
  | AdminRefuseNextConnect
  | AdminTrustCertificate
  | AdminRemoveCertificate
  | AdminCreateEvent
  | AdminSetEventBinary
  | AdminReserveId,
  "nowMs"
>;

/** The model's `admin-result` for one admin input, with every output of that step. */
export interface SimAdminResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly operationId?: string;
  /** Id of the event or object an `admin-create-event` / `admin-reserve-id` created. */
  readonly objectId?: string;
  readonly outputs: readonly PlatformOutput[];
}

export interface AdminContext {
  state(): PlatformState;
  admin(input: SimAdminInput): SimAdminResult;
  /** Decides whether the request may be served (`adminGuard`). */
  guard(request: AccessRequest): AccessVerdict;
  /** Told about every refused request (path without its query, which may hold a token). */
  refused(request: { method: string; path: string; status: number; reason: string }): void;
  /** The web page's routes (`web/routes.ts`), tried before the JSON routes once the guard allowed a request. */
  web?: WebHandler;
  /** The REST routes for devices and file transfer (`rest/`), tried before the web page and the JSON routes. */
  rest?: RestHandlerResult;
}

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

const OPERATION_STATUSES: readonly OperationStatus[] = ["PENDING", "EXECUTING", "SUCCESSFUL", "FAILED"];

const DeviceIdField = refine(t.string, "DeviceId", (id) => {
  const valid = validateDeviceId(id);
  return E.isLeft(valid) ? valid.left.reason : undefined;
});
const NonEmptyString = refine(t.string, "NonEmptyString", (s) =>
  s === "" ? "must not be empty" : undefined,
);
const Fragments = refine(t.UnknownRecord, "Fragments", (r) =>
  Object.keys(r).length === 0 ? "an operation needs at least one fragment" : undefined,
);
const RegistrationBody = t.type({ deviceId: DeviceIdField });
const RefuseBody = t.type({ code: t.union([t.literal(3), t.literal(5)]) });
/** JSON form of a certificate upload (the REST API's names, spec §8.2); a bare PEM body works too. */
const CertificateBody = t.intersection([
  t.type({ certInPemFormat: NonEmptyString }),
  t.partial({
    name: t.string,
    autoRegistrationEnabled: t.union([t.boolean, t.literal("true"), t.literal("false")]),
    status: t.union([t.literal("ENABLED"), t.literal("DISABLED")]),
  }),
]);
const OperationBody = t.intersection([
  t.type({ deviceId: NonEmptyString, fragments: Fragments }),
  t.partial({ description: t.string }),
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: readonly DecodeProblem[],
  ) {
    super(message);
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

const ok = (body: unknown, status = 200): Reply => ({ status, body });

const decodeOr400 = <A>(codec: t.Type<A, unknown, unknown>, value: unknown, what: string): A => {
  const result = decode(codec, value);
  if (E.isLeft(result)) throw new HttpError(400, `invalid ${what}`, result.left);
  return result.right;
};

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        reject(new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (e) => {
      if (!failed) reject(e);
    });
  });

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
};

const jsonBody = async (req: IncomingMessage): Promise<unknown> => {
  const text = await readBody(req);
  if (text.trim() === "") throw new HttpError(400, "request body must be a JSON object");
  return parseJson(text);
};

/** Only the listed query parameters, each at most once. */
const queryOf = (url: URL, allowed: readonly string[]): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const key of new Set(url.searchParams.keys())) {
    if (!allowed.includes(key))
      throw new HttpError(
        400,
        `unknown query parameter "${key}"${allowed.length === 0 ? "" : ` (allowed: ${allowed.join(", ")})`}`,
      );
    const values = url.searchParams.getAll(key);
    if (values.length > 1) throw new HttpError(400, `query parameter "${key}" given more than once`);
    out[key] = values[0];
  }
  return out;
};

type Handler = (req: IncomingMessage, params: readonly string[], url: URL) => Promise<Reply> | Reply;

interface Route {
  readonly pattern: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

/** The routes, each path a list of literal segments and `:param`s. */
const routes = (ctx: AdminContext): readonly Route[] => {
  const adminOr = (input: SimAdminInput, notFound: boolean): SimAdminResult => {
    const result = ctx.admin(input);
    if (!result.ok) throw new HttpError(notFound ? 404 : 409, result.detail);
    return result;
  };
  const alarmById = (id: string) =>
    ctx
      .state()
      .alarms.toArray()
      .find((a) => a.id === id);
  const alarmAction = (id: string, type: "admin-acknowledge-alarm" | "admin-clear-alarm"): Reply => {
    if (alarmById(id) === undefined) throw new HttpError(404, `unknown alarm ${id}`);
    adminOr({ type, alarmId: id }, false);
    return ok(alarmById(id));
  };
  const deviceFilter = (url: URL): string | undefined => queryOf(url, ["device"]).device;
  const route = (path: string, methods: Record<string, Handler>): Route => ({
    pattern: path.split("/").filter((s) => s !== ""),
    methods,
  });
  const list: Route[] = [
    route("/", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        return ok({
          routes: [
            ...list.flatMap((r) => Object.keys(r.methods).map((m) => `${m} /${r.pattern.join("/")}`)),
            ...(ctx.rest?.lines ?? []),
            ...(ctx.web === undefined ? [] : WEB_ROUTE_LINES),
          ],
        });
      },
    }),
    route("/devices", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        return ok(listDevices(ctx.state()));
      },
    }),
    route("/devices/:externalId", {
      GET: (_req, [id = ""]) => {
        const device = findDevice(ctx.state(), id);
        if (device === undefined) throw new HttpError(404, `unknown device ${id}`);
        return ok(device);
      },
      DELETE: (_req, [id = ""]) => {
        if (findDevice(ctx.state(), id) === undefined) throw new HttpError(404, `unknown device ${id}`);
        const result = adminOr({ type: "admin-delete-device", deviceId: id }, true);
        return ok({ ok: true, detail: result.detail });
      },
    }),
    route("/measurements", { GET: (_r, _p, url) => ok(listMeasurements(ctx.state(), deviceFilter(url))) }),
    route("/events", { GET: (_r, _p, url) => ok(listEvents(ctx.state(), deviceFilter(url))) }),
    route("/alarms", { GET: (_r, _p, url) => ok(listAlarms(ctx.state(), deviceFilter(url))) }),
    route("/alarms/:id/acknowledge", {
      POST: (_req, [id = ""]) => alarmAction(id, "admin-acknowledge-alarm"),
    }),
    route("/alarms/:id/clear", {
      POST: (_req, [id = ""]) => alarmAction(id, "admin-clear-alarm"),
    }),
    route("/devices/:externalId/refuse-next-connect", {
      POST: async (req, [id = ""]) => {
        const valid = validateDeviceId(id);
        if (E.isLeft(valid)) throw new HttpError(400, valid.left.reason);
        const body = decodeOr400(RefuseBody, await jsonBody(req), 'refusal (expected {"code": 3 or 5})');
        const result = adminOr({ type: "admin-refuse-next-connect", deviceId: id, code: body.code }, false);
        return ok({ ok: true, detail: result.detail });
      },
    }),
    route("/trusted-certificates", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        return ok(Object.values(ctx.state().certificates));
      },
      POST: async (req) => {
        const text = await readBody(req);
        const json = text.trim().startsWith("{") ? parseJson(text) : undefined;
        const upload =
          json === undefined ? { certInPemFormat: text } : decodeOr400(CertificateBody, json, "certificate");
        let certificate;
        try {
          certificate = describeTrustedCertificate(upload.certInPemFormat, {
            ...(upload.name === undefined ? {} : { name: upload.name }),
            ...(upload.autoRegistrationEnabled === undefined
              ? {}
              : { autoRegistration: String(upload.autoRegistrationEnabled) === "true" }),
            ...(upload.status === undefined ? {} : { enabled: upload.status === "ENABLED" }),
          });
        } catch (e) {
          throw new HttpError(400, `invalid certificate: ${e instanceof Error ? e.message : String(e)}`);
        }
        adminOr({ type: "admin-trust-certificate", certificate }, false);
        return ok(ctx.state().certificates[certificate.fingerprint], 201);
      },
    }),
    route("/trusted-certificates/:fingerprint", {
      DELETE: (_req, [fingerprint = ""]) => {
        const result = adminOr({ type: "admin-remove-certificate", fingerprint }, true);
        return ok({ ok: true, detail: result.detail });
      },
    }),
    route("/operations", {
      GET: (_req, _params, url) => {
        const q = queryOf(url, ["device", "status", "fragment"]);
        const status = q.status;
        if (status !== undefined && !(OPERATION_STATUSES as readonly string[]).includes(status))
          throw new HttpError(400, `invalid status "${status}" (expected ${OPERATION_STATUSES.join(", ")})`);
        return ok(
          listOperations(ctx.state(), {
            ...(q.device === undefined ? {} : { deviceId: q.device }),
            ...(status === undefined ? {} : { status: status as OperationStatus }),
            ...(q.fragment === undefined ? {} : { fragment: q.fragment }),
          }),
        );
      },
      POST: async (req) => {
        const body = decodeOr400(OperationBody, await jsonBody(req), "operation");
        if (findDevice(ctx.state(), body.deviceId) === undefined)
          throw new HttpError(404, `unknown device ${body.deviceId}`);
        const result = adminOr(
          {
            type: "admin-create-operation",
            deviceId: body.deviceId,
            fragments: body.fragments,
            ...(body.description === undefined ? {} : { description: body.description }),
          },
          false,
        );
        const operation =
          result.operationId === undefined ? undefined : findOperation(ctx.state(), result.operationId);
        if (operation === undefined) throw new HttpError(500, "operation created but not found");
        return ok(operation, 201);
      },
    }),
    route("/operations/:id", {
      GET: (_req, [id = ""]) => {
        const operation = findOperation(ctx.state(), id);
        if (operation === undefined) throw new HttpError(404, `unknown operation ${id}`);
        return ok(operation);
      },
    }),
    route("/registrations", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        return ok(listRegistrations(ctx.state()));
      },
      POST: async (req) => {
        const body = decodeOr400(RegistrationBody, await jsonBody(req), "registration");
        adminOr({ type: "admin-register", deviceId: body.deviceId }, false);
        return ok(findRegistration(ctx.state(), body.deviceId), 201);
      },
    }),
    route("/registrations/:id", {
      GET: (_req, [id = ""]) => {
        const registration = findRegistration(ctx.state(), id);
        if (registration === undefined) throw new HttpError(404, `no registration for ${id}`);
        return ok(registration);
      },
    }),
    route("/registrations/:id/accept", {
      POST: (_req, [id = ""]) => {
        if (findRegistration(ctx.state(), id) === undefined)
          throw new HttpError(404, `no registration for ${id}`);
        adminOr({ type: "admin-accept", deviceId: id }, false);
        return ok(findRegistration(ctx.state(), id));
      },
    }),
    route("/registrations/:id/block", {
      POST: (_req, [id = ""]) => {
        const result = adminOr({ type: "admin-block", deviceId: id }, true);
        return ok({
          ok: true,
          detail: result.detail,
          registration: findRegistration(ctx.state(), id) ?? null,
        });
      },
    }),
    route("/errors", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        return ok(listErrors(ctx.state()));
      },
    }),
    route("/connections", {
      GET: (_req, _params, url) => {
        queryOf(url, []);
        const state = ctx.state();
        return ok({ sessions: listSessions(state), log: connectionLog(state) });
      },
    }),
  ];
  return list;
};

const send = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = `${JSON.stringify(body ?? null)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    // Not to be sniffed, framed, embedded by other origins, or to leak its URL as a referrer.
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-resource-policy": "same-origin",
    "referrer-policy": "no-referrer",
    ...headers,
  });
  res.end(text);
};

/** The request listener of the admin server. */
export const adminHandler = (ctx: AdminContext): ((req: IncomingMessage, res: ServerResponse) => void) => {
  const table = routes(ctx);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      throw new HttpError(400, "malformed request URL");
    }
    const method = req.method ?? "GET";
    const verdict = ctx.guard({ method, url, headers: req.headers });
    let caller: Caller;
    switch (verdict.kind) {
      case "allowed":
        caller = { kind: "admin" };
        break;
      case "basic":
        caller = { kind: "basic", credentials: verdict.credentials };
        break;
      case "bearer":
        caller = { kind: "bearer", token: verdict.token };
        break;
      case "login":
        req.resume();
        send(
          res,
          303,
          { ok: "access token accepted: this browser now holds it as a cookie" },
          { location: verdict.location, "set-cookie": verdict.setCookie },
        );
        return;
      case "refused":
        req.resume();
        ctx.refused({ method, path: url.pathname, status: verdict.status, reason: verdict.reason });
        send(
          res,
          verdict.status,
          { error: verdict.message, message: verdict.message },
          verdict.status === 401 ? { "www-authenticate": 'Bearer realm="c8ylink sim admin API"' } : {},
        );
        return;
    }
    if (ctx.rest !== undefined && (await ctx.rest.handler(req, res, url, caller))) return;
    if (caller.kind !== "admin") throw new HttpError(401, "device credentials open only the REST API");
    if (ctx.web !== undefined && (await ctx.web(req, res, url))) return;
    const parts = url.pathname.split("/").filter((s) => s !== "");
    for (const r of table) {
      const params = matchPath(r.pattern, parts, (message) => new HttpError(400, message));
      if (params === null) continue;
      const handler = r.methods[method];
      if (handler === undefined) {
        const allow = Object.keys(r.methods).join(", ");
        send(
          res,
          405,
          { error: `method ${method} not allowed on ${url.pathname} (allowed: ${allow})` },
          { allow },
        );
        return;
      }
      const reply = await handler(req, params, url);
      send(res, reply.status, reply.body);
      return;
    }
    throw new HttpError(404, `no route for ${req.method ?? "GET"} ${url.pathname}`);
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        send(res, e.status, {
          error: e.message,
          ...(e.problems === undefined ? {} : { problems: e.problems }),
        });
        if (e.status === 413) req.resume();
      } else {
        send(res, 500, { error: `internal error: ${e instanceof Error ? e.message : String(e)}` });
      }
    });
  };
};
