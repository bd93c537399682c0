/**
 * Paging of the outbox: a class holds at most `outboxMemoryRows` queued rows in memory;
 * the rest are only counted and stay in storage. When a head runs low, `refill` asks the
 * interpreter for the next stored rows (`load-outbox`, see refill.ts); `outbox-loaded`
 * appends them.
 */
import * as E from "fp-ts/lib/Either.js";
import type { OutboxClass } from "../config.js";
import { OUTBOX_CLASSES } from "../config.js";
import { DurableOutboxEntryCodec } from "../durable.js";
import { decode, formatProblems } from "../decode.js";
import { appendLoaded, loadFailed, markUncertain, type OutboxEntry } from "../outbox.js";
import { pump } from "./outbox-pump.js";
import type { Tx } from "./tx.js";

const isClass = (cls: string): cls is OutboxClass => (OUTBOX_CLASSES as readonly string[]).includes(cls);

const optional = (value: unknown, type: "string" | "number" | "boolean"): boolean =>
  value === undefined || typeof value === type;

/**
 * The checks of `DurableOutboxEntryCodec`, written out: a load brings thousands of rows and the
 * codec's generic walk cost more than the rest of the step. Rows it refuses go through the
 * codec, which says why.
 */
const isDurableOutboxEntry = (u: unknown): u is OutboxEntry => {
  if (typeof u !== "object" || u === null) return false;
  const r = u as Record<string, unknown>;
  return (
    typeof r["ref"] === "number" &&
    typeof r["cls"] === "string" &&
    isClass(r["cls"]) &&
    typeof r["topic"] === "string" &&
    typeof r["line"] === "string" &&
    typeof r["bytes"] === "number" &&
    typeof r["template"] === "string" &&
    optional(r["tag"], "string") &&
    optional(r["opKey"], "string") &&
    optional(r["uncertain"], "boolean") &&
    optional(r["durableAfter"], "number")
  );
};

const withoutDurableAfter = (e: OutboxEntry): OutboxEntry => {
  const { durableAfter: _durable, ...entry } = e;
  return entry;
};

/** `outbox-loaded`: the rows join the back of the head; missing rows are counted as lost. */
export const onOutboxLoaded = (tx: Tx, cls: string, max: number, rows: readonly unknown[]): void => {
  if (!isClass(cls) || tx.s.outbox[cls].loading === null) {
    tx.report({ kind: "invalid-input", source: "outbox-loaded", reason: `no load of class ${cls} is out` });
    return;
  }
  const entries: OutboxEntry[] = [];
  for (const row of rows) {
    const decoded = isDurableOutboxEntry(row) ? E.right(row) : decode(DurableOutboxEntryCodec, row);
    if (E.isLeft(decoded)) {
      tx.report({ kind: "invalid-input", source: "outbox-loaded", reason: formatProblems(decoded.left) });
      continue;
    }
    // Read back from storage: durable; an id-less status may already have been applied.
    // (A row without `durableAfter` is kept as read: no copy per row of a page.)
    const read = decoded.right;
    const entry = read.durableAfter === undefined ? read : withoutDurableAfter(read);
    entries.push(markUncertain(entry));
  }
  const { outbox, lost } = appendLoaded(tx.s.outbox, cls, entries, max);
  tx.set({ outbox });
  if (lost > 0) {
    const reason = `${cls}-lost-in-storage`;
    tx.count((c) => ({
      dropped: c.dropped + lost,
      droppedByReason: { ...c.droppedByReason, [reason]: (c.droppedByReason[reason] ?? 0) + lost },
    }));
    tx.report({
      kind: "outbox-storage",
      class: cls,
      problem: `${lost} queued rows were not in storage (their write had failed)`,
      lost,
    });
  }
  pump(tx);
};

/** `outbox-load-failed`: reported; the next refill asks again. */
export const onOutboxLoadFailed = (tx: Tx, cls: string, message: string): void => {
  if (!isClass(cls)) return;
  tx.set({ outbox: loadFailed(tx.s.outbox, cls) });
  tx.report({
    kind: "outbox-storage",
    class: cls,
    problem: `reading queued rows failed: ${message}`,
    lost: 0,
  });
};
