/**
 * `POST /event/events` and `GET /event/events/{id}`: events created over REST go into the
 * platform model (admin `GET /events`, the web page), for the device itself or its children.
 */
import * as t from "io-ts";
import { refine } from "@c8ylink/core";
import { findEvent, isoFromMs, mayWriteFor, type PlatformEvent } from "@c8ylink/platform";
import type { Principal } from "./auth.js";
import { baseUrl, decodeOr400, notFound, readJson, RestError, sendJson } from "./http.js";
import { restRoute, type RestContext, type RestRoute } from "./router.js";

const NonEmpty = refine(t.string, "NonEmptyString", (s) =>
  s.trim() === "" ? "must not be empty" : undefined,
);
const IsoTime = refine(t.string, "IsoTime", (s) =>
  /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)) ? undefined : "must be an ISO 8601 date-time",
);
export const EventBody = t.intersection([
  t.type({ source: t.type({ id: NonEmpty }), type: NonEmpty, text: t.string }),
  t.partial({ time: IsoTime }),
]);

/** Fields of the body the model does not hold apart: custom fragments of the event. */
const RESERVED = new Set(["source", "type", "text", "time", "id", "self", "creationTime"]);

export const eventJson = (base: string, e: PlatformEvent): Record<string, unknown> => ({
  ...e.fragments,
  id: e.id,
  self: `${base}/event/events/${e.id}`,
  source: { id: e.sourceId, self: `${base}/inventory/managedObjects/${e.sourceId}` },
  type: e.type,
  time: e.time,
  text: e.text,
  creationTime: isoFromMs(e.createdMs),
});

/** 403 unless the principal may write for managed object `sourceId`. */
export const checkWrite = (ctx: RestContext, principal: Principal, sourceId: string, what: string): void => {
  if (principal.kind === "admin") return;
  if (!mayWriteFor(ctx.state(), principal.deviceId, sourceId))
    throw new RestError(
      403,
      "security/Forbidden",
      `${what}: device ${principal.deviceId} may write only for itself and its children, not for managed object ${sourceId}`,
    );
};

export const eventOr404 = (ctx: RestContext, id: string): PlatformEvent => {
  const event = findEvent(ctx.state(), id);
  if (event === undefined) throw notFound(`event ${id} not found`);
  return event;
};

export const eventRoutes = (ctx: RestContext): RestRoute[] => [
  restRoute("/event/events", {
    POST: async ({ req, res, principal }) => {
      const raw = await readJson(req, "event");
      const body = decodeOr400(EventBody, raw, "event");
      if (ctx.state().managedObjects.get(body.source.id) === undefined)
        throw new RestError(
          422,
          "Unprocessable Entity",
          `source.id: managed object ${body.source.id} not found`,
        );
      checkWrite(ctx, principal, body.source.id, "event");
      const fragments = Object.fromEntries(
        Object.entries(raw as Record<string, unknown>).filter(([k]) => !RESERVED.has(k)),
      );
      const result = ctx.step({
        type: "admin-create-event",
        sourceId: body.source.id,
        eventType: body.type,
        text: body.text,
        ...(body.time === undefined ? {} : { time: body.time }),
        fragments,
      });
      const event = result.objectId === undefined ? undefined : findEvent(ctx.state(), result.objectId);
      if (!result.ok || event === undefined) throw new RestError(422, "Unprocessable Entity", result.detail);
      sendJson(res, 201, eventJson(baseUrl(req), event), {
        location: `${baseUrl(req)}/event/events/${event.id}`,
      });
    },
  }),
  restRoute("/event/events/:id", {
    GET: ({ req, res, params: [id = ""] }) =>
      sendJson(res, 200, eventJson(baseUrl(req), eventOr404(ctx, id))),
  }),
];
