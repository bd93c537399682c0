/**
 * The world's trace keeps input lines as pieces: its hash and kept lines must be exactly those
 * of the built lines (the golden trace hashes depend on it).
 */
import { describe, expect, it } from "vitest";
import { TraceHash } from "../src/prng.js";
import { Trace } from "../src/trace.js";

const hashOf = (lines: readonly string[]): string => {
  const h = new TraceHash();
  for (const line of lines) h.add(line);
  return h.hex();
};

describe("the world's trace", () => {
  const feed = (t: Trace): void => {
    t.line(0, "BOOT dev0.1 with 0 stored records");
    t.input(5, "dev0", 1, '{"type":"start","nowMs":5}');
    t.input(17, "P", null, '{"type":"client-connect"}');
    t.line(1200, "HEAL all faults off, no new work");
  };
  const built = [
    "0 BOOT dev0.1 with 0 stored records",
    '5 dev0.1 <- {"type":"start","nowMs":5}',
    '17 P <- {"type":"client-connect"}',
    "1200 HEAL all faults off, no new work",
  ];

  it("hashes input pieces as the built lines", () => {
    const t = new Trace(10, null);
    feed(t);
    expect(t.hash.hex()).toBe(hashOf(built));
    expect(t.hash.hex()).not.toBe(hashOf(built.slice(1)));
  });

  it("keeps the full trace and the last lines, oldest first", () => {
    const full: string[] = [];
    const t = new Trace(3, full);
    feed(t);
    expect(full).toEqual(built);
    expect(t.tail()).toEqual(built.slice(1));
    const short = new Trace(10, null);
    short.line(1, "only");
    expect(short.tail()).toEqual(["1 only"]);
  });
});
