/**
 * Recent rows (s/e correlation): whatever packets were published, `recentRows` is the last
 * RECENT_ROWS rows of all of them, oldest first, and the list stays bounded.
 */
import { describe, expect } from "vitest";
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

/** Rows held by the list (every packet), by walking it. */
const held = (recent: Recent): number => {
  let n = 0;
  for (let cur = recent; cur !== null; cur = cur[1]) n += (cur.length - 2) / 2;
  return n;
};

describe("recent rows", () => {
  test.prop([
    fc.array(fc.array(fc.constantFrom("200", "201", "400", "500", "c8y"), { minLength: 1, maxLength: 80 }), {
      maxLength: 40,
    }),
  ])("recentRows is the last RECENT_ROWS rows published, oldest first; the list stays bounded", (packets) => {
    let recent = emptyRecent;
    const all: { template: string; ref: number }[] = [];
    let ref = 1;
    for (const templates of packets) {
      const entries = templates.map((t) => row(ref++, t));
      recent = addRecent(recent, entries);
      for (const e of entries) all.push({ template: e.template, ref: e.ref });
      expect(recentRows(recent)).toEqual(all.slice(-RECENT_ROWS));
      // Cut back once it holds twice as many, to the newest packets covering RECENT_ROWS rows.
      expect(held(recent)).toBeLessThanOrEqual(2 * RECENT_ROWS + templates.length);
      expect(recent?.[0]).toBe(held(recent));
    }
  });

  test.prop([fc.integer({ min: 1, max: 300 })])("one row per packet keeps at most twice RECENT_ROWS", (n) => {
    let recent = emptyRecent;
    for (let ref = 1; ref <= n; ref++) recent = addRecent(recent, [row(ref, "200")]);
    expect(held(recent)).toBeLessThanOrEqual(2 * RECENT_ROWS);
    expect(recentRows(recent).map((r) => r.ref)).toEqual(
      Array.from({ length: Math.min(n, RECENT_ROWS) }, (_, i) => n - Math.min(n, RECENT_ROWS) + 1 + i),
    );
  });
});
