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
 *
 * Paging: a class keeps at most `memoryRows` queued rows in memory (the head, the oldest
 * ones). Rows admitted beyond it are persisted as every row is, but only counted here
 * (`stored`, `storedBytes`); they all have refs above `headRef`, the last ref that entered
 * the head. When the head runs low the core asks the interpreter for the next stored rows
 * of the class after `headRef` (`load-outbox`) and appends what comes back (`outbox-loaded`).
 * So the head is always the oldest rows of the class: publishing and drop-oldest work on it
 * as before. Operation statuses and session rows are never paged.
 */
import type { ClassLimits, OutboxClass } from "./config.js";
import { OUTBOX_CLASSES } from "./config.js";
import { emptyQueue, fromArray, pop, popWhile, push, pushFront, type Queue } from "./queue.js";

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
  /** The head: the oldest queued rows, in memory. */
  readonly queue: Queue<OutboxEntry>;
  /** Rows of this class held by the engine: queued (in memory or stored only) plus in flight. */
  readonly count: number;
  readonly bytes: number;
  /** Queued rows held only by the store (beyond the head), and their bytes. */
  readonly stored: number;
  readonly storedBytes: number;
  /** The highest ref that entered the head: stored-only rows all come after it. */
  readonly headRef: number;
  /** A `load-outbox` is out: how many rows were stored-only when it was issued (else null). */
  readonly loading: number | null;
}

export type Outbox = Readonly<Record<OutboxClass, ClassState>>;

/**
 * The one empty class and the one empty outbox, shared by every engine of a process: a session
 * builds two outboxes on each connection and fills one class of each, so fresh copies cost a
 * fleet ten class records per engine. Classes change by copy (`Tx.ownClass` copies before
 * changing in place). Not frozen, on purpose: V8 spreads a frozen object into a slower shape
 * with part of its fields out of line, and every record copied from it after (each outbox and
 * class of every state) would keep that shape: about 30 bytes more per copy and spreads twice
 * as slow. The core never mutates a state (readonly types, pure `step`).
 */
const EMPTY_CLASS: ClassState = {
  queue: emptyQueue<OutboxEntry>(),
  count: 0,
  bytes: 0,
  stored: 0,
  storedBytes: 0,
  headRef: 0,
  loading: null,
};

const EMPTY_OUTBOX: Outbox = {
  "operation-status": EMPTY_CLASS,
  alarm: EMPTY_CLASS,
  event: EMPTY_CLASS,
  inventory: EMPTY_CLASS,
  measurement: EMPTY_CLASS,
};

export const emptyOutbox = (): Outbox => EMPTY_OUTBOX;

/** Adds a queued row to the back of its class: to the head, or stored-only beyond it. */
const append = (c: ClassState, entry: OutboxEntry, memoryRows: number): ClassState =>
  c.stored > 0 || c.queue.size >= memoryRows
    ? {
        ...c,
        count: c.count + 1,
        bytes: c.bytes + entry.bytes,
        stored: c.stored + 1,
        storedBytes: c.storedBytes + entry.bytes,
      }
    : {
        ...c,
        queue: push(c.queue, entry),
        count: c.count + 1,
        bytes: c.bytes + entry.bytes,
        headRef: Math.max(c.headRef, entry.ref),
      };

/** A class state created by the current step (see `Tx.ownClass`): changed in place. */
export type DraftClassState = { -readonly [K in keyof ClassState]: ClassState[K] };

/**
 * The common admission, in place: when `entry` fits its class without a drop, appends it
 * exactly as `admit` would and returns true; otherwise changes nothing (the caller uses `admit`).
 */
export const admitInPlace = (
  c: DraftClassState,
  entry: OutboxEntry,
  limits: ClassLimits,
  memoryRows = Number.POSITIVE_INFINITY,
): boolean => {
  if (entry.bytes > limits.maxBytes || !fits(c, entry, limits)) return false;
  c.count += 1;
  c.bytes += entry.bytes;
  if (c.stored > 0 || c.queue.size >= memoryRows) {
    c.stored += 1;
    c.storedBytes += entry.bytes;
  } else {
    c.queue = push(c.queue, entry);
    c.headRef = Math.max(c.headRef, entry.ref);
  }
  return true;
};

export type Admission =
  | { readonly ok: true; readonly outbox: Outbox; readonly dropped: readonly OutboxEntry[] }
  | { readonly ok: false; readonly reason: string };

const fits = (c: ClassState, entry: OutboxEntry, limits: ClassLimits): boolean =>
  c.count + 1 <= limits.maxMessages && c.bytes + entry.bytes <= limits.maxBytes;

/**
 * Admits `entry`, dropping the oldest queued rows of its class if the class is full. Beyond
 * `memoryRows` queued rows in memory the row is only counted (the caller persists it).
 */
export const admit = (
  outbox: Outbox,
  entry: OutboxEntry,
  limits: ClassLimits,
  memoryRows = Number.POSITIVE_INFINITY,
): Admission => {
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
      return {
        ok: false,
        reason:
          c.stored > 0
            ? `${entry.cls} outbox full while its oldest rows are read back from storage`
            : `${entry.cls} outbox full with every row in flight`,
      };
    dropped.push(oldest[0]);
    c = { ...c, queue: oldest[1], count: c.count - 1, bytes: c.bytes - oldest[0].bytes };
  }
  return { ok: true, outbox: { ...outbox, [entry.cls]: append(c, entry, memoryRows) }, dropped };
};

/** Restores an entry read from durable storage (no limits: it was admitted before the restart). */
export const restore = (outbox: Outbox, entry: OutboxEntry): Outbox => ({
  ...outbox,
  [entry.cls]: append(outbox[entry.cls], entry, Number.POSITIVE_INFINITY),
});

