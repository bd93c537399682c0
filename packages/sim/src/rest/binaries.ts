/**
 * Event binaries (`/event/events/{id}/binaries`: one file per event, POST once → 409 after, PUT
 * replaces, the event gets `c8y_IsBinary`) and inventory binaries (`/inventory/binaries`: stored
 * files with managed-object-like metadata). Any authenticated principal may read every binary;
 * writing an event's binary needs write access to its source. Downloads go through
 * `serveBinary` (Range, Digest, armed faults).
 */
import * as t from "io-ts";
import type { Principal } from "./auth.js";
import { serveBinary } from "./download.js";
import { checkWrite, eventOr404 } from "./events.js";
import { badRequest, baseUrl, decodeOr400, notFound, RestError, sendJson } from "./http.js";
import { readUpload, type Upload } from "./upload.js";
import { restRoute, type RestContext, type RestRoute, type RouteCall } from "./router.js";
import type { StoredBinary } from "./store.js";

const eventKey = (id: string): string => `event:${id}`;
export const INVENTORY_PREFIX = "inventory:";
export const inventoryKey = (id: string): string => `${INVENTORY_PREFIX}${id}`;

const ownerOf = (principal: Principal): string => (principal.kind === "admin" ? "admin" : principal.username);

const ObjectPart = t.intersection([t.type({ name: t.string }), t.partial({ type: t.string })]);

/** Managed-object view of an inventory binary. */
export const inventoryBinaryJson = (base: string, id: string, b: StoredBinary): Record<string, unknown> => ({
  id,
  self: `${base}/inventory/binaries/${id}`,
  name: b.name,
  type: b.contentType,
  contentType: b.contentType,
  length: b.bytes.length,
  owner: b.owner,
  creationTime: new Date(b.createdMs).toISOString(),
  c8y_IsBinary: {},
});

export const binaryRoutes = (ctx: RestContext): RestRoute[] => {
  const download = ({ req, res }: RouteCall, binary: StoredBinary | undefined, what: string): void => {
    if (binary === undefined) throw notFound(`${what} not found`);
    // A HEAD (size probe) does not use up an armed fault.
    serveBinary(req, res, binary, req.method === "HEAD" ? undefined : ctx.faults.take());
  };

  const putEventBinary = async (call: RouteCall, replace: boolean): Promise<void> => {
    const { req, res, principal, params } = call;
    const id = params[0] ?? "";
    const event = eventOr404(ctx, id);
    checkWrite(ctx, principal, event.sourceId, `binary of event ${id}`);
    const conflict = () =>
      new RestError(409, "Conflict", `event ${id} already has a binary (PUT replaces it, DELETE removes it)`);
    if (!replace && ctx.store.has(eventKey(id))) {
      req.resume();
      throw conflict();
    }
    const upload: Upload = await readUpload(req, ctx.store);
    // Checked again: another upload may have finished while this body was read.
    if (!replace && ctx.store.has(eventKey(id))) throw conflict();
    const name = upload.name ?? "file";
    const stored = ctx.store.put(eventKey(id), {
      name,
      contentType: upload.contentType,
      bytes: upload.bytes,
      createdMs: ctx.now(),
      owner: ownerOf(principal),
    });
    ctx.step({
      type: "admin-set-event-binary",
      eventId: id,
      binary: { name, type: stored.contentType, length: stored.bytes.length },
    });
    const self = `${baseUrl(req)}/event/events/${id}/binaries`;
    sendJson(
      res,
      replace ? 200 : 201,
      { self, source: { id: event.sourceId }, name, type: stored.contentType, length: stored.bytes.length },
      { location: self },
    );
  };

  return [
    restRoute("/event/events/:id/binaries", {
      GET: (call) => {
        const id = call.params[0] ?? "";
        eventOr404(ctx, id);
        download(call, ctx.store.get(eventKey(id)), `binary of event ${id}`);
      },
      POST: (call) => putEventBinary(call, false),
      PUT: (call) => putEventBinary(call, true),
      DELETE: ({ res, principal, params: [id = ""] }) => {
        const event = eventOr404(ctx, id);
        checkWrite(ctx, principal, event.sourceId, `binary of event ${id}`);
        if (!ctx.store.delete(eventKey(id))) throw notFound(`event ${id} has no binary`);
        ctx.step({ type: "admin-set-event-binary", eventId: id, binary: null });
        sendJson(res, 204, null);
      },
    }),
    restRoute("/inventory/binaries", {
      GET: ({ req, res, url }) => {
        if ([...url.searchParams.keys()].some((k) => k !== "pageSize" && k !== "currentPage"))
          throw badRequest(
            "unknown query parameter (allowed: pageSize, currentPage; every binary is listed)",
          );
        const base = baseUrl(req);
        sendJson(res, 200, {
          self: `${base}/inventory/binaries`,
          managedObjects: ctx.store
            .withPrefix(INVENTORY_PREFIX)
            .map(({ id, binary }) => inventoryBinaryJson(base, id, binary)),
        });
      },
      POST: async ({ req, res, url, principal }) => {
        const upload = await readUpload(req, ctx.store);
        const objectPart = upload.fields.get("object");
        const meta =
          objectPart !== undefined
            ? decodeOr400(ObjectPart, parseObjectPart(objectPart.data), 'multipart part "object"')
            : {
                name: url.searchParams.get("name") ?? upload.name,
                type: url.searchParams.get("type") ?? undefined,
              };
        if (meta.name === undefined || meta.name === null || meta.name === "")
          throw badRequest(
            'inventory binary without a name (multipart part "object" with {"name"}, the file part\'s filename, or ?name=)',
          );
        const contentType = meta.type ?? upload.contentType;
        const reserved = ctx.step({ type: "admin-reserve-id" });
        const id = reserved.objectId;
        if (id === undefined) throw new RestError(500, "Internal Error", reserved.detail);
        const stored = ctx.store.put(inventoryKey(id), {
          name: meta.name,
          contentType,
          bytes: upload.bytes,
          createdMs: ctx.now(),
          owner: ownerOf(principal),
        });
        const json = inventoryBinaryJson(baseUrl(req), id, stored);
        sendJson(res, 201, json, { location: String(json.self) });
      },
    }),
    restRoute("/inventory/binaries/:id", {
      GET: (call) => {
        const id = call.params[0] ?? "";
        download(call, ctx.store.get(inventoryKey(id)), `inventory binary ${id}`);
      },
      DELETE: ({ res, principal, params: [id = ""] }) => {
        const binary = ctx.store.get(inventoryKey(id));
        if (binary === undefined) throw notFound(`inventory binary ${id} not found`);
        if (principal.kind !== "admin" && binary.owner !== principal.username)
          throw new RestError(403, "security/Forbidden", `inventory binary ${id} belongs to ${binary.owner}`);
        ctx.store.delete(inventoryKey(id));
        sendJson(res, 204, null);
      },
    }),
  ];
};

const parseObjectPart = (data: Buffer): unknown => {
  try {
    return JSON.parse(data.toString("utf8")) as unknown;
  } catch (e) {
    throw badRequest(
      `multipart part "object" is not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
};
