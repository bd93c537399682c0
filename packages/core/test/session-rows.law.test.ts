/**
 * Session outboxes (registration and after-gate rows) go back to the shared empty outbox once
 * their last row was taken, and are the same outbox otherwise: taking packets from them gives
 * the same packets as before.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import {
  admit,
  emptyOutbox,
  sessionRowsLeft,
  takePacket,
  type Outbox,
  type OutboxEntry,
} from "../src/engine/outbox.js";
import { OUTBOX_CLASSES } from "../src/engine/config.js";

const NO_LIMIT = { maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
const fits = (_topic: string, payloadBytes: number) => payloadBytes <= 40;

const entry = (ref: number, cls: OutboxEntry["cls"], topic: string): OutboxEntry => ({
  ref,
  cls,
  topic,
  line: `100,row-${ref}`,
  bytes: `100,row-${ref}`.length,
  template: "100",
});

describe("session rows", () => {
  test.prop([
    fc.array(fc.tuple(fc.constantFrom(...OUTBOX_CLASSES), fc.constantFrom("s/us", "s/us/child")), {
      maxLength: 30,
    }),
  ])("taking every packet ends at the shared empty outbox, with the same packets taken", (rows) => {
    let outbox: Outbox = emptyOutbox();
    rows.forEach(([cls, topic], i) => {
      const admitted = admit(outbox, entry(i + 1, cls, topic), NO_LIMIT);
      if (admitted.ok) outbox = admitted.outbox;
    });
    let plain = outbox;
    let left = outbox;
    for (;;) {
      const a = takePacket(plain, fits);
      const b = takePacket(left, fits);
      expect(b?.entries).toEqual(a?.entries);
      if (a === undefined || b === undefined) break;
      plain = a.outbox;
      left = sessionRowsLeft(b.outbox);
      const queued = OUTBOX_CLASSES.some((cls) => left[cls].queue.size > 0);
      // Shared once nothing is queued; otherwise exactly what takePacket left.
      expect(left === emptyOutbox()).toBe(!queued);
      if (queued) expect(left).toBe(b.outbox);
    }
    expect(left).toBe(emptyOutbox());
  });
});
