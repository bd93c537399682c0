/**
 * The laws every step must keep, written once for every checker: the property tests, the
 * simulated world and (through its `checkInvariants` hook) the real driver.
 *
 * `checkStep(before, event, after, commands)` is pure and judges one step alone.
 * The SUBACK gate needs memory across steps (what each connection asked for and was granted),
 * so `createInvariantChecker()` wraps `checkStep` with a small gate tracker fed by the
 * `subscribe` commands and `subscribed` events it sees.
 */
import { OUTBOX_CLASSES } from "./config.js";
import type { Command } from "./commands.js";
import type { Event } from "./events.js";
import type { EngineState } from "./state.js";
import { heldCount } from "./outbox.js";
import { openEntries } from "./journal.js";
import { MAX_PUBLISH_BYTES, publishPacketBytes } from "../smartrest/size.js";
import { utf8ByteLength } from "../smartrest/text.js";
import {
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_OPERATION_NOTIFICATIONS,
  TOPIC_STATIC_DOWN,
} from "../smartrest/topics.js";

export type InvariantName =
  /** No publish packet exceeds the platform's 16,184-byte limit. */
  | "size-law"
  /** No data row before every subscription of the connection was granted (100/101 may go). */
  | "suback-gate"
  /** No more QoS 1 publishes awaiting PUBACK than `inflightWindow`. */
  | "inflight-window"
  /** No outbox class over its `maxMessages` / `maxBytes`. */
  | "class-bounds"
  /** Per class: count ≥ queued, count and bytes not negative. */
  | "outbox-accounting"
  /** admitted = delivered + dropped + held. */
  | "conservation"
  /** The drops by reason add up to the drops. */
  | "drops-by-reason"
  /** At most one handed-out operation per (device, fragment). */
  | "one-running-operation"
  /** A reconnect waits within the backoff bounds, or the configuration-error delay ±25%. */
  | "reconnect-delay"
  /** `state.timers` is exactly what the step's timer commands (and the fired timer) leave. */
  | "timers-in-sync"
  /** Counters never go down within one life. */
  | "counters-monotone";

export interface InvariantViolation {
  readonly invariant: InvariantName;
  readonly explanation: string;
}

type Publish = Extract<Command, { type: "publish" }>;

/** Upstream data topics (`s/us`, `s/uc/<xid>`, and their transient/quiescent/CEP variants). */
const isUpstreamData = (topic: string): boolean => /^[stqc]\/u[sc](\/|$)/.test(topic);

/** 100 (device) and 101 (child) rows may be published before the SUBACK gate opens. */
export const isRegistrationOnly = (payload: string): boolean =>
  payload.split("\n").every((l) => l.startsWith("100,") || l.startsWith("101,"));

const checkPublishSize = (c: Publish): InvariantViolation | undefined => {
  const bytes = publishPacketBytes(c.topic, utf8ByteLength(c.payload), c.qos);
  if (bytes <= MAX_PUBLISH_BYTES) return undefined;
  return {
    invariant: "size-law",
    explanation: `publish of ${bytes} bytes on ${c.topic} exceeds ${MAX_PUBLISH_BYTES}: ${c.payload.slice(0, 80)}`,
  };
};

const checkOutbox = (after: EngineState): InvariantViolation[] => {
  const out: InvariantViolation[] = [];
  for (const k of OUTBOX_CLASSES) {
    const c = after.outbox[k];
    const limit = after.config.outbox[k];
    if (c.count > limit.maxMessages || c.bytes > limit.maxBytes) {
      out.push({
        invariant: "class-bounds",
        explanation: `${k} outbox holds ${c.count} rows / ${c.bytes} bytes, limit ${limit.maxMessages} / ${limit.maxBytes}`,
      });
    }
    if (c.count < c.queue.size || c.count < 0 || c.bytes < 0) {
      out.push({
        invariant: "outbox-accounting",
        explanation: `${k} outbox counts ${c.count} rows / ${c.bytes} bytes with ${c.queue.size} queued`,
      });
    }
  }
  const { admitted, delivered, dropped, droppedByReason } = after.counters;
  const held = heldCount(after.outbox);
  if (admitted !== delivered + dropped + held) {
    out.push({
      invariant: "conservation",
      explanation: `admitted ${admitted} != delivered ${delivered} + dropped ${dropped} + held ${held}`,
    });
  }
  const byReason = Object.values(droppedByReason).reduce((a, b) => a + b, 0);
  if (byReason !== dropped) {
    out.push({
      invariant: "drops-by-reason",
      explanation: `drops by reason add up to ${byReason}, not ${dropped}`,
    });
  }
  return out;
};

