/**
 * The connection and its session: identity and CONNECT, Steps 1–3 on a device session
 * (registration rows and SUBSCRIBE), the SUBACK gate (subscribing until every subscription is
 * granted) and losing the connection. Bodies of the `connect-timeout` and `resubscribe` timers.
 */
import type { EngineConfig } from "../config.js";
import type { Cause } from "../events.js";
import { isConnected, type EngineState, type Phase, type SubscriptionRequest } from "../state.js";
import { admit, emptyOutbox } from "../outbox.js";
import { hasIdlessEntries } from "../journal.js";
import {
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_ERRORS,
  TOPIC_OPERATION_NOTIFICATIONS,
  TOPIC_STATIC_DOWN,
  TOPIC_TOKEN_DOWN,
  customDown,
  staticUp,
  type ChildId,
  type Xid,
} from "../../smartrest/topics.js";
import type { Row } from "../../smartrest/types.js";
import { pollCredentials, requestToken } from "./credentials.js";
import { backoffDelay, scheduleReconnect } from "./backoff.js";
import { afterGateRowsFor, sessionEntry } from "./inventory.js";
import { dropSession, pump } from "./outbox-pump.js";
import { startSettling } from "./settling.js";
import { advanceAll } from "./operations.js";
import { finishStop } from "./stop.js";
import type { Tx } from "./tx.js";

/**
 * The online phase, one record for every engine (it carries nothing of its own): an engine of a
 * fleet is online most of the time, and the phase is never changed in place.
 */
const ONLINE: Phase = { name: "online" };

type Identity =
  | {
      readonly as: "bootstrap";
      readonly clientId: string;
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly as: "device";
      readonly clientId: string;
      readonly username: string | null;
      readonly password: string | null;
    };

const identity = (s: EngineState): Identity => {
  const { auth, deviceId } = s.config;
  const clientId = `d:${deviceId}`;
  switch (auth.mode) {
    case "password":
      return { as: "device", clientId, username: `${auth.tenant}/${auth.user}`, password: auth.password };
    case "certificate":
      return { as: "device", clientId, username: null, password: null };
    case "bootstrap":
      return s.credentials === null
        ? // The bootstrap connection uses the bare serial as ClientId (spec §3.1).
          {
            as: "bootstrap",
            clientId: deviceId,
            username: `${auth.tenant}/${auth.user}`,
            password: auth.password,
          }
        : {
            as: "device",
            clientId,
            username: `${s.credentials.tenant}/${s.credentials.user}`,
            password: s.credentials.password,
          };
  }
};

export const connect = (tx: Tx, reason: string): void => {
  const id = identity(tx.s);
  const connectionId = tx.s.connectionId + 1;
  tx.set({ connectionId });
  tx.count((c) => ({ connects: c.connects + 1 }));
  tx.enter({ name: "connecting", as: id.as }, reason);
  tx.emit({
    type: "connect",
    connectionId,
    clientId: id.clientId,
    username: id.username,
    password: id.password,
    keepAliveSeconds: tx.config.keepAliveSeconds,
    cleanSession: true,
    timeoutMs: tx.config.connectTimeoutMs,
  });
  tx.setTimer("connect-timeout", tx.now + tx.config.connectTimeoutMs);
};

export const onConnected = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name !== "connecting") return;
  tx.cancelTimer("connect-timeout");
  tx.setTimer("stable", tx.now + tx.config.backoff.stableMs);
  if (phase.as === "bootstrap") {
    const ref = tx.ref();
    tx.enter({ name: "bootstrapping", subscribeRef: ref, subscribed: false }, "connected as bootstrap user");
    tx.emit({
      type: "subscribe",
      connectionId: tx.s.connectionId,
      ref,
      topics: [{ topic: TOPIC_CREDENTIALS_DOWN, qos: 0 }],
    });
    return;
  }
  tx.set({ credentialRejects: 0 });
  startSession(tx);
};

