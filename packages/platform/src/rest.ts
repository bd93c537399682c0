/**
 * What the tenant's REST API does to the model for file transfer (the sim's HTTP side serves it;
 * the bytes of binaries stay there, outside the model): device logins checked against the MQTT
 * credentials, who may write for which managed object, events created over REST, the
 * `c8y_IsBinary` fragment of an event with a binary, and ids for objects the sim keeps itself
 * (inventory binaries, repository entries) taken from the model's one counter.
 *
 * Decisions:
 * - A REST login is `<tenant>/<user>` with the password of an enabled user of that tenant, the
 *   same check as an MQTT password login (sessions.ts), bootstrap user excluded.
 * - A device with a certificate (no password) logs in with the JWT it got on `s/dat`
 *   (`Bearer`), checked by its signature and expiry, not against the last one issued.
 * - The device of a login is the device its user was created for (registration/certificate), or
 *   `device_<id>` → `<id>` for provisioned users; it may write for itself and its descendants.
 */
import type {
  AdminCreateEvent,
  AdminReserveId,
  AdminSetEventBinary,
  PlatformEvent,
  PlatformState,
} from "./model.js";
import { byExternalId, isWithin, managedObject } from "./inventory.js";
import { assoc, dissoc, isJsonObject, toJson } from "./json.js";
import { isoFromMs } from "./time.js";
import { emit, newId, type Tx } from "./tx.js";
import { verifyDeviceToken } from "./token.js";

export type RestLogin =
  | { readonly ok: true; readonly username: string; readonly deviceId: string }
  | { readonly ok: false; readonly reason: string };

const DEVICE_USER_PREFIX = "device_";

/** Checks `<tenant>/<user>` + password the way the MQTT password login does. */
export const authenticateRestLogin = (s: PlatformState, login: string, password: string): RestLogin => {
  const slash = login.indexOf("/");
  if (slash < 0) return { ok: false, reason: `login must be <tenant>/<user> (got no "/")` };
  const tenant = login.slice(0, slash);
  const username = login.slice(slash + 1);
  if (tenant !== s.config.tenantId) return { ok: false, reason: "bad username or password" };
  const user = s.users.get(username);
  if (user === undefined || user.password === null || password === "" || user.password !== password)
    return { ok: false, reason: "bad username or password" };
  if (user.disabled) return { ok: false, reason: "user disabled" };
  const deviceId =
    user.deviceId ??
    (username.startsWith(DEVICE_USER_PREFIX) ? username.slice(DEVICE_USER_PREFIX.length) : "");
  return { ok: true, username, deviceId };
};

/**
 * Checks a device's `Authorization: Bearer <jwt>`: a token this tenant issued on `s/dat`, not
 * expired at `nowMs`, of an enabled user; the device is the one the user was created for.
 */
export const authenticateRestToken = (s: PlatformState, token: string, nowMs: number): RestLogin => {
  const check = verifyDeviceToken(s.config, token, nowMs);
  if (!check.ok) return check;
  const user = s.users.get(check.username);
  if (user === undefined) return { ok: false, reason: "token of an unknown user" };
  if (user.disabled) return { ok: false, reason: "user disabled" };
  const deviceId =
    user.deviceId ??
    (check.username.startsWith(DEVICE_USER_PREFIX) ? check.username.slice(DEVICE_USER_PREFIX.length) : "");
  return { ok: true, username: check.username, deviceId };
};

/** Whether the device `deviceExternalId` may create data for managed object `sourceId`. */
export const mayWriteFor = (s: PlatformState, deviceExternalId: string, sourceId: string): boolean => {
  const root = byExternalId(s, deviceExternalId);
  return root !== undefined && managedObject(s, sourceId) !== undefined && isWithin(s, root.id, sourceId);
};

/** The event with `id`, if stored. */
export const findEvent = (s: PlatformState, id: string): PlatformEvent | undefined => {
  for (let at = s.events.length - 1; at >= 0; at--) {
    const event = s.events.get(at);
    if (event?.id === id) return event;
  }
  return undefined;
};

const eventAt = (s: PlatformState, id: string): number => {
  for (let at = s.events.length - 1; at >= 0; at--) if (s.events.get(at)?.id === id) return at;
  return -1;
};

export const adminCreateEvent = (tx: Tx, input: AdminCreateEvent): void => {
  if (managedObject(tx.s, input.sourceId) === undefined) {
    emit(tx, { type: "admin-result", ok: false, detail: `unknown managed object ${input.sourceId}` });
    return;
  }
  const fragments = toJson(input.fragments ?? {});
  const event: PlatformEvent = {
    id: newId(tx),
    sourceId: input.sourceId,
    type: input.eventType,
    time: input.time ?? isoFromMs(tx.now),
    text: input.text,
    fragments: isJsonObject(fragments) ? fragments : {},
    mode: "persistent",
    createdMs: tx.now,
  };
  tx.s = { ...tx.s, events: tx.s.events.push(event) };
  emit(tx, { type: "admin-result", ok: true, detail: `event ${event.id} created`, objectId: event.id });
};

/** Sets (or, with `binary: null`, removes) the event's `c8y_IsBinary` fragment. */
export const adminSetEventBinary = (tx: Tx, input: AdminSetEventBinary): void => {
  const at = eventAt(tx.s, input.eventId);
  const event = tx.s.events.get(at);
  if (at < 0 || event === undefined) {
    emit(tx, { type: "admin-result", ok: false, detail: `unknown event ${input.eventId}` });
    return;
  }
  const fragments =
    input.binary === null
      ? dissoc(event.fragments, "c8y_IsBinary")
      : assoc(event.fragments, "c8y_IsBinary", { ...input.binary });
  tx.s = { ...tx.s, events: tx.s.events.set(at, { ...event, fragments }) };
  emit(tx, {
    type: "admin-result",
    ok: true,
    detail: `event ${event.id} binary updated`,
    objectId: event.id,
  });
};

export const adminReserveId = (tx: Tx, _input: AdminReserveId): void => {
  const id = newId(tx);
  emit(tx, { type: "admin-result", ok: true, detail: `id ${id} reserved`, objectId: id });
};
