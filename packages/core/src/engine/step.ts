/**
 * The c8ylink lifecycle: one pure, total, deterministic reducer
 * `step(state, event) → { state, commands }`.
 *
 * ## Theory of operation
 *
 * Rules this file obeys:
 * 1. Everything that decides protocol behaviour lives here and in the modules it calls (one
 *    concern each under `lifecycle/`, see docs/architecture.md; outbox, journal, codecs).
 *    Interpreters only execute commands and report results. This file only routes: events
 *    in `handle`, downstream lines in `onMessage`, timer fires in `onTimer`.
 * 2. No clock, no randomness, no I/O: time is `event.nowMs`, randomness is the seeded PRNG
 *    in `state.rng`, effects are commands whose results come back as events.
 * 3. Never throws, never mutates its input; bad input becomes a report and a counter.
 * 4. Every connection has an id. A result carrying another id is stale and ignored, so a
 *    late CONNACK, SUBACK or PUBACK from a dead connection cannot corrupt the live one.
 *
 * Phases (`state.phase.name`) and what moves between them:
 *
 *   idle ──start──► connecting(as bootstrap | device)
 *   connecting ──CONNACK 0──► bootstrapping            (bootstrap user: Step 0)
 *                          └► subscribing              (device credentials or certificate)
 *   connecting ──refused / network / timeout──► waiting ──reconnect timer──► connecting
 *   bootstrapping: subscribe s/dcr, then publish empty s/ucr every bootstrapPollMs (jittered)
 *              ──70 on s/dcr──► storing-credentials ──persisted──► connecting(device)
 *   subscribing: on entry publish 100 (Step 1) and 101 per child, parents first, nested ones
 *              on their parent's topic (Step 2), and SUBSCRIBE s/ds, s/e, s/dc/<X-ID>, s/dat
 *              (Step 3). Refused topics are re-asked with backoff.
 *              ──every SUBACK granted──► online
 *   online: publish changed inventory (114, 117, 110, 122, 118, 119, 143, 150), then 500,
 *              then the outbox (Step A); receive operations (Step B).
 *   any connected phase ──connection lost──► waiting (in-flight rows return to the outbox front)
 *   online ──stop──► stopping ──outbox drained or deadline──► stopped
 *
 * The SUBACK gate: while `subscribing`, only registration rows (100/101) may be published;
 * inventory, 500 and every application row wait for the last SUBACK, so nothing is sent
 * before the device can hear the platform's answer.
 *
 * Backoff: every failed attempt waits min(cap, floor·2^attempt) with equal jitter, never
 * below the floor. The attempt counter resets when a session reaches online (so a short outage
 * after a good session retries at the floor), and after a connection stayed up `stableMs`.
 * CONNACK 3 and 5 are transient; 1, 2 and 4 are configuration errors retried slowly
 * (backing off up to `configErrorDelayMs`, 60 s by default). CONNACK 4 with credentials obtained by bootstrap: after
 * `credentialRejectLimit` consecutive refusals the credentials are discarded (persisted
 * deletion) and the device bootstraps again: a device deleted and re-registered on the
 * platform recovers on its own instead of failing forever.
 *
 * Operations: see journal.ts. A line is journaled and persisted before anything runs;
 * per (device, fragment) one operation runs at a time; 501 is queued atomically with the
 * "executing" stage, the operation is handed out once that is durable, and the terminal
 * 503/502 follows the application's `operation-result`. Unsupported or malformed
 * operations get 501 then 502 with the reason. After a restart, an operation that was
 * executing completes as SUCCESSFUL if it is `c8y_Restart` (the restart was the
 * execution) and FAILED otherwise; an unreadable journal sends `507` (fail all EXECUTING).
 *
 * Priority of conflicting inputs: a `stop` wins over reconnecting; a stale connection's
 * results lose to the live connection; a timer fire whose deadline was moved is ignored.
 */

