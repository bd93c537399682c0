/**
 * The 16184-byte size law: exact PUBLISH sizes (checked against a byte-level reference encoder),
 * and packRows (fits, loses/reorders nothing, fewest publishes, never truncates).
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { isLeft, isRight, left } from "fp-ts/lib/Either.js";
import { parseRows, serializeRow } from "../src/smartrest/csv.js";
import {
  MAX_PUBLISH_BYTES,
  maxPayloadBytes,
  packRows,
  publishPacketBytes,
  rowPacketBytes,
} from "../src/smartrest/size.js";
import type { Row } from "../src/smartrest/types.js";

const encoder = new TextEncoder();
const bytesOf = (s: string): number => encoder.encode(s).length;

/** Reference MQTT 3.1.1 PUBLISH encoder (§3.3), built byte by byte. */
const encodePublish = (topic: string, payload: Uint8Array, qos: 0 | 1 | 2): Uint8Array => {
  const topicBytes = encoder.encode(topic);
  const variable = [topicBytes.length >> 8, topicBytes.length & 0xff, ...topicBytes];
  if (qos > 0) variable.push(0x00, 0x01); // packet identifier
  let remaining = variable.length + payload.length;
  const varint: number[] = [];
  do {
    let byte = remaining % 128;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) byte |= 0x80;
    varint.push(byte);
  } while (remaining > 0);
  const head = [0x30 | (qos << 1), ...varint, ...variable];
  const packet = new Uint8Array(head.length + payload.length);
  packet.set(head, 0);
  packet.set(payload, head.length);
  return packet;
};

const qosArb = fc.constantFrom<0 | 1 | 2>(0, 1, 2);
const topicArb = fc.oneof(
  fc.constantFrom("s/us", "s/us/child-1", "t/us", "c/us/ünïcødé"),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);
/** Payload sizes biased to the varint boundaries (127/128, 16383/16384) and the Cumulocity limit. */
const payloadSizeArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 16_100, max: 16_500 }),
  fc.constantFrom(
    0,
    1,
    120,
    121,
    122,
    123,
    124,
    125,
    126,
    127,
    128,
    129,
    16_370,
    16_375,
    16_380,
    16_383,
    16_384,
  ),
  fc.integer({ min: 0, max: 20_000 }),
);

