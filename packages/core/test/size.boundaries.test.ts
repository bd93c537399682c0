/**
 * The size code at its exact boundaries, against the independent encoder: every width change
 * of the Remaining Length field, the largest encodable packet, a limit that fits only the
 * empty payload, and rows that fill a publish to the last byte. (Found by mutation testing:
 * the random cases of size.test.ts did not reach these points.)
 */
import { describe, expect, it } from "vitest";
import { isLeft, isRight } from "fp-ts/lib/Either.js";
import { maxPayloadBytes, packRows, publishPacketBytes } from "../src/smartrest/size.js";
import { encodeRemainingLength, publishSize } from "../../../test/support/mqtt-oracle.js";

/** Size of a PUBLISH on "s/us" at QoS 0 whose Remaining Length is `remaining`, by the oracle's rules. */
const oracleSize = (remaining: number): number => 1 + encodeRemainingLength(remaining).length + remaining;

describe("publishPacketBytes at the Remaining Length boundaries", () => {
  // "s/us" at QoS 0: Remaining Length = 2 + 4 + payload.
  it.each([127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455])(
    "remaining length %i",
    (remaining) => {
      expect(publishPacketBytes("s/us", remaining - 6, 0)).toBe(oracleSize(remaining));
    },
  );

  it("one byte past the largest encodable packet is unencodable (Infinity)", () => {
    expect(() => encodeRemainingLength(268_435_456)).toThrow();
    expect(publishPacketBytes("s/us", 268_435_456 - 6, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("small packets agree with real encodings", () => {
    for (const payload of ["", "5", "x".repeat(121), "x".repeat(122)]) {
      expect(publishPacketBytes("s/us", payload.length, 1)).toBe(publishSize("s/us", payload, 1));
    }
  });
});

describe("maxPayloadBytes at its edges", () => {
  it("a limit that fits only the empty payload gives 0, one byte less gives -1", () => {
    const empty = publishSize("s/us", "", 1);
    expect(maxPayloadBytes("s/us", 1, empty)).toBe(0);
    expect(maxPayloadBytes("s/us", 1, empty - 1)).toBe(-1);
    expect(maxPayloadBytes("s/us", 1, empty + 1)).toBe(1);
  });
});

describe("packRows fills a publish to the last byte", () => {
  it("two rows that fit exactly go in one publish; one byte more splits them", () => {
    const budget = maxPayloadBytes("s/us", 1);
    const first = `400,a,${"x".repeat(100)}`;
    const exact = `400,b,${"y".repeat(budget - first.length - 1 - 6)}`;
    const exactFit = packRows("s/us", [["400", "a", "x".repeat(100)], exact.split(",")], 1);
    expect(isRight(exactFit) && exactFit.right.map((p) => p.rowCount)).toEqual([2]);
    if (isRight(exactFit)) expect(publishSize("s/us", exactFit.right[0]!.payload, 1)).toBe(16_184);
    const over = packRows("s/us", [["400", "a", "x".repeat(100)], `${exact}y`.split(",")], 1);
    expect(isRight(over) && over.right.map((p) => p.rowCount)).toEqual([1, 1]);
  });

  it("a single row of exactly the budget, then more rows after it", () => {
    const budget = maxPayloadBytes("s/us", 1);
    const full = ["400", "a", "x".repeat(budget - 6)];
    const packed = packRows("s/us", [full, ["400", "b", "c"], ["400", "d", "e"]], 1);
    expect(isRight(packed) && packed.right.map((p) => p.rowCount)).toEqual([1, 2]);
  });
});

describe("packRows when nothing fits", () => {
  it("names the row that cannot fit, with an empty template id for an empty row", () => {
    const tooSmall = publishSize("s/us", "", 1) - 1;
    const packed = packRows("s/us", [[]], 1, tooSmall);
    expect(isLeft(packed) && packed.left).toMatchObject({
      kind: "row-too-large",
      templateId: "",
      rowIndex: 0,
    });
  });
});