import * as E from "fp-ts/lib/Either.js";
import type { Event } from "./events.js";
import { initialState, isConnected, TIMER_KEYS, type EngineState, type TimerKey } from "./state.js";
import { release } from "./outbox.js";
import { takeInflight } from "./inflight.js";
import { recentRows } from "./recent.js";
import { DURABLE } from "./durable.js";
import { parseRows } from "../smartrest/csv.js";
import { classifyDownTopic } from "../smartrest/topics.js";
import { decodeErrorLine } from "../smartrest/control.js";
import type { Row } from "../smartrest/types.js";
import { assertNever } from "./assert-never.js";
import { Tx, type StepResult } from "./lifecycle/tx.js";
import { onStart } from "./lifecycle/boot.js";
import {
  connect,
  onConnected,
  onConnectionEnded,
  onConnectTimeout,
  onResubscribeTimer,
  onSubscribed,
} from "./lifecycle/session.js";
import {
  onBootstrapPollTimer,
  onCredentialsLine,
  onTokenLine,
  onTokenRefreshTimer,
} from "./lifecycle/credentials.js";
import { recordInventoryAck } from "./lifecycle/inventory.js";
import { pump } from "./lifecycle/outbox-pump.js";
import { onSubmit, onSubmitBatch } from "./lifecycle/submit.js";
import {
  expireTombstones,
  onOperationLine,
  onOperationResult,
  onStatusDelivered,
  scheduleTombstones,
} from "./lifecycle/operations.js";
import { on500Acknowledged, onSettleTimer, onSighted } from "./lifecycle/settling.js";
import { onErrorForProbes } from "./lifecycle/resync.js";
import { onOperationNotification } from "./lifecycle/by-id.js";
import { onPersisted, onPersistFailed, retryPersist } from "./lifecycle/persistence.js";
import { finishStop, maybeFinishStop, onStop } from "./lifecycle/stop.js";
import { onOutboxLoaded, onOutboxLoadFailed } from "./lifecycle/paging.js";

export type { StepResult } from "./lifecycle/tx.js";
export { inventoryRows } from "./lifecycle/inventory.js";
export { tokenRefreshDelay } from "./lifecycle/credentials.js";
export { customCandidate, staticCandidate } from "./lifecycle/candidates.js";
export { initialState };

/**
 * Advances the engine by one event. Total: any state produced by `step` (or
 * `initialState`) combined with any decoded event yields a state and commands.
 */
export const step = (state: EngineState, event: Event): StepResult => {
  const tx = new Tx(state, event.nowMs);
  if (state.phase.name === "stopped") {
    // A stopped engine only answers late storage results so nothing waits forever.
    return tx.finish();
  }
  handle(tx, event);
  return tx.finish();
};

/** Routes one event; connection-scoped results of another connection are stale and dropped. */
const handle = (tx: Tx, event: Event): void => {
  switch (event.type) {
    case "start":
      return onStart(tx, event.durable, event.outboxStored ?? {});
    case "connected":
      if (event.connectionId === tx.s.connectionId) onConnected(tx);
      return;
    case "connect-failed":
    case "disconnected":
      if (event.connectionId === tx.s.connectionId) onConnectionEnded(tx, event.cause);
      return;
    case "subscribed":
      if (event.connectionId === tx.s.connectionId) onSubscribed(tx, event.ref, event.granted);
      return;
    case "published":
      if (event.connectionId === tx.s.connectionId) onPublished(tx, event.ref);
      return;
    case "message":
      if (event.connectionId === tx.s.connectionId && isConnected(tx.s.phase)) {
        onMessage(tx, event.topic, event.payload);
      }
      return;
    case "timer-fired":
      return onTimer(tx, event.key);
    case "persisted":
      return onPersisted(tx, event.ref);
    case "persist-failed":
      return onPersistFailed(tx, event.ref, event.message);
    case "outbox-loaded":
      return onOutboxLoaded(tx, event.cls, event.max, event.rows);
    case "outbox-load-failed":
      return onOutboxLoadFailed(tx, event.cls, event.message);
    case "submit": {
      const { message, child, mode, tag } = event;
      return onSubmit(tx, { message }, child, mode, tag, undefined);
    }
    case "submit-custom": {
      const { xid, values, child, mode, tag, priority } = event;
      return onSubmit(tx, { xid, values }, child, mode, tag, priority);
    }
    case "submit-batch":
      return onSubmitBatch(tx, event.rows);
    case "operation-result":
      return onOperationResult(tx, event.key, event.outcome);
    case "stop":
      return onStop(tx);
    default:
      return assertNever(event);
  }
};

