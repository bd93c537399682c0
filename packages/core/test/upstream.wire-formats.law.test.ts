/**
 * The upstream wire formats as laws, over whole ranges rather than a few examples:
 *
 * - numbers: for every power of ten a double can have, the column is plain decimal (no exponent,
 *   no superfluous zeros), reads back as the same number and carries exactly the shortest
 *   round-trip digits JavaScript prints;
 * - timestamps: every year/month/day combination around the calendar's edges is accepted exactly
 *   when it is a real date (the oracle is `Date.UTC`, which the core may not use), and every
 *   hour, minute, second, fraction length and offset exactly when it is in range;
 * - refusals name the field and give the exact reason a user reads.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import { encodeUpstream, isIsoTimestamp, type UpstreamMessage } from "../src/smartrest/upstream.js";

const raw = (o: object): UpstreamMessage => o as unknown as UpstreamMessage;

/** The column 200 writes for `value`. */
const column = (value: number): string => {
  const row = encodeUpstream({ template: "200", fragment: "f", series: "s", value });
  if (E.isLeft(row)) throw new Error(row.left.reason);
  return row.right[3] ?? "";
};

/** Significant digits of a decimal numeral (exponent form or not), without leading/trailing zeros. */
const significant = (numeral: string): string =>
  numeral.replace(/^-/, "").replace(/e.*$/i, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");

describe("numbers are written in plain decimal with the shortest round-trip digits", () => {
  const mantissas = [1, 1.5, 1.25, 9.87654321, 4.940656458412465, 1.7976931348623157];
  const values = mantissas.flatMap((m) =>
    Array.from({ length: 650 }, (_, i) => Number(`${m}e${i - 330}`)).filter((n) => Number.isFinite(n)),
  );

  it("for every power of ten a double can have, both signs", () => {
    const disagreements: string[] = [];
    for (const magnitude of values) {
      for (const value of [magnitude, -magnitude]) {
        const written = column(value);
        const plain = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/.test(written);
        const same = Number(written) === value || (value === 0 && written === "0");
        const shortest = significant(written) === significant(String(value));
        const sign = (value < 0 && value !== 0) === written.startsWith("-");
        if (!(plain && same && shortest && sign) && disagreements.length < 5) {
          disagreements.push(`${String(value)} → ${written}`);
        }
      }
    }
    expect(values.length).toBeGreaterThan(3_500);
    expect(disagreements).toEqual([]);
  });

  it("at the edges of JavaScript's exponent notation (1e21, 1e-7) and across the point", () => {
    expect(column(1e21)).toBe("1000000000000000000000");
    expect(column(1.5e21)).toBe("1500000000000000000000");
    expect(column(9.999e20)).toBe("999900000000000000000");
    expect(column(1.2345e22)).toBe("12345000000000000000000");
    expect(column(1e-7)).toBe("0.0000001");
    expect(column(1.5e-7)).toBe("0.00000015");
    expect(column(-2.5e-7)).toBe("-0.00000025");
    expect(column(1e-6)).toBe("0.000001");
    expect(column(-0)).toBe("0");
  });
});

/** The calendar by the JavaScript Date (fine in a test; the core has no clock or Date). */
const isRealDate = (year: number, month: number, day: number): boolean => {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
};

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

describe("timestamps: accepted exactly when they name a real instant", () => {
  it("every month 00–13 and day 00–32 of leap, common and century years", () => {
    const years = [0, 4, 1600, 1700, 1800, 1900, 1996, 2000, 2023, 2024, 2100, 2400, 9999];
    const disagreements: string[] = [];
    for (const year of years) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          const s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:00:00Z`;
          if (isIsoTimestamp(s) !== isRealDate(year, month, day) && disagreements.length < 5) {
            disagreements.push(s);
          }
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("every hour, minute and second in and just out of range", () => {
    for (let h = 0; h <= 29; h++) expect(isIsoTimestamp(`2024-05-06T${pad(h, 2)}:00:00Z`)).toBe(h < 24);
    for (let m = 0; m <= 69; m++) expect(isIsoTimestamp(`2024-05-06T00:${pad(m, 2)}:00Z`)).toBe(m < 60);
    for (let s = 0; s <= 69; s++) expect(isIsoTimestamp(`2024-05-06T00:00:${pad(s, 2)}Z`)).toBe(s < 60);
  });

  it("fractions of 1 to 9 digits; offsets Z or ±hh:mm / ±hhmm within a day", () => {
    for (let digits = 0; digits <= 11; digits++) {
      const fraction = digits === 0 ? "" : `.${"7".repeat(digits)}`;
      expect(isIsoTimestamp(`2024-05-06T00:00:00${fraction}Z`)).toBe(digits <= 9);
    }
    expect(isIsoTimestamp("2024-05-06T00:00:00.Z")).toBe(false);
    for (const sign of ["+", "-"]) {
      for (let h = 0; h <= 25; h++) {
        for (const m of [0, 30, 59, 60]) {
          const ok = h < 24 && m < 60;
          expect(isIsoTimestamp(`2024-05-06T00:00:00${sign}${pad(h, 2)}:${pad(m, 2)}`)).toBe(ok);
          expect(isIsoTimestamp(`2024-05-06T00:00:00${sign}${pad(h, 2)}${pad(m, 2)}`)).toBe(ok);
        }
      }
    }
    for (const bad of ["z", "UTC", "+01", "+1:00", "±01:00", "+01:00:00", "Z ", " Z"]) {
      expect(isIsoTimestamp(`2024-05-06T00:00:00${bad}`)).toBe(false);
    }
    for (const bad of [" 2024-05-06T00:00:00Z", "x2024-05-06T00:00:00Z", "2024-05-06T00:00:00Zx"]) {
      expect(isIsoTimestamp(bad)).toBe(false);
    }
  });
});

describe("refusals give the exact reason", () => {
  const reason = (msg: UpstreamMessage): { field: string; reason: string } | undefined => {
    const result = encodeUpstream(msg);
    return E.isLeft(result) ? { field: result.left.field, reason: result.left.reason } : undefined;
  };

  it("for wrongly typed, missing and empty values", () => {
    expect(reason(raw({ template: "200", fragment: "f", series: "s", value: "1" }))).toEqual({
      field: "value",
      reason: "expected number, got string",
    });
    expect(reason(raw({ template: "200", fragment: null, series: "s", value: 1 }))).toEqual({
      field: "fragment",
      reason: "expected string, got null",
    });
    expect(reason(raw({ template: "101", childId: "c", isDevice: "yes" }))).toEqual({
      field: "isDevice",
      reason: "expected boolean, got string",
    });
    expect(reason(raw({ template: "306" }))).toEqual({ field: "type", reason: "missing mandatory field" });
    expect(reason(raw({ template: "306", type: "" }))).toEqual({
      field: "type",
      reason: "mandatory field must not be empty",
    });
    expect(reason(raw({ template: "107", fragments: {} }))).toEqual({
      field: "fragments",
      reason: "expected an array, got object",
    });
    expect(reason(raw({ template: "107" }))).toEqual({
      field: "fragments",
      reason: "missing mandatory field",
    });
    expect(reason(raw({ template: "107", fragments: [] }))).toEqual({
      field: "fragments",
      reason: "needs at least 1 entry",
    });
    expect(reason(raw({ template: "142", software: ["x"] }))).toEqual({
      field: "software[0]",
      reason: "expected an object",
    });
    expect(reason(raw({ template: "201", type: "t", series: [{ fragment: "f", series: "s" }] }))).toEqual({
      field: "series[0].value",
      reason: "missing mandatory field",
    });
  });

  it("for numbers and timestamps out of their range", () => {
    expect(reason(raw({ template: "211", temperature: Number.NaN }))).toEqual({
      field: "temperature",
      reason: "NaN is not a finite number",
    });
    expect(reason(raw({ template: "117", interval: 0.5 }))).toEqual({
      field: "interval",
      reason: "0.5 is not an integer (within ±2^53-1)",
    });
    expect(reason(raw({ template: "117", interval: Infinity }))).toEqual({
      field: "interval",
      reason: "Infinity is not a finite number",
    });
    expect(reason(raw({ template: "117", interval: 2 ** 53 }))).toEqual({
      field: "interval",
      reason: "9007199254740992 is not an integer (within ±2^53-1)",
    });
    expect(encodeUpstream(raw({ template: "117", interval: 2 ** 53 - 1 }))).toEqual(
      E.right(["117", "9007199254740991"]),
    );
    expect(reason(raw({ template: "212", battery: 1, time: "2024-02-30T00:00:00Z" }))).toEqual({
      field: "time",
      reason: '"2024-02-30T00:00:00Z" is not an ISO-8601 timestamp',
    });
  });

  it("and the first problem in wire order wins", () => {
    expect(reason(raw({ template: "200", fragment: "", series: "", value: "x" }))).toEqual({
      field: "fragment",
      reason: "mandatory field must not be empty",
    });
    expect(
      reason(
        raw({
          template: "201",
          type: "t",
          series: [
            { fragment: "f", series: "a", value: 1 },
            { fragment: "", series: "b", value: "x" },
            { fragment: "f", series: "c", value: Number.NaN },
          ],
        }),
      ),
    ).toEqual({ field: "series[1].fragment", reason: "mandatory field must not be empty" });
  });
});