/** Counts rows the store holds beyond the restored head (at start): they come after `headRef`. */
export const restoreStored = (outbox: Outbox, cls: OutboxClass, count: number, bytes: number): Outbox => {
  const c = outbox[cls];
  return {
    ...outbox,
    [cls]: {
      ...c,
      count: c.count + count,
      bytes: c.bytes + bytes,
      stored: c.stored + count,
      storedBytes: c.storedBytes + bytes,
    },
  };
};

/** Queued rows, in memory and stored-only (not in flight). */
export const queuedCount = (outbox: Outbox): number =>
  OUTBOX_CLASSES.reduce((n, k) => n + outbox[k].queue.size + outbox[k].stored, 0);

/**
 * The load a class needs now: its head is at most half full while rows wait in the store
 * and no load is out. `max` fills the head up to `memoryRows`.
 */
export const loadNeeded = (
  c: ClassState,
  memoryRows: number,
): { readonly afterRef: number; readonly max: number } | undefined =>
  c.stored > 0 && c.loading === null && c.queue.size <= memoryRows / 2
    ? { afterRef: c.headRef, max: Math.max(1, memoryRows - c.queue.size) }
    : undefined;

export const markLoading = (outbox: Outbox, cls: OutboxClass): Outbox => ({
  ...outbox,
  [cls]: { ...outbox[cls], loading: outbox[cls].stored },
});

/**
 * Appends rows read back from the store (`outbox-loaded`): those after `headRef`, in ref
 * order. Fewer rows than asked and than were stored-only when the load was issued means
 * the store lost some (their write failed): they are forgotten and returned as `lost`.
 */
export const appendLoaded = (
  outbox: Outbox,
  cls: OutboxClass,
  rows: readonly OutboxEntry[],
  max: number,
): { readonly outbox: Outbox; readonly lost: number } => {
  const before = outbox[cls];
  const expected = before.loading ?? 0;
  // Accumulated in locals: one new class state for the whole load, not one per row.
  let { queue, stored, storedBytes, headRef } = before;
  let taken = 0;
  const sorted = rows.every((e, i) => i === 0 || (rows[i - 1] as OutboxEntry).ref < e.ref)
    ? rows
    : [...rows].sort((a, b) => a.ref - b.ref);
  for (const e of sorted) {
    if (e.ref <= headRef || e.cls !== cls || stored === 0) continue;
    queue = push(queue, e);
    stored -= 1;
    storedBytes -= e.bytes;
    headRef = e.ref;
    taken++;
  }
  let c: ClassState = { ...before, queue, stored, storedBytes, headRef };
  let lost = 0;
  if (taken < max && taken < expected) {
    // Every row stored when the load was issued came back: the missing ones are gone.
    lost = Math.min(expected - taken, c.stored);
    const lostBytes = c.stored === lost ? c.storedBytes : Math.round((c.storedBytes * lost) / c.stored);
    c = {
      ...c,
      count: c.count - lost,
      bytes: c.bytes - lostBytes,
      stored: c.stored - lost,
      storedBytes: c.storedBytes - lostBytes,
    };
  }
  return { outbox: { ...outbox, [cls]: { ...c, loading: null } }, lost };
};

/** A load failed: nothing changes but the class may ask again. */
export const loadFailed = (outbox: Outbox, cls: OutboxClass): Outbox => ({
  ...outbox,
  [cls]: { ...outbox[cls], loading: null },
});

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
    const first = c.queue.front?.head;
    // A class whose oldest row is not ready waits (FIFO), the others go on.
    if (first === undefined || !ready(first)) continue;
    let payloadBytes = -1;
    const { taken, rest } = popWhile(c.queue, (next) => {
      if (payloadBytes < 0) {
        payloadBytes = next.bytes;
        return true;
      }
      if (next.topic !== first.topic || !ready(next)) return false;
      const grown = payloadBytes + 1 + next.bytes;
      if (!fitsPayload(first.topic, grown)) return false;
      payloadBytes = grown;
      return true;
    });
    return { outbox: { ...outbox, [cls]: { ...c, queue: rest } }, entries: taken };
  }
  return undefined;
};

/**
 * What is left of a session outbox (registration or after-gate rows) after a packet was taken:
 * the shared empty outbox once no class queues a row. Session rows are only ever taken from it
 * (never released, paged or counted against a limit: they live and die with the session), so
 * the counts and `headRef` of its drained classes are never read again, and a fleet's idle
 * engines need not hold two outboxes and classes each.
 */
export const sessionRowsLeft = (outbox: Outbox): Outbox =>
  OUTBOX_CLASSES.every((cls) => outbox[cls].queue.size === 0) ? EMPTY_OUTBOX : outbox;

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
    [cls]: { ...c, queue: fromArray(kept), count: c.count - removed.length, bytes: c.bytes - bytes },
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
    // A class left holding nothing (none queued, stored or in flight) is the shared empty one:
    // its `headRef` no longer matters, as the next row enters the head with a larger ref.
    const emptied = c.count === n && c.queue.size === 0 && c.stored === 0 && c.loading === null;
    out = {
      ...out,
      [cls]: emptied ? EMPTY_CLASS : { ...c, count: c.count - n, bytes: c.bytes - (bytes[cls] ?? 0) },
    };
  }
  return OUTBOX_CLASSES.every((cls) => out[cls] === EMPTY_CLASS) ? EMPTY_OUTBOX : out;
};

/** Id-less status rows (501/502/503) may be re-applied to the wrong operation: mark them. */
export const markUncertain = (e: OutboxEntry): OutboxEntry =>
  e.opKey !== undefined && /^50[123]$/.test(e.template) ? { ...e, uncertain: true } : e;
