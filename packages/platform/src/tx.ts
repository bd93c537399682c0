/**
 * One step's working set: the state being rebuilt (every change replaces the touched objects,
 * the input state is never mutated), the step's clock and the outputs collected so far.
 * The handlers in the other modules are written against this, so they read like
 * "do this, then emit that" without threading `{ state, outputs }` through every call.
 */
import type { Row } from "@c8ylink/core";
import { serializePlatformRow } from "./csv.js";
import { assoc, isJsonObject, lookup } from "./json.js";
import type { ConnectionLogEntry, PlatformOutput, PlatformState, Session } from "./model.js";

export interface Tx {
  s: PlatformState;
  readonly now: number;
  readonly out: PlatformOutput[];
}

export const emit = (tx: Tx, output: PlatformOutput): void => {
  tx.out.push(output);
};

/** Next id from the shared counter. */
export const newId = (tx: Tx): string => {
  const id = String(tx.s.nextId);
  tx.s = { ...tx.s, nextId: tx.s.nextId + 1 };
  return id;
};

export const sessionOf = (s: PlatformState, clientKey: string): Session | undefined =>
  s.sessions.get(clientKey);

/** Live session of a device identifier (the ClientId's device part). */
export const liveSession = (s: PlatformState, deviceId: string): Session | undefined => {
  const key = s.liveSessions.get(deviceId);
  return key === undefined ? undefined : sessionOf(s, key);
};

export const putSession = (tx: Tx, session: Session): void => {
  tx.s = { ...tx.s, sessions: tx.s.sessions.set(session.clientKey, session) };
};

/**
 * Sends one downstream line to `session` on `topic` if it subscribed that topic (exact match:
 * wildcards are refused at subscribe time). Returns whether it was delivered.
 */
export const deliverRow = (tx: Tx, session: Session, topic: string, row: Row): boolean => {
  const qos = lookup(session.subscriptions, topic);
  if (qos === undefined) return false;
  emit(tx, { type: "deliver", clientKey: session.clientKey, topic, payload: serializePlatformRow(row), qos });
  return true;
};

export const logConnection = (tx: Tx, entry: Omit<ConnectionLogEntry, "atMs">): void => {
  tx.s = { ...tx.s, connectionLog: tx.s.connectionLog.push({ atMs: tx.now, ...entry }) };
};

/**
 * The device's `c8y_Connection` goes from CONNECTED to DISCONNECTED when its live session ends
 * (spec §9; availability.ts sets CONNECTED). Written here, where every session ends.
 */
const markDisconnected = (tx: Tx, deviceId: string): void => {
  const id = tx.s.identities.get(deviceId);
  const mo = id === undefined ? undefined : tx.s.managedObjects.get(id);
  const connection = mo === undefined ? undefined : lookup(mo.fragments, "c8y_Connection");
  if (mo === undefined || !isJsonObject(connection) || lookup(connection, "status") !== "CONNECTED") return;
  const fragments = assoc(mo.fragments, "c8y_Connection", { status: "DISCONNECTED" });
  tx.s = {
    ...tx.s,
    managedObjects: tx.s.managedObjects.set(mo.id, { ...mo, fragments, lastUpdatedMs: tx.now }),
  };
};

/** Ends a session: forgets it and, with `notify`, tells the broker to close the connection. */
export const dropSession = (
  tx: Tx,
  clientKey: string,
  reason: string,
  how: { readonly notify: boolean; readonly event: ConnectionLogEntry["event"] },
): void => {
  const session = sessionOf(tx.s, clientKey);
  if (session === undefined) return;
  const live = tx.s.liveSessions.get(session.deviceId) === clientKey;
  tx.s = {
    ...tx.s,
    sessions: tx.s.sessions.delete(clientKey),
    liveSessions: live ? tx.s.liveSessions.delete(session.deviceId) : tx.s.liveSessions,
  };
  if (live) markDisconnected(tx, session.deviceId);
  if (how.notify) emit(tx, { type: "disconnect", clientKey, reason });
  logConnection(tx, { clientKey, clientId: session.clientId, event: how.event, reason });
};