describe("publishPacketBytes", () => {
  test.prop([topicArb, payloadSizeArb, qosArb])(
    "agrees with a reference PUBLISH encoding",
    (topic, size, qos) => {
      const packet = encodePublish(topic, new Uint8Array(size), qos);
      expect(publishPacketBytes(topic, size, qos)).toBe(packet.length);
    },
  );

  it("examples around the varint boundaries", () => {
    // "s/us": remaining = 2 + 4 + payload (+2 at QoS > 0)
    expect(publishPacketBytes("s/us", 0, 0)).toBe(8);
    expect(publishPacketBytes("s/us", 121, 0)).toBe(129); // remaining 127: 1-byte varint
    expect(publishPacketBytes("s/us", 122, 0)).toBe(131); // remaining 128: 2-byte varint
    expect(publishPacketBytes("s/us", 16_377, 0)).toBe(16_386); // remaining 16383
    expect(publishPacketBytes("s/us", 16_378, 0)).toBe(16_388); // remaining 16384: 3-byte varint
    expect(publishPacketBytes("s/us", 10, 1)).toBe(publishPacketBytes("s/us", 10, 2));
    expect(publishPacketBytes("s/us", 268_435_455, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("maxPayloadBytes", () => {
  test.prop([topicArb, qosArb, fc.integer({ min: 0, max: 20_000 })])(
    "is the largest payload that fits",
    (topic, qos, limit) => {
      const p = maxPayloadBytes(topic, qos, limit);
      if (p >= 0) expect(publishPacketBytes(topic, p, qos)).toBeLessThanOrEqual(limit);
      expect(publishPacketBytes(topic, p + 1, qos)).toBeGreaterThan(limit);
    },
  );

  it("Cumulocity's limit on s/us", () => {
    expect(MAX_PUBLISH_BYTES).toBe(16_184);
    expect(maxPayloadBytes("s/us", 0)).toBe(16_184 - 1 - 2 - 2 - 4);
    expect(maxPayloadBytes("s/us", 1)).toBe(16_184 - 1 - 2 - 2 - 4 - 2);
    expect(maxPayloadBytes("s/us", 1, 5)).toBe(-1);
  });
});

/** Fewest publishes of an order-preserving split, by dynamic programming; undefined if impossible. */
const minPublishes = (
  topic: string,
  rows: readonly Row[],
  qos: 0 | 1 | 2,
  limit: number,
): number | undefined => {
  const lineBytes = rows.map((r) => bytesOf(serializeRow(r)));
  const best: (number | undefined)[] = [0];
  for (let end = 1; end <= rows.length; end++) {
    let b: number | undefined;
    for (let start = 0; start < end; start++) {
      const prev = best[start];
      if (prev === undefined) continue;
      const payload = lineBytes.slice(start, end).reduce((a, x) => a + x, 0) + (end - start - 1);
      if (publishPacketBytes(topic, payload, qos) <= limit && (b === undefined || prev + 1 < b)) b = prev + 1;
    }
    best.push(b);
  }
  return best[rows.length];
};

const field = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "1", ",", '"', "\\", "\n", " ", "é", "😀"), maxLength: 8 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const rowArb: fc.Arbitrary<Row> = fc.array(field, { minLength: 1, maxLength: 4 });

describe("packRows", () => {
  test.prop([fc.array(rowArb, { maxLength: 10 }), qosArb, fc.integer({ min: 10, max: 60 })])(
    "fits the limit, keeps every row in order, and uses the fewest publishes",
    (rows, qos, limit) => {
      const topic = "s/us";
      const result = packRows(topic, rows, qos, limit);
      const optimum = minPublishes(topic, rows, qos, limit);
      if (isLeft(result)) {
        // Only when some row cannot fit on its own — and it is the first such row, reported exactly.
        expect(optimum).toBeUndefined();
        const { rowIndex, bytes, templateId } = result.left;
        const tooBig = rows.findIndex((r) => rowPacketBytes(topic, r, qos) > limit);
        expect(rowIndex).toBe(tooBig);
        expect(bytes).toBe(rowPacketBytes(topic, rows[rowIndex] ?? [], qos));
        expect(bytes).toBeGreaterThan(limit);
        expect(templateId).toBe(rows[rowIndex]?.[0]);
        return;
      }
      const publishes = result.right;
      expect(publishes.length).toBe(optimum);
      const back: Row[] = [];
      for (const p of publishes) {
        expect(p.topic).toBe(topic);
        expect(publishPacketBytes(topic, bytesOf(p.payload), qos)).toBeLessThanOrEqual(limit);
        expect(encodePublish(topic, encoder.encode(p.payload), qos).length).toBeLessThanOrEqual(limit);
        const parsed = parseRows(p.payload);
        expect(isRight(parsed)).toBe(true);
        if (isRight(parsed)) {
          expect(parsed.right.length).toBe(p.rowCount);
          back.push(...parsed.right);
        }
      }
      expect(back).toEqual(rows);
    },
  );

  test.prop([fc.array(rowArb, { maxLength: 40 }), qosArb])("with the default limit", (rows, qos) => {
    const result = packRows("s/us/child", rows, qos);
    expect(isRight(result)).toBe(true);
    if (isRight(result)) {
      expect(result.right.reduce((n, p) => n + p.rowCount, 0)).toBe(rows.length);
      for (const p of result.right) {
        expect(publishPacketBytes(p.topic, bytesOf(p.payload), qos)).toBeLessThanOrEqual(MAX_PUBLISH_BYTES);
      }
    }
  });

  it("splits at the real limit, measuring the escaped text", () => {
    // 100 rows of ~200 bytes each, whose text needs escaping (each `"` doubles).
    const rows: Row[] = Array.from({ length: 100 }, (_, i) => [
      "503",
      "c8y_Command",
      `${i}:` + '"'.repeat(100),
    ]);
    const result = packRows("s/us", rows, 1);
    expect(isRight(result)).toBe(true);
    if (isRight(result)) {
      const sizes = result.right.map((p) => publishPacketBytes("s/us", bytesOf(p.payload), 1));
      for (const s of sizes) expect(s).toBeLessThanOrEqual(MAX_PUBLISH_BYTES);
      expect(result.right.reduce((n, p) => n + p.rowCount, 0)).toBe(100);
      const lineBytes = bytesOf(serializeRow(rows[0] ?? [])); // ~220 bytes after escaping
      expect(result.right.length).toBe(
        Math.ceil((100 * (lineBytes + 1) - 1) / (maxPayloadBytes("s/us", 1) + 1)),
      );
    }
  });

  it("refuses (never truncates) a row that cannot fit alone", () => {
    const big: Row = ["113", "x".repeat(16_180)];
    expect(packRows("s/us", [["117", "10"], big], 0)).toEqual(
      left({
        kind: "row-too-large",
        templateId: "113",
        rowIndex: 1,
        bytes: rowPacketBytes("s/us", big, 0),
        limit: MAX_PUBLISH_BYTES,
      }),
    );
    // Escaping counts: 8090 quotes fit as raw text but not once doubled.
    const quotes: Row = ["113", '"'.repeat(8_090)];
    expect(bytesOf(quotes.join(","))).toBeLessThan(maxPayloadBytes("s/us", 0));
    expect(packRows("s/us", [quotes], 0)).toEqual(
      left(expect.objectContaining({ kind: "row-too-large", rowIndex: 0 })),
    );
  });

  it("no rows, no publishes", () => {
    expect(packRows("s/us", [], 2)).toEqual({ _tag: "Right", right: [] });
  });
});
