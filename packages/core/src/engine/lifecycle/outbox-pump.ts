/**
 * The in-flight window: admitting rows into the outbox, filling the window (registration rows,
 * then after the SUBACK gate the session rows, then the outbox) and handing the in-flight rows
 * back when a session is dropped.
 */
import { DURABLE } from "../durable.js";
import { emptySession, gateOpen } from "../state.js";
import {
  admit,
  admitInPlace,
  markUncertain,
  requeue,
  restore,
  sessionRowsLeft,
  takePacket,
  type OutboxEntry,
} from "../outbox.js";
import { addInflight, inflightPackets } from "../inflight.js";
import { addRecent } from "../recent.js";
import { MAX_PUBLISH_BYTES, publishPacketBytes } from "../../smartrest/size.js";
import { refill } from "./refill.js";
import type { Tx } from "./tx.js";

/** In-flight outbox rows go back to the front of the outbox; session rows are rebuilt next time. */
export const dropSession = (tx: Tx): void => {
  const returned: OutboxEntry[] = [];
  for (const packet of inflightPackets(tx.s.session.inflight)) {
    if (packet.source === "outbox") returned.push(...packet.entries.map(markUncertain));
  }
  tx.cancelTimer("settle");
  tx.set({ outbox: requeue(tx.s.outbox, returned), session: emptySession() });
};

const fitsPayload = (topic: string, payloadBytes: number): boolean =>
  publishPacketBytes(topic, payloadBytes, 1) <= MAX_PUBLISH_BYTES;

/** Fills the in-flight window, then asks for stored rows where a head ran low (paging). */
export const pump = (tx: Tx): void => {
  fill(tx);
  refill(tx);
};

/** Fills the in-flight window: registration rows, then (gate open) session rows, then the outbox. */
const fill = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name !== "subscribing" && !gateOpen(phase)) return;
  while (tx.s.session.inflight.count < tx.config.inflightWindow) {
    const reg = takePacket(tx.s.session.registrationRows, fitsPayload);
    if (reg !== undefined) {
      tx.setSession({ registrationRows: sessionRowsLeft(reg.outbox) });
      publishPacket(tx, "session", reg.entries);
    } else if (!gateOpen(tx.s.phase)) {
      return;
    } else {
      const session = takePacket(tx.s.session.afterGateRows, fitsPayload);
      if (session !== undefined) {
        tx.setSession({ afterGateRows: sessionRowsLeft(session.outbox) });
        publishPacket(tx, "session", session.entries);
      } else {
        const durableUpTo = tx.s.persistedUpTo;
        const data = takePacket(
          tx.s.outbox,
          fitsPayload,
          tx.s.session.settle !== null ? "operation-status" : undefined,
          (e) => e.durableAfter === undefined || e.durableAfter <= durableUpTo,
        );
        if (data === undefined) return;
        tx.set({ outbox: data.outbox });
        publishPacket(tx, "outbox", data.entries);
      }
    }
  }
};

export const publishPacket = (
  tx: Tx,
  source: "outbox" | "session",
  entries: readonly OutboxEntry[],
): void => {
  const first = entries[0];
  if (first === undefined) return;
  const ref = tx.ref();
  const payload = entries.map((e) => e.line).join("\n");
  tx.setSession({ inflight: addInflight(tx.s.session.inflight, { ref, source, entries }) });
  tx.set({ recent: addRecent(tx.s.recent, entries) });
  tx.emit({ type: "publish", connectionId: tx.s.connectionId, ref, topic: first.topic, payload, qos: 1 });
};

/** Admits an entry into the outbox (reporting drops) and persists it. */
export const enqueue = (tx: Tx, entry: OutboxEntry): boolean => {
  if (!admitWithinLimits(tx, entry)) return false;
  tx.persist(DURABLE.outboxKey(entry.ref), entry);
  return true;
};

/**
 * An entry read back from storage at start, held to today's class limits like a new one:
 * a deletion whose write failed before the crash (or a lower limit in the new configuration)
 * must not leave a class over its bound. Statuses are never dropped.
 */
export const restoreEntry = (tx: Tx, entry: OutboxEntry): void => {
  if (entry.cls === "operation-status") {
    tx.set({ outbox: restore(tx.s.outbox, entry) });
    tx.count((c) => ({ admitted: c.admitted + 1 }));
    return;
  }
  if (admitWithinLimits(tx, entry)) return;
  // Larger than today's whole class budget: dropped as an overflow would drop it.
  const reason = `${entry.cls}-overflow`;
  tx.count((c) => ({
    admitted: c.admitted + 1,
    dropped: c.dropped + 1,
    droppedByReason: { ...c.droppedByReason, [reason]: (c.droppedByReason[reason] ?? 0) + 1 },
  }));
  tx.persist(DURABLE.outboxKey(entry.ref), null);
  const why = `${entry.cls} outbox budget smaller than this stored row: dropped`;
  tx.report(
    entry.tag === undefined
      ? { kind: "dropped", ref: entry.ref, class: entry.cls, reason: why }
      : { kind: "dropped", ref: entry.ref, class: entry.cls, reason: why, tag: entry.tag },
  );
};

const admitWithinLimits = (tx: Tx, entry: OutboxEntry): boolean => {
  const memoryRows = entry.cls === "operation-status" ? undefined : tx.config.outboxMemoryRows;
  const limits = tx.config.outbox[entry.cls];
  // Most rows fit without a drop: admitted in place into the step's own copy of the class.
  if (admitInPlace(tx.ownClass(entry.cls), entry, limits, memoryRows)) {
    tx.add("admitted", 1);
    return true;
  }
  // Not admissible in place: the row is larger than the class budget (refused) or the class
  // is full, so `admit` refuses it or drops at least one queued row (never none).
  const admitted = admit(tx.s.outbox, entry, limits, memoryRows);
  if (!admitted.ok) return false;
  tx.set({ outbox: admitted.outbox });
  tx.count((c) => {
    const byReason = { ...c.droppedByReason };
    for (const d of admitted.dropped)
      byReason[`${d.cls}-overflow`] = (byReason[`${d.cls}-overflow`] ?? 0) + 1;
    return {
      admitted: c.admitted + 1,
      dropped: c.dropped + admitted.dropped.length,
      droppedByReason: byReason,
    };
  });
  for (const d of admitted.dropped) {
    tx.persist(DURABLE.outboxKey(d.ref), null);
    const reason = `${d.cls} outbox full: oldest dropped`;
    tx.report(
      d.tag === undefined
        ? { kind: "dropped", ref: d.ref, class: d.cls, reason }
        : { kind: "dropped", ref: d.ref, class: d.cls, reason, tag: d.tag },
    );
  }
  return true;
};
