/**
 * The in-flight window: QoS 1 publishes waiting for their PUBACK, oldest first.
 *
 * Why a FIFO and not a record keyed by ref: refs grow with each publish and brokers acknowledge
 * in order, so the usual PUBACK is the oldest packet — O(1) here, where copying a record per
 * publish and per PUBACK cost half of the engine's time. An out-of-order PUBACK (allowed by
 * MQTT, rare in practice) is found by a scan of the window and remembered in `ackedAhead`
 * until the packets before it are acknowledged too. The count is kept, never recomputed.
 */
import { emptyQueue, peek, pop, push, toArray, type Queue } from "./queue.js";
import type { OutboxEntry } from "./outbox.js";

/** A QoS 1 publish waiting for its PUBACK. `session` rows are regenerated on the next session. */
export interface InflightPacket {
  readonly ref: number;
  readonly source: "outbox" | "session";
  readonly entries: readonly OutboxEntry[];
}

export interface Inflight {
  /** Packets by ascending ref, including those acknowledged out of order (in `ackedAhead`). */
  readonly queue: Queue<InflightPacket>;
  /** Packets still waiting for their PUBACK. */
  readonly count: number;
  /** Refs acknowledged while an older packet still waits (at most the window). */
  readonly ackedAhead: readonly number[];
}

/** Shared by every fresh session of every engine (frozen: the core never mutates it). */
const EMPTY_INFLIGHT: Inflight = Object.freeze({
  queue: emptyQueue<InflightPacket>(),
  count: 0,
  ackedAhead: Object.freeze([]),
});

export const emptyInflight = (): Inflight => EMPTY_INFLIGHT;

/** Adds a packet; its ref is greater than every ref already in flight. */
export const addInflight = (inflight: Inflight, packet: InflightPacket): Inflight => ({
  queue: push(inflight.queue, packet),
  count: inflight.count + 1,
  ackedAhead: inflight.ackedAhead,
});

/** Removes the packet `ref` (undefined: not in flight, e.g. a duplicate PUBACK). */
export const takeInflight = (
  inflight: Inflight,
  ref: number,
): { readonly inflight: Inflight; readonly packet: InflightPacket } | undefined => {
  const head = peek(inflight.queue);
  if (head === undefined) return undefined;
  if (head.ref === ref) {
    let queue = pop(inflight.queue)?.[1] ?? emptyQueue<InflightPacket>();
    let ahead = inflight.ackedAhead;
    for (let next = peek(queue); next !== undefined && ahead.includes(next.ref); next = peek(queue)) {
      const acked = next.ref;
      ahead = ahead.filter((r) => r !== acked);
      queue = pop(queue)?.[1] ?? emptyQueue<InflightPacket>();
    }
    return { inflight: { queue, count: inflight.count - 1, ackedAhead: ahead }, packet: head };
  }
  if (inflight.ackedAhead.includes(ref)) return undefined;
  const packet = findInflight(inflight, ref);
  if (packet === undefined) return undefined;
  return {
    inflight: { queue: inflight.queue, count: inflight.count - 1, ackedAhead: [...inflight.ackedAhead, ref] },
    packet,
  };
};

/** The packet `ref` if it still waits. Scans newest first: callers ask about the last publish. */
export const findInflight = (inflight: Inflight, ref: number): InflightPacket | undefined => {
  if (inflight.ackedAhead.includes(ref)) return undefined;
  for (let cur = inflight.queue.back; cur !== null; cur = cur.tail) if (cur.head.ref === ref) return cur.head;
  for (let cur = inflight.queue.front; cur !== null; cur = cur.tail)
    if (cur.head.ref === ref) return cur.head;
  return undefined;
};

/** Every packet still waiting, oldest first. O(window): when a session ends. */
export const inflightPackets = (inflight: Inflight): InflightPacket[] =>
  toArray(inflight.queue).filter((p) => !inflight.ackedAhead.includes(p.ref));
