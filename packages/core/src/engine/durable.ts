/**
 * What the engine keeps in durable storage, under which keys, in which shape. Storage
 * adapters are dumb key-value stores; the core decodes every record it gets back at
 * `start` (a corrupt record is reported and skipped, never trusted).
 */
import * as t from "io-ts";

/** `outbox/` followed by 0 to 12 zeros. */
const OUTBOX_KEY_HEADS = Array.from({ length: 13 }, (_, zeros) => `outbox/${"0".repeat(zeros)}`);

export const DURABLE = {
  credentials: "credentials",
  inventory: "inventory",
  outboxPrefix: "outbox/",
  journalPrefix: "journal/",
  /** Ids of finished operations (value: `DurableFinishedCodec`), so a redelivery is never run again. */
  finishedPrefix: "finished/",
  /** Zero-padded to 12 digits so lexical key order is numeric order. */
  outboxKey: (ref: number): string => {
    // One concatenation of two constants-or-digits (runs twice per row: written, then deleted).
    const digits = String(ref);
    return digits.length <= 12
      ? (OUTBOX_KEY_HEADS[12 - digits.length] as string) + digits
      : `outbox/${digits}`;
  },
  journalKey: (key: string): string => `journal/${key}`,
  finishedKey: (operationId: string): string => `finished/${operationId}`,
} as const;

export const DurableCredentialsCodec = t.type({ tenant: t.string, user: t.string, password: t.string });

export const DurableInventoryCodec = t.record(t.string, t.string);

const OutboxClassCodec = t.union([
  t.literal("operation-status"),
  t.literal("alarm"),
  t.literal("event"),
  t.literal("inventory"),
  t.literal("measurement"),
]);

export const DurableOutboxEntryCodec = t.intersection([
  t.type({
    ref: t.number,
    cls: OutboxClassCodec,
    topic: t.string,
    line: t.string,
    bytes: t.number,
    template: t.string,
  }),
  t.partial({ tag: t.string, opKey: t.string, uncertain: t.boolean, durableAfter: t.number }),
]);

/** When the terminal status of a finished operation was delivered (engine time). */
export const DurableFinishedCodec = t.type({ atMs: t.number });