const checkOperations = (after: EngineState): InvariantViolation[] => {
  const out: InvariantViolation[] = [];
  const running = new Set<string>();
  for (const e of openEntries(after.journal)) {
    if (e.stage !== "executing" || !e.handedOut) continue;
    const k = `${e.deviceId}/${e.fragment}`;
    if (running.has(k)) {
      out.push({ invariant: "one-running-operation", explanation: `two operations of ${k} running at once` });
    }
    running.add(k);
  }
  return out;
};

const checkTimers = (
  before: EngineState,
  event: Event,
  after: EngineState,
  commands: readonly Command[],
): InvariantViolation[] => {
  const out: InvariantViolation[] = [];
  const expected: Record<string, number> = { ...before.timers };
  // A due fire removes its own deadline without a command (a stopped engine ignores it).
  if (event.type === "timer-fired" && before.phase.name !== "stopped") {
    const due = expected[event.key];
    if (Object.hasOwn(expected, event.key) && due !== undefined && due <= event.nowMs)
      delete expected[event.key];
  }
  const { floorMs, capMs, configErrorDelayMs } = after.config.backoff;
  for (const c of commands) {
    if (c.type === "timer-set") {
      expected[c.key] = c.atMs;
      if (c.key !== "reconnect") continue;
      const delay = c.atMs - event.nowMs;
      // Backoff within [floor, cap]; configuration errors back off to configErrorDelayMs.
      const upper = Math.max(capMs, configErrorDelayMs);
      if (!(delay >= floorMs && delay <= upper)) {
        out.push({
          invariant: "reconnect-delay",
          explanation: `reconnect delay ${delay} ms outside [${floorMs}, ${upper}]`,
        });
      }
    } else if (c.type === "timer-cancel") delete expected[c.key];
  }
  const sorted = (r: Readonly<Record<string, number | undefined>>) =>
    JSON.stringify(Object.entries(r).sort());
  if (sorted(expected) !== sorted(after.timers)) {
    out.push({
      invariant: "timers-in-sync",
      explanation: `commands leave timers ${sorted(expected)}, state has ${sorted(after.timers)}`,
    });
  }
  return out;
};

const MONOTONE = ["accepted", "rejected", "admitted", "delivered", "dropped", "connects"] as const;

const checkCounters = (before: EngineState, after: EngineState): InvariantViolation[] =>
  MONOTONE.filter((k) => after.counters[k] < before.counters[k]).map((k) => ({
    invariant: "counters-monotone",
    explanation: `counter ${k} went down from ${before.counters[k]} to ${after.counters[k]}`,
  }));

/**
 * Every law one step can be judged by alone (all but the SUBACK gate, which needs the
 * connection's history: see `createInvariantChecker`). Empty when the step keeps them all.
 */
export const checkStep = (
  before: EngineState,
  event: Event,
  after: EngineState,
  commands: readonly Command[],
): InvariantViolation[] => {
  const out: InvariantViolation[] = [];
  for (const c of commands) {
    if (c.type !== "publish") continue;
    const tooLarge = checkPublishSize(c);
    if (tooLarge !== undefined) out.push(tooLarge);
  }
  const inflight = after.session.inflight.count;
  if (inflight > after.config.inflightWindow) {
    out.push({
      invariant: "inflight-window",
      explanation: `${inflight} publishes in flight, window ${after.config.inflightWindow}`,
    });
  }
  out.push(...checkOutbox(after), ...checkOperations(after));
  out.push(...checkTimers(before, event, after, commands), ...checkCounters(before, after));
  return out;
};

