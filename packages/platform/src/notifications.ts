/**
 * Operations as JSON on `devicecontrol/notifications` (spec §2.7, §7.2).
 *
 * Decisions:
 * - Shape: the operation's fragments, then `id`, `deviceId` (internal id of the target),
 *   `agentId`, `status`, `creationTime`, `description` on top (a fragment cannot hide them). An
 *   operation whose target is not its agent (a child device or service) carries
 *   `externalSource: { externalId, type: "c8y_Serial" }` naming the target; an operation for the
 *   agent itself has none. The `delivery` fragment of the real platform is not rendered; the
 *   number of deliveries is kept on the operation (`notifications`).
 * - Who gets it: the live session of the operation's agent (the same rule as `s/ds`), and only
 *   when that session subscribed this topic.
 * - When: on creation; on every `500` from the agent while it is PENDING (re-push, field report
 *   TE #3403: same id again); and right after the agent subscribes this topic, every PENDING
 *   operation of that agent not yet forwarded (`notifications === 0`; a delivery on `s/ds`
 *   does not count, so a device that adds this subscription later still learns the ids),
 *   oldest first. An operation already published once is not published again by a later
 *   subscription — only by `500` — so without `500` each operation is notified at most once.
 * - Both channels: a session subscribed to `s/ds` and this topic receives each operation on
 *   both (the static line when a template fits, and this JSON with its id), exactly as the real
 *   platform does (TE #1718); recognising the pair is the device's job (the JSON carries the
 *   id, the static line does not).
 */
import { assoc, type JsonObject, lookup } from "./json.js";
import type { Session, StoredOperation } from "./model.js";
import { isoFromMs } from "./time.js";
import { emit, type Tx } from "./tx.js";

export const TOPIC_OPERATION_NOTIFICATIONS = "devicecontrol/notifications";

/** The JSON document of `op` as published on `devicecontrol/notifications`. */
export const operationNotification = (op: StoredOperation): JsonObject => {
  const head: JsonObject = {
    id: op.id,
    deviceId: op.deviceId,
    agentId: op.agentId,
    status: op.status,
    creationTime: isoFromMs(op.creationMs),
    description: op.description,
    ...(op.deviceId === op.agentId
      ? {}
      : { externalSource: { externalId: op.externalId, type: "c8y_Serial" } }),
  };
  return Object.keys(head).reduce<JsonObject>(
    (acc, k) => assoc(acc, k, lookup(head, k) ?? null),
    op.fragments,
  );
};

const replaceOperation = (tx: Tx, op: StoredOperation): void => {
  tx.s = { ...tx.s, operations: tx.s.operations.map((o) => (o.id === op.id ? op : o)) };
};

/**
 * Publishes `op` to `session` if it subscribed the topic, and counts the delivery. Returns
 * whether it was published.
 */
export const notifyOperation = (tx: Tx, session: Session, op: StoredOperation): boolean => {
  const qos = lookup(session.subscriptions, TOPIC_OPERATION_NOTIFICATIONS);
  if (qos === undefined) return false;
  emit(tx, {
    type: "deliver",
    clientKey: session.clientKey,
    topic: TOPIC_OPERATION_NOTIFICATIONS,
    payload: JSON.stringify(operationNotification(op)),
    qos,
  });
  const current = tx.s.operations.find((o) => o.id === op.id) ?? op;
  replaceOperation(tx, { ...current, notifications: current.notifications + 1 });
  return true;
};

/**
 * After a granted subscription: every PENDING, not yet forwarded operation whose agent is the
 * session's device (the session `pushOperation` would deliver it to), oldest first.
 */
export const notifyNotForwarded = (tx: Tx, session: Session): void => {
  const agentId = tx.s.identities.get(session.deviceId);
  if (agentId === undefined) return;
  const waiting = tx.s.operations.filter(
    (o) => o.agentId === agentId && o.status === "PENDING" && o.notifications === 0,
  );
  for (const op of waiting) notifyOperation(tx, session, op);
};
