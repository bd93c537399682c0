/**
 * The platform's size law against the independent MQTT encoder (test/support/mqtt-oracle.ts):
 * the tenant model accepts every PUBLISH of at most 16184 encoded bytes and drops the session
 * for 16185 or more, on any up topic and QoS. Neither side uses the device core's size code.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { encodePublish, publishSize } from "../../../test/support/mqtt-oracle.js";
import { incomingPublishBytes, PLATFORM_MAX_MESSAGE_BYTES } from "../src/index.js";
import { deviceUsers, ofType, Sim } from "./support/sim.js";

const LIMIT = 16_184;
const utf8 = new TextEncoder();

/** An event row `400,t,x…` whose PUBLISH on `topic` is exactly `size` bytes (by the oracle), if any. */
const rowOfPacketSize = (topic: string, qos: 0 | 1 | 2, size: number): string | undefined => {
  const base = publishSize(topic, "400,t,", qos);
  for (let n = Math.max(0, size - base - 4); n <= size - base; n++) {
    const row = `400,t,${"x".repeat(n)}`;
    const got = publishSize(topic, row, qos);
    if (got === size) return row;
    if (got > size) return undefined;
  }
  return undefined;
};

describe("the platform's own PUBLISH size", () => {
  it("states the Cumulocity limit", () => {
    expect(PLATFORM_MAX_MESSAGE_BYTES).toBe(LIMIT);
  });

  test.prop([
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 16_100, max: 16_500 }),
      fc.constantFrom(0, 115, 116, 117, 118, 119, 120, 121, 16_370, 16_376, 16_377, 16_378),
      fc.integer({ min: 2_097_000, max: 2_097_200 }),
    ),
    fc.constantFrom<0 | 1 | 2>(0, 1, 2),
  ])("equals the length of the encoded packet", (topic, payloadBytes, qos) => {
    const encoded = encodePublish(topic, new Uint8Array(payloadBytes), qos).length;
    expect(incomingPublishBytes(utf8.encode(topic).length, payloadBytes, qos)).toBe(encoded);
  });
});

describe("the platform enforces 16184 bytes, measured by the oracle", () => {
  const connected = () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1", "s/e");
    return s;
  };

  test.prop(
    [
      fc.constantFrom("s/us", "s/us/dev1", "s/uc/acme", "s/ut/acme"),
      fc.constantFrom<0 | 1>(0, 1),
      fc.integer({ min: LIMIT - 3, max: LIMIT + 3 }),
    ],
    { numRuns: 40 },
  )("accepts a PUBLISH iff it is at most 16184 bytes", (topic, qos, size) => {
    const row = rowOfPacketSize(topic, qos, size);
    if (row === undefined) return; // no payload makes exactly this size on this topic
    const s = connected();
    const out = s.publish("c", topic, row, qos);
    if (size <= LIMIT) {
      expect(ofType(out, "publish-accepted")).toHaveLength(1);
      expect(ofType(out, "disconnect")).toEqual([]);
    } else {
      expect(ofType(out, "publish-accepted")).toEqual([]);
      expect(ofType(out, "disconnect")[0]?.reason).toBe(`message of ${size} bytes exceeds ${LIMIT}`);
    }
  });

  it("exactly 16184 bytes on s/us at QoS 1 is accepted, 16185 drops the session", () => {
    const fits = rowOfPacketSize("s/us", 1, LIMIT)!;
    const over = rowOfPacketSize("s/us", 1, LIMIT + 1)!;
    expect(ofType(connected().publish("c", "s/us", fits, 1), "publish-accepted")).toHaveLength(1);
    expect(ofType(connected().publish("c", "s/us", over, 1), "disconnect")).toHaveLength(1);
  });
});