/** Steps 1–3 on a fresh device session. */
const startSession = (tx: Tx): void => {
  const { config } = tx;
  let rows = emptyOutbox();
  const add = (topic: string, row: Row) => {
    const entry = sessionEntry(tx, topic, row);
    const admitted = admit(rows, entry, {
      maxMessages: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (admitted.ok) rows = admitted.outbox;
  };
  add(staticUp("persistent"), ["100", config.deviceName, config.deviceType]);
  for (const child of config.children) {
    const topic =
      child.parent === undefined ? staticUp("persistent") : staticUp("persistent", child.parent as ChildId);
    add(topic, ["101", child.id, child.name, child.type]);
  }
  const ref = tx.ref();
  const topics = subscriptions(config);
  tx.setSession({
    registrationRows: rows,
    afterGateRows: afterGateRowsFor(tx),
    operationsById: config.operations === "by-id",
  });
  tx.enter({ name: "subscribing", subscribeRef: ref, pending: topics }, "connected with device identity");
  tx.emit({ type: "subscribe", connectionId: tx.s.connectionId, ref, topics: [...topics] });
  pump(tx);
};

const subscriptions = (config: EngineConfig): SubscriptionRequest[] => [
  { topic: TOPIC_STATIC_DOWN, qos: 1 },
  ...(config.operations === "by-id" ? [{ topic: TOPIC_OPERATION_NOTIFICATIONS, qos: 1 as const }] : []),
  ...(config.subscribeErrors ? [{ topic: TOPIC_ERRORS, qos: 0 as const }] : []),
  ...config.customTemplates.map((xid) => ({ topic: customDown(xid as Xid), qos: 1 as const })),
  ...(config.auth.mode === "certificate" ? [{ topic: TOPIC_TOKEN_DOWN, qos: 0 as const }] : []),
];

/**
 * Settling (lifecycle/settling.ts) orders id-less operations and resolves id-less statuses.
 * A by-id session with no id-less operation in the journal has nothing to settle.
 */
const needsSettling = (tx: Tx): boolean => !tx.s.session.operationsById || hasIdlessEntries(tx.s.journal);

export const onConnectionEnded = (tx: Tx, cause: Cause): void => {
  const phase = tx.s.phase;
  if (phase.name === "idle" || phase.name === "waiting") return;
  const wasConnected = isConnected(phase);
  tx.cancelTimer("connect-timeout");
  tx.cancelTimer("stable");
  tx.cancelTimer("bootstrap-poll");
  tx.cancelTimer("resubscribe");
  tx.cancelTimer("token-refresh");
  dropSession(tx);
  if (wasConnected) tx.count((c) => ({ connectionLosses: c.connectionLosses + 1 }));
  if (phase.name === "stopping") {
    finishStop(tx, "connection lost while stopping");
    return;
  }
  if (phase.name === "storing-credentials") {
    // The credentials are already on their way to storage; reconnect once they are durable.
    return;
  }
  scheduleReconnect(tx, cause, phase.name === "connecting" ? phase.as : "device");
};

export const onSubscribed = (tx: Tx, ref: number, granted: readonly number[]): void => {
  const phase = tx.s.phase;
  if (phase.name === "bootstrapping" && ref === phase.subscribeRef) {
    if (granted[0] === undefined || granted[0] >= 0x80) {
      tx.report({ kind: "subscription-refused", topics: [TOPIC_CREDENTIALS_DOWN], retryInMs: 0 });
      tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
      onConnectionEnded(tx, { kind: "network", message: `SUBSCRIBE ${TOPIC_CREDENTIALS_DOWN} refused` });
      return;
    }
    tx.enter({ ...phase, subscribed: true }, "subscribed to s/dcr");
    pollCredentials(tx);
    return;
  }
  if (phase.name !== "subscribing" || ref !== phase.subscribeRef) return;
  const denied = phase.pending.filter((_, i) => {
    const qos = granted[i];
    return qos === undefined || qos >= 0x80;
  });
  // Only a refusal of the JSON topic while `s/ds` is granted says "no JSON via MQTT here"; when
  // everything is refused (e.g. the device does not exist yet, spec §2.5) all is asked again.
  const noJson =
    denied.some((r) => r.topic === TOPIC_OPERATION_NOTIFICATIONS) &&
    !denied.some((r) => r.topic === TOPIC_STATIC_DOWN) &&
    phase.pending.some((r) => r.topic === TOPIC_STATIC_DOWN);
  if (noJson) {
    // No JSON via MQTT on this platform: id-less operations (s/ds, 501–503) for this session.
    tx.setSession({ operationsById: false });
    tx.report({
      kind: "operations-mode",
      mode: "static",
      reason: `the platform refused the ${TOPIC_OPERATION_NOTIFICATIONS} subscription: operations without ids (s/ds) for this session`,
    });
  }
  const refused = noJson ? denied.filter((r) => r.topic !== TOPIC_OPERATION_NOTIFICATIONS) : denied;
  if (refused.length === 0) {
    tx.cancelTimer("resubscribe");
    tx.enter(ONLINE, "every subscription granted");
    // A session that reached online ends the outage: the next one starts again at the floor.
    tx.set({ backoffAttempt: 0 });
    if (needsSettling(tx)) startSettling(tx);
    else advanceAll(tx); // operations known by id start as soon as the gate is open
    if (tx.config.auth.mode === "certificate") requestToken(tx);
    pump(tx);
    return;
  }
  const delay = backoffDelay(tx);
  tx.report({ kind: "subscription-refused", topics: refused.map((r) => r.topic), retryInMs: delay });
  tx.enter({ name: "subscribing", subscribeRef: -1, pending: refused }, "subscription refused");
  tx.setTimer("resubscribe", tx.now + delay);
};

/** The `connect-timeout` timer: no CONNACK in time, so the attempt counts as failed. */
export const onConnectTimeout = (tx: Tx): void => {
  if (tx.s.phase.name !== "connecting") return;
  tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
  onConnectionEnded(tx, {
    kind: "network",
    message: `no CONNACK within ${tx.config.connectTimeoutMs} ms`,
  });
};

/** The `resubscribe` timer: asks again for the topics the broker refused. */
export const onResubscribeTimer = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name !== "subscribing" || phase.subscribeRef !== -1) return;
  const ref = tx.ref();
  tx.enter({ ...phase, subscribeRef: ref }, "retrying refused subscriptions");
  tx.emit({ type: "subscribe", connectionId: tx.s.connectionId, ref, topics: [...phase.pending] });
};
