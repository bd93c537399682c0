/**
 * The outbox: accepted upstream rows waiting for (or in) a QoS 1 publish.
 *
 * One FIFO per priority class (operation status > alarms > events > inventory >
 * measurements). Publishing takes from the highest non-empty class; within a class the
 * order is arrival order. Each class is bounded by count and bytes, counting both queued
 * and in-flight rows. Drop policy when a class is full: the oldest *queued* row of that
 * class is dropped (measurements first in practice, as their class is the one that
 * fills); operation status is never dropped: a new status that does not fit is refused.
 * Every drop and refusal is reported and counted by the caller.
 */
import type { ClassLimits, OutboxClass } from "./config.js";
import { OUTBOX_CLASSES } from "./config.js";
import { emptyQueue, fromArray, pop, push, pushFront, type Queue } from "./queue.js";

export interface OutboxEntry {
  readonly ref: number;
  readonly cls: OutboxClass;
  readonly topic: string;
  /** The serialized CSV row (no newline). */
  readonly line: string;
  /** UTF-8 bytes of `line`. */
  readonly bytes: number;
  /** Template id (first field), for `s/e` correlation. */
  readonly template: string;
  readonly tag?: string;
  /** Journal key when this row is the terminal status of an operation. */
  readonly opKey?: string;
  /** An id-less status that may already have been applied (in flight at a connection loss or crash). */
  readonly uncertain?: boolean;
  /** Ref of the persist that makes this row durable; it is not published before (statuses only). */
  readonly durableAfter?: number;
}

export interface ClassState {
  readonly queue: Queue<OutboxEntry>;
  /** Rows of this class held by the engine: queued plus in flight. */
  readonly count: number;
  readonly bytes: number;
}

export type Outbox = Readonly<Record<OutboxClass, ClassState>>;

export const emptyOutbox = (): Outbox => ({
  "operation-status": { queue: emptyQueue(), count: 0, bytes: 0 },
  alarm: { queue: emptyQueue(), count: 0, bytes: 0 },
  event: { queue: emptyQueue(), count: 0, bytes: 0 },
  inventory: { queue: emptyQueue(), count: 0, bytes: 0 },
  measurement: { queue: emptyQueue(), count: 0, bytes: 0 },
});

export type Admission =
  | { readonly ok: true; readonly outbox: Outbox; readonly dropped: readonly OutboxEntry[] }
  | { readonly ok: false; readonly reason: string };

const fits = (c: ClassState, entry: OutboxEntry, limits: ClassLimits): boolean =>
  c.count + 1 <= limits.maxMessages && c.bytes + entry.bytes <= limits.maxBytes;

/** Admits `entry`, dropping the oldest queued rows of its class if the class is full. */
export const admit = (outbox: Outbox, entry: OutboxEntry, limits: ClassLimits): Admission => {
  if (entry.bytes > limits.maxBytes) {
    return {
      ok: false,
      reason: `row of ${entry.bytes} bytes exceeds the ${entry.cls} budget of ${limits.maxBytes}`,
    };
  }
  let c = outbox[entry.cls];
  const dropped: OutboxEntry[] = [];
  while (!fits(c, entry, limits)) {
    if (entry.cls === "operation-status") {
      return { ok: false, reason: "operation-status outbox full (statuses are never dropped)" };
    }
    const oldest = pop(c.queue);
    if (oldest === undefined)
      return { ok: false, reason: `${entry.cls} outbox full with every row in flight` };
    dropped.push(oldest[0]);
    c = { queue: oldest[1], count: c.count - 1, bytes: c.bytes - oldest[0].bytes };
  }
  c = { queue: push(c.queue, entry), count: c.count + 1, bytes: c.bytes + entry.bytes };
  return { ok: true, outbox: { ...outbox, [entry.cls]: c }, dropped };
};

/** Restores an entry read from durable storage (no limits: it was admitted before the restart). */
export const restore = (outbox: Outbox, entry: OutboxEntry): Outbox => {
  const c = outbox[entry.cls];
  return {
    ...outbox,
    [entry.cls]: { queue: push(c.queue, entry), count: c.count + 1, bytes: c.bytes + entry.bytes },
  };
};