/** A PUBACK: session rows record inventory (and the 500 starts the settle clock); outbox rows are delivered. */
const onPublished = (tx: Tx, ref: number): void => {
  const taken = takeInflight(tx.s.session.inflight, ref);
  if (taken === undefined) return; // QoS 0 write confirmations and duplicate PUBACKs
  const { packet } = taken;
  tx.setSession({ inflight: taken.inflight });
  if (packet.source === "session") {
    recordInventoryAck(tx, packet.entries);
    if (packet.entries.some((e) => e.template === "500")) on500Acknowledged(tx);
  } else {
    tx.set({ outbox: release(tx.s.outbox, packet.entries) });
    tx.count((c) => ({ delivered: c.delivered + packet.entries.length }));
    for (const e of packet.entries) {
      tx.persist(DURABLE.outboxKey(e.ref), null);
      if (e.opKey !== undefined) onStatusDelivered(tx, e);
    }
    tx.report({ kind: "delivered", refs: packet.entries.map((e) => e.ref) });
  }
  pump(tx);
  maybeFinishStop(tx);
};

/** Routes every row of a downstream message by its topic. */
const onMessage = (tx: Tx, topic: string, payload: string): void => {
  const route = classifyDownTopic(topic);
  if (route.kind === "operations-json") {
    // One JSON document, not CSV rows.
    const seen = onOperationNotification(tx, payload);
    if (seen !== undefined) onSighted(tx, seen);
    return;
  }
  const rows = parseRows(payload);
  if (E.isLeft(rows)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: topic, reason: rows.left.message });
    return;
  }
  for (const row of rows.right) {
    switch (route.kind) {
      case "static":
      case "custom": {
        const seen = onOperationLine(tx, row, route.kind === "custom" ? route.xid : null);
        if (seen !== undefined) onSighted(tx, seen);
        break;
      }
      case "error":
        onErrorLine(tx, row);
        break;
      case "credentials":
        onCredentialsLine(tx, row);
        break;
      case "token":
        onTokenLine(tx, row);
        break;
      case "template-status":
        tx.report({ kind: "downstream", message: { kind: "template-status", row: [...row] } });
        break;
      case "unknown":
        tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
        tx.report({
          kind: "invalid-input",
          source: topic,
          reason: "message on a topic c8ylink did not subscribe",
        });
        break;
      default:
        assertNever(route);
    }
  }
};

const ERROR_CODES_KEPT = 32;

/** An `s/e` line: counted and reported, correlated with recently published rows of its template. */
const onErrorLine = (tx: Tx, row: Row): void => {
  const line = decodeErrorLine(row);
  // Bounded: the first ERROR_CODES_KEPT distinct codes, then "other" (a payload of 10,000
  // distinct codes once took 33 s in one step when every code got its own key).
  const code = String(line.code);
  tx.count((c) => {
    const key =
      code in c.platformErrors || Object.keys(c.platformErrors).length < ERROR_CODES_KEPT ? code : "other";
    return { platformErrors: { ...c.platformErrors, [key]: (c.platformErrors[key] ?? 0) + 1 } };
  });
  onErrorForProbes(tx, line);
  const reference = line.reference ?? null;
  const correlated =
    reference === null
      ? []
      : recentRows(tx.s.recent)
          .filter((r) => r.template === reference)
          .map((r) => r.ref);
  tx.report({
    kind: "platform-error",
    code: line.code,
    errorKind: line.kind,
    reference,
    text: line.text,
    correlated,
  });
};

const isTimerKey = (key: string): key is TimerKey => (TIMER_KEYS as readonly string[]).includes(key);

/** Routes a timer fire (see `TIMERS` in state.ts); stale (moved or cancelled) or duplicate fires are no-ops. */
const onTimer = (tx: Tx, key: string): void => {
  if (!isTimerKey(key)) return;
  const deadline = tx.s.timers[key];
  if (deadline === undefined || deadline > tx.now) return;
  const { [key]: _fired, ...timers } = tx.s.timers;
  tx.set({ timers });
  const phase = tx.s.phase;
  switch (key) {
    case "reconnect":
      if (phase.name === "waiting") connect(tx, "backoff elapsed");
      return;
    case "connect-timeout":
      return onConnectTimeout(tx);
    case "bootstrap-poll":
      return onBootstrapPollTimer(tx);
    case "resubscribe":
      return onResubscribeTimer(tx);
    case "stable":
      tx.set({ backoffAttempt: 0 });
      return;
    case "token-refresh":
      return onTokenRefreshTimer(tx);
    case "persist-retry":
      return retryPersist(tx);
    case "stop-deadline":
      if (phase.name === "stopping") finishStop(tx, "stop deadline reached");
      return;
    case "tombstones":
      expireTombstones(tx);
      scheduleTombstones(tx);
      return;
    case "settle":
      return onSettleTimer(tx);
    default:
      return assertNever(key);
  }
};
