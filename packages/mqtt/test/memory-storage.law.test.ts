/**
 * MemoryStorage (its outbox index is created for the first outbox row and dropped when it
 * holds none): after any sequence of writes and deletes, `load` and `loadOutbox` answer what a
 * plain map of the same records holds.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { MemoryStorage } from "../src/index.js";

const outboxKey = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;
const CLASSES = ["measurement", "event", "alarm"] as const;

describe("MemoryStorage", () => {
  test.prop([
    fc.array(
      fc.oneof(
        fc.record({ ref: fc.integer({ min: 1, max: 20 }), cls: fc.constantFrom(...CLASSES) }),
        fc.record({ ref: fc.integer({ min: 1, max: 20 }), cls: fc.constant(null) }),
        fc.record({ other: fc.constantFrom("journal/a", "config"), value: fc.constantFrom(null, 1) }),
      ),
      { maxLength: 60 },
    ),
  ])("load and loadOutbox agree with a plain map of the records", async (changes) => {
    const storage = new MemoryStorage();
    const model = new Map<string, unknown>();
    for (const c of changes) {
      const change =
        "other" in c
          ? { key: c.other, value: c.value }
          : { key: outboxKey(c.ref), value: c.cls === null ? null : { ref: c.ref, cls: c.cls } };
      await storage.apply([change]);
      if (change.value === null) model.delete(change.key);
      else model.set(change.key, change.value);
      expect(await storage.load()).toEqual(Object.fromEntries(model));
      for (const cls of CLASSES) {
        const expected = [...model.entries()]
          .filter(([k, v]) => k.startsWith("outbox/") && (v as { cls: string }).cls === cls)
          .map(([, v]) => v as { ref: number })
          .sort((a, b) => a.ref - b.ref);
        expect(await storage.loadOutbox(cls, 0, 100)).toEqual(expected);
        expect(await storage.loadOutbox(cls, 5, 2)).toEqual(expected.filter((v) => v.ref > 5).slice(0, 2));
      }
    }
  });
});
