/**
 * The recent-rows list (engine/recent.ts) against its written policy, packet by packet: it
 * grows by one packet per publish until it holds more than 2 × RECENT_ROWS rows, and is then
 * cut to the newest packets that together cover RECENT_ROWS rows (the fewest that do). Every
 * packet's rows and its running count of rows held are checked, not only the rows read back.
 * Written for the outbox chunk of the engine's mutation run.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { RECENT_ROWS, addRecent, emptyRecent, recentRows, type Recent } from "../src/engine/recent.js";
import type { OutboxEntry } from "../src/engine/outbox.js";

const row = (ref: number, template: string): OutboxEntry => ({
  ref,
  cls: "measurement",
  topic: "s/us",
  line: `${template},x`,
  bytes: template.length + 2,
  template,
});

/** The list as packets, newest first: [rowsHeld, [ref, template] pairs oldest first]. */
const packets = (recent: Recent): [number, [number, string][]][] => {
  const out: [number, [number, string][]][] = [];
  for (let cur = recent; cur !== null; cur = cur[1]) {
    const rows: [number, string][] = [];
    for (let i = 2; i < cur.length; i += 2) rows.push([cur[i] as number, cur[i + 1] as string]);
    out.push([cur[0], rows]);
  }
  return out;
};

/** The policy, on plain arrays: packets newest first. */
const policyAdd = (held: [number, string][][], added: [number, string][]): [number, string][][] => {
  const next = [added, ...held];
  if (next.reduce((n, p) => n + p.length, 0) <= 2 * RECENT_ROWS) return next;
  const kept: [number, string][][] = [];
  let count = 0;
  for (const p of next) {
    if (count >= RECENT_ROWS) break;
    kept.push(p);
    count += p.length;
  }
  return kept;
};

/** The policy's packets with their running counts (rows of the packet and every older one). */
const withCounts = (held: [number, string][][]): [number, [number, string][]][] => {
  let total = 0;
  return [...held]
    .reverse()
    .map((p): [number, [number, string][]] => {
      total += p.length;
      return [total, p];
    })
    .reverse();
};

const publishAll = (sizes: readonly number[]): void => {
  let recent = emptyRecent;
  let model: [number, string][][] = [];
  let ref = 1;
  for (const size of sizes) {
    const entries = Array.from({ length: size }, (_, i) => row(ref++, `t${(ref + i) % 7}`));
    recent = addRecent(recent, entries);
    model = policyAdd(
      model,
      entries.map((e) => [e.ref, e.template]),
    );
    // Compared as JSON: vitest's deep equality took seconds over these histories.
    expect(JSON.stringify(packets(recent))).toBe(JSON.stringify(withCounts(model)));
    const rows = model.flatMap((p) => p).length;
    expect(JSON.stringify(recentRows(recent))).toBe(
      JSON.stringify(
        [...model]
          .reverse()
          .flat()
          .slice(-Math.min(rows, RECENT_ROWS))
          .map(([r, template]) => ({ template, ref: r })),
      ),
    );
  }
};

describe("recent rows: the packets held", () => {
  it("one-row packets: no cut at exactly 2 × RECENT_ROWS rows, a cut to RECENT_ROWS one beyond", () => {
    publishAll(Array.from({ length: 2 * RECENT_ROWS + 1 }, () => 1));
    let recent = emptyRecent;
    for (let ref = 1; ref <= 2 * RECENT_ROWS; ref++) recent = addRecent(recent, [row(ref, "200")]);
    expect(recent?.[0]).toBe(2 * RECENT_ROWS);
    recent = addRecent(recent, [row(2 * RECENT_ROWS + 1, "200")]);
    expect(recent?.[0]).toBe(RECENT_ROWS);
    expect(packets(recent)).toHaveLength(RECENT_ROWS);
  });

  it("packets of RECENT_ROWS rows: two are kept, the third leaves only itself", () => {
    publishAll([RECENT_ROWS, RECENT_ROWS, RECENT_ROWS]);
    let recent = addRecent(
      addRecent(
        emptyRecent,
        Array.from({ length: RECENT_ROWS }, (_, i) => row(i + 1, "a")),
      ),
      Array.from({ length: RECENT_ROWS }, (_, i) => row(RECENT_ROWS + i + 1, "b")),
    );
    expect(packets(recent).map(([n]) => n)).toEqual([2 * RECENT_ROWS, RECENT_ROWS]);
    recent = addRecent(
      recent,
      Array.from({ length: RECENT_ROWS }, (_, i) => row(2 * RECENT_ROWS + i + 1, "c")),
    );
    expect(packets(recent).map(([n]) => n)).toEqual([RECENT_ROWS]);
    expect(recentRows(recent).every((r) => r.template === "c")).toBe(true);
  });

  it("a cut keeps the packet that crosses RECENT_ROWS, whole", () => {
    // 60 + 60 rows, then 10: 130 rows held > 128; newest 10 + 60 = 70 >= 64 covers it.
    publishAll([60, 60, 10]);
    publishAll([63, 2, 63, 1]);
    publishAll([1, 127, 1]);
    publishAll([200]);
    publishAll([129, 1]);
  });

  test.prop([fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 5, maxLength: 30 })])(
    "any sequence of packets is held exactly as the policy says",
    (sizes) => publishAll(sizes),
  );
});