export const queuedCount = (outbox: Outbox): number =>
  OUTBOX_CLASSES.reduce((n, k) => n + outbox[k].queue.size, 0);

export const heldCount = (outbox: Outbox): number => OUTBOX_CLASSES.reduce((n, k) => n + outbox[k].count, 0);

/**
 * Takes the next packet: rows from the front of the highest-priority non-empty class that
 * share the first row's topic, as many as `fitsPayload(topic, bytes)` allows (always at
 * least one: every admitted row fits a publish on its own). The rows stay counted.
 */
export const takePacket = (
  outbox: Outbox,
  fitsPayload: (topic: string, payloadBytes: number) => boolean,
  skip?: OutboxClass,
  ready: (e: OutboxEntry) => boolean = () => true,
): { readonly outbox: Outbox; readonly entries: readonly OutboxEntry[] } | undefined => {
  for (const cls of OUTBOX_CLASSES) {
    if (cls === skip) continue;
    const c = outbox[cls];
    const first = pop(c.queue);
    // A class whose oldest row is not ready waits (FIFO), the others go on.
    if (first === undefined || !ready(first[0])) continue;
    const entries: OutboxEntry[] = [first[0]];
    let queue = first[1];
    let payloadBytes = first[0].bytes;
    for (;;) {
      const next = pop(queue);
      if (next === undefined || next[0].topic !== first[0].topic || !ready(next[0])) break;
      const grown = payloadBytes + 1 + next[0].bytes;
      if (!fitsPayload(first[0].topic, grown)) break;
      entries.push(next[0]);
      payloadBytes = grown;
      queue = next[1];
    }
    return { outbox: { ...outbox, [cls]: { ...c, queue } }, entries };
  }
  return undefined;
};

/** Puts in-flight rows back at the front of their classes, oldest (lowest ref) first. */
export const requeue = (outbox: Outbox, entries: readonly OutboxEntry[]): Outbox => {
  const sorted = [...entries].sort((a, b) => b.ref - a.ref);
  let out = outbox;
  for (const e of sorted) {
    const c = out[e.cls];
    out = { ...out, [e.cls]: { ...c, queue: pushFront(c.queue, e) } };
  }
  return out;
};

/**
 * Replaces the queued rows of one class with `kept` and forgets `removed` (rows the caller
 * knows were delivered). O(n) in that class: for rare reorganisations only.
 */
export const replaceQueued = (
  outbox: Outbox,
  cls: OutboxClass,
  kept: readonly OutboxEntry[],
  removed: readonly OutboxEntry[],
): Outbox => {
  const c = outbox[cls];
  const bytes = removed.reduce((n, e) => n + e.bytes, 0);
  return {
    ...outbox,
    [cls]: { queue: fromArray(kept), count: c.count - removed.length, bytes: c.bytes - bytes },
  };
};

/** Forgets rows that were acknowledged (one copy per class touched, not per row: a packet holds hundreds). */
export const release = (outbox: Outbox, entries: readonly OutboxEntry[]): Outbox => {
  const count: Partial<Record<OutboxClass, number>> = {};
  const bytes: Partial<Record<OutboxClass, number>> = {};
  for (const e of entries) {
    count[e.cls] = (count[e.cls] ?? 0) + 1;
    bytes[e.cls] = (bytes[e.cls] ?? 0) + e.bytes;
  }
  let out = outbox;
  for (const cls of OUTBOX_CLASSES) {
    const n = count[cls];
    if (n === undefined) continue;
    const c = out[cls];
    out = { ...out, [cls]: { ...c, count: c.count - n, bytes: c.bytes - (bytes[cls] ?? 0) } };
  }
  return out;
};

/** Id-less status rows (501/502/503) may be re-applied to the wrong operation: mark them. */
export const markUncertain = (e: OutboxEntry): OutboxEntry =>
  e.opKey !== undefined && /^50[123]$/.test(e.template) ? { ...e, uncertain: true } : e;
