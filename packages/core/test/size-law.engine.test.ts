/**
 * The 16184-byte size law through the engine's publish path (`step`), checked against an
 * independent MQTT encoder (test/support/mqtt-oracle.ts), never against the core's own
 * `publishPacketBytes`: a bug shared by the engine and its checker would otherwise be invisible.
 * The hidden-in-plain-sight cases: exactly 16184 bytes goes out, 16185 never does.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { encodePublish, publishSize } from "../../../test/support/mqtt-oracle.js";
import { Harness, type Publish } from "./support/harness.js";

const LIMIT = 16_184;

const config = {
  deviceId: "dev9",
  auth: { mode: "password", tenant: "t9", user: "device_dev9", password: "pw" },
  supportedOperations: ["c8y_Command"],
  inflightWindow: 1,
  seed: 3,
  // Operations arrive as s/ds lines here, so the id-less mode (status 501–503).
  operations: "static",
};

/** The bytes the engine's publish command puts on the wire, by the oracle. */
const wireSize = (p: Publish): number => encodePublish(p.topic, p.payload, p.qos, 1).length;

/** An event row `400,<type>,<x…>` whose serialized line is exactly `lineBytes` bytes. */
const eventOfLine = (type: string, lineBytes: number) => {
  const text = "x".repeat(lineBytes - `400,${type},`.length);
  return { type: "submit" as const, message: { template: "400" as const, type, text } };
};

/** Online, with one small row in flight so that later submissions queue and get packed together. */
const onlineWithWindowFull = (): Harness => {
  const h = new Harness(config);
  h.bringOnline();
  h.send({ type: "submit", message: { template: "400", type: "first", text: "in flight" } });
  expect(h.inflight).toHaveLength(1);
  return h;
};

const eventPublishes = (h: Harness): Publish[] =>
  h.publishes().filter((p) => p.topic === "s/us" && p.payload.startsWith("400,"));

describe("a single row at the limit, through submit", () => {
  // On s/us at QoS 1 the oracle puts 11 bytes around the payload: 16173 payload bytes = 16184.
  it("the oracle's boundary: a 16173-byte payload on s/us at QoS 1 is a 16184-byte PUBLISH", () => {
    expect(publishSize("s/us", "x".repeat(16_173), 1)).toBe(LIMIT);
    expect(publishSize("s/us", "x".repeat(16_174), 1)).toBe(LIMIT + 1);
  });

  it("accepts and publishes a row whose PUBLISH is exactly 16184 bytes", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.send(eventOfLine("big", 16_173));
    expect(h.reports().at(-1)).toMatchObject({ kind: "accepted" });
    const [sent] = eventPublishes(h);
    expect(sent).toBeDefined();
    expect(wireSize(sent!)).toBe(LIMIT);
  });

  it("refuses a row whose PUBLISH would be 16185 bytes, and publishes nothing of it", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.send(eventOfLine("big", 16_174));
    expect(h.reports().at(-1)).toMatchObject({
      kind: "rejected",
      reason: expect.stringContaining(`needs ${LIMIT + 1} bytes, limit ${LIMIT}`),
    });
    expect(eventPublishes(h)).toEqual([]);
  });
});

describe("packing queued rows up to the limit", () => {
  // Two rows joined by LF: (6 + a) + 1 + (6 + b) payload bytes.
  it("packs two rows into one PUBLISH of exactly 16184 bytes", () => {
    const h = onlineWithWindowFull();
    h.send(eventOfLine("a", 8_006));
    h.send(eventOfLine("b", 8_166)); // 8006 + 1 + 8166 = 16173 payload bytes
    h.ackAll();
    const sent = eventPublishes(h).slice(1);
    expect(sent.map((p) => p.payload.split("\n").length)).toEqual([2]);
    expect(wireSize(sent[0]!)).toBe(LIMIT);
  });

  it("splits two rows that together would make a 16185-byte PUBLISH", () => {
    const h = onlineWithWindowFull();
    h.send(eventOfLine("a", 8_006));
    h.send(eventOfLine("b", 8_167)); // one byte more: 16185 bytes together
    h.ackAll();
    const sent = eventPublishes(h).slice(1);
    expect(sent.map((p) => p.payload.split("\n").length)).toEqual([1, 1]);
    for (const p of sent) expect(wireSize(p)).toBeLessThanOrEqual(LIMIT);
  });

  test.prop(
    [
      fc.array(
        fc.oneof(
          // 9 bytes at least: `400,e11,` is 8, and an event's text may not be empty (a row of 8
          // bytes from the 11th on was refused as invalid and then missing from what was sent).
          fc.integer({ min: 9, max: 400 }),
          fc.integer({ min: 5_300, max: 5_500 }),
          fc.integer({ min: 8_000, max: 8_200 }),
        ),
        { minLength: 1, maxLength: 12 },
      ),
    ],
    { numRuns: 60 },
  )("every PUBLISH fits and no two consecutive ones could have been one", (lineSizes) => {
    const h = onlineWithWindowFull();
    lineSizes.forEach((size, i) => h.send(eventOfLine(`e${i}`, size)));
    h.ackAll();
    const sent = eventPublishes(h).slice(1);
    expect(sent.flatMap((p) => p.payload.split("\n").map((l) => l.length))).toEqual(lineSizes);
    for (const p of sent) expect(wireSize(p)).toBeLessThanOrEqual(LIMIT);
    for (let i = 0; i + 1 < sent.length; i++) {
      const nextFirst = sent[i + 1]!.payload.split("\n")[0]!;
      expect(publishSize("s/us", `${sent[i]!.payload}\n${nextFirst}`, 1)).toBeGreaterThan(LIMIT);
    }
  });
});

describe("an operation failure reason shortened to fit", () => {
  it("is cut to a PUBLISH of exactly 16184 bytes, not one byte more or less", () => {
    const h = new Harness({ ...config, inflightWindow: 100 });
    h.bringOnline();
    h.deliver("s/ds", "511,dev9,run");
    h.persistAll();
    h.finish(h.handedOut[0]!.key, { status: "failed", reason: "r".repeat(20_000) });
    h.flush();
    const failed = h.publishes().find((p) => p.payload.startsWith("502,"));
    expect(failed?.payload.endsWith(" …(truncated)")).toBe(true);
    expect(wireSize(failed!)).toBe(LIMIT);
  });
});