/** Per connection: the topics a device session asked for, and those the broker granted. */
export interface GateTracker {
  /** Feed every event before judging the commands of its step. */
  noteEvent(event: Event): void;
  /** Feed every command, in order; publishes are judged against the gate at that point. */
  noteCommand(command: Command): InvariantViolation | undefined;
  isOpen(connectionId: number): boolean;
}

export const createGateTracker = (): GateTracker => {
  const requested = new Map<number, Set<string>>();
  const granted = new Map<number, Set<string>>();
  const asked = new Map<string, readonly string[]>();
  const isOpen = (connectionId: number): boolean => {
    const req = requested.get(connectionId);
    const ok = granted.get(connectionId);
    return req !== undefined && req.size > 0 && ok !== undefined && [...req].every((t) => ok.has(t));
  };
  return {
    isOpen,
    noteEvent(event) {
      if (event.type !== "subscribed") return;
      const topics = asked.get(`${event.connectionId}:${event.ref}`);
      if (topics === undefined) return; // stale or unknown: the engine ignores it too
      const set = granted.get(event.connectionId) ?? new Set<string>();
      const grantedTopic = (topic: string): boolean => {
        const i = topics.indexOf(topic);
        return i >= 0 && (event.granted[i] ?? 0x80) < 0x80;
      };
      topics.forEach((t, i) => {
        if ((event.granted[i] ?? 0x80) < 0x80) set.add(t);
        // The JSON operations topic refused while s/ds is granted is not retried: the session
        // falls back to s/ds (lifecycle/session.ts), so the gate no longer waits for it.
        else if (t === TOPIC_OPERATION_NOTIFICATIONS && grantedTopic(TOPIC_STATIC_DOWN))
          requested.get(event.connectionId)?.delete(t);
      });
      granted.set(event.connectionId, set);
    },
    noteCommand(c) {
      if (c.type === "subscribe") {
        const topics = c.topics.map((t) => t.topic);
        asked.set(`${c.connectionId}:${c.ref}`, topics);
        const set = requested.get(c.connectionId) ?? new Set<string>();
        // The bootstrap session's s/dcr is no part of the device's gate.
        for (const t of topics) if (t !== TOPIC_CREDENTIALS_DOWN) set.add(t);
        requested.set(c.connectionId, set);
        return undefined;
      }
      if (c.type !== "publish" || !isUpstreamData(c.topic) || isRegistrationOnly(c.payload)) return undefined;
      if (isOpen(c.connectionId)) return undefined;
      const req = [...(requested.get(c.connectionId) ?? [])];
      const missing = req.filter((t) => !(granted.get(c.connectionId)?.has(t) ?? false));
      return {
        invariant: "suback-gate",
        explanation:
          `connection ${c.connectionId} published a data row on ${c.topic} before every subscription was granted ` +
          `(not yet granted: ${missing.join(", ") || "nothing requested"}): ${c.payload.slice(0, 80)}`,
      };
    },
  };
};

export interface InvariantChecker {
  /** Judges one step (feed every step of one engine life, in order). */
  check(
    before: EngineState,
    event: Event,
    after: EngineState,
    commands: readonly Command[],
  ): InvariantViolation[];
}

/** `checkStep` plus the SUBACK gate, for one engine life. */
export const createInvariantChecker = (): InvariantChecker => {
  const gate = createGateTracker();
  return {
    check(before, event, after, commands) {
      gate.noteEvent(event);
      const out = checkStep(before, event, after, commands);
      for (const c of commands) {
        const v = gate.noteCommand(c);
        if (v !== undefined) out.push(v);
      }
      return out;
    },
  };
};

/** One line per violation, for an error message. */
export const formatViolations = (violations: readonly InvariantViolation[]): string =>
  violations.map((v) => `${v.invariant}: ${v.explanation}`).join("\n");
