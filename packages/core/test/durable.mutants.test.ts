/**
 * The durable storage format (engine/durable.ts): the keys are a file format — stores written
 * by an older engine must be read back by a newer one — so they are pinned exactly; outbox keys
 * sort lexically in ref order; each record codec accepts its shape and refuses what is not.
 * Written for the outbox chunk of the engine's mutation run.
 */
import { isLeft, isRight } from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import {
  DURABLE,
  DurableCredentialsCodec,
  DurableFinishedCodec,
  DurableInventoryCodec,
  DurableOutboxEntryCodec,
} from "../src/engine/durable.js";

describe("durable keys", () => {
  it("are the stored format's exact strings", () => {
    expect(DURABLE.credentials).toBe("credentials");
    expect(DURABLE.inventory).toBe("inventory");
    expect(DURABLE.outboxPrefix).toBe("outbox/");
    expect(DURABLE.journalPrefix).toBe("journal/");
    expect(DURABLE.finishedPrefix).toBe("finished/");
    expect(DURABLE.journalKey("op-7")).toBe("journal/op-7");
    expect(DURABLE.finishedKey("4711")).toBe("finished/4711");
  });

  it("outbox keys are the ref zero-padded to 12 digits, longer refs unpadded", () => {
    expect(DURABLE.outboxKey(0)).toBe("outbox/000000000000");
    expect(DURABLE.outboxKey(1)).toBe("outbox/000000000001");
    expect(DURABLE.outboxKey(42)).toBe("outbox/000000000042");
    expect(DURABLE.outboxKey(12_345_678_901)).toBe("outbox/012345678901");
    expect(DURABLE.outboxKey(123_456_789_012)).toBe("outbox/123456789012");
    expect(DURABLE.outboxKey(1_234_567_890_123)).toBe("outbox/1234567890123");
    for (let digits = 1; digits <= 12; digits++) {
      const ref = 10 ** (digits - 1);
      expect(DURABLE.outboxKey(ref)).toBe(`outbox/${String(ref).padStart(12, "0")}`);
      expect(DURABLE.outboxKey(ref)).toHaveLength("outbox/".length + 12);
    }
  });

  test.prop([fc.integer({ min: 0, max: 999_999_999_999 }), fc.integer({ min: 0, max: 999_999_999_999 })])(
    "lexical order of outbox keys is numeric order of refs (up to 12 digits)",
    (a, b) => {
      const [ka, kb] = [DURABLE.outboxKey(a), DURABLE.outboxKey(b)];
      expect(ka.startsWith(DURABLE.outboxPrefix)).toBe(true);
      expect(Number(ka.slice("outbox/".length))).toBe(a);
      expect(Math.sign(ka < kb ? -1 : ka > kb ? 1 : 0)).toBe(Math.sign(a - b));
    },
  );
});

describe("durable record codecs", () => {
  const entry = { ref: 3, cls: "alarm", topic: "s/us", line: "301,x", bytes: 5, template: "301" };

  it("an outbox entry: every class, the optional fields typed, nothing required missing", () => {
    for (const cls of ["operation-status", "alarm", "event", "inventory", "measurement"]) {
      expect(isRight(DurableOutboxEntryCodec.decode({ ...entry, cls })), cls).toBe(true);
    }
    expect(
      isRight(
        DurableOutboxEntryCodec.decode({ ...entry, tag: "t", opKey: "k", uncertain: true, durableAfter: 9 }),
      ),
    ).toBe(true);
    for (const bad of [
      { ...entry, cls: "status" },
      { ...entry, cls: "" },
      { ...entry, ref: "3" },
      { ...entry, topic: 1 },
      { ...entry, line: null },
      { ...entry, bytes: "5" },
      { ...entry, template: 301 },
      { ...entry, tag: 1 },
      { ...entry, opKey: 2 },
      { ...entry, uncertain: "yes" },
      { ...entry, durableAfter: "9" },
    ]) {
      expect(isLeft(DurableOutboxEntryCodec.decode(bad)), JSON.stringify(bad)).toBe(true);
    }
    for (const field of Object.keys(entry)) {
      const { [field]: _, ...missing } = entry as Record<string, unknown>;
      expect(isLeft(DurableOutboxEntryCodec.decode(missing)), `without ${field}`).toBe(true);
    }
  });

  it("credentials, inventory and finished records", () => {
    const creds = { tenant: "t1", user: "u", password: "p" };
    expect(isRight(DurableCredentialsCodec.decode(creds))).toBe(true);
    for (const field of ["tenant", "user", "password"]) {
      expect(isLeft(DurableCredentialsCodec.decode({ ...creds, [field]: 1 })), field).toBe(true);
    }
    expect(isRight(DurableInventoryCodec.decode({ c8y_Hardware: "123", kid: "456" }))).toBe(true);
    expect(isLeft(DurableInventoryCodec.decode({ kid: 456 }))).toBe(true);
    expect(isRight(DurableFinishedCodec.decode({ atMs: 12 }))).toBe(true);
    expect(isLeft(DurableFinishedCodec.decode({ atMs: "12" }))).toBe(true);
    expect(isLeft(DurableFinishedCodec.decode({}))).toBe(true);
  });
});
