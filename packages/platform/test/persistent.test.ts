/**
 * The persistent collections against plain models: any sequence of writes gives the same
 * contents as the same writes on an array / a Map, and never changes an earlier version.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { hash32 } from "../src/hash.js";
import { PMap, PVec } from "../src/persistent.js";

type VecOp = { kind: "push"; value: number } | { kind: "set"; index: number; value: number };

const vecOp: fc.Arbitrary<VecOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("push" as const), value: fc.integer() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("set" as const), index: fc.nat(), value: fc.integer() }),
  },
);

describe("PVec", () => {
  // Up to 3,000 elements: the trie grows past two levels (32 + 32² = 1,056 elements).
  test.prop([fc.array(vecOp, { maxLength: 3000 })], { numRuns: 40 })(
    "behaves like an array and leaves every earlier version as it was",
    (ops) => {
      let vec = PVec.empty<number>();
      let model: number[] = [];
      const versions: { vec: PVec<number>; model: number[] }[] = [];
      for (const op of ops) {
        versions.push({ vec, model });
        if (op.kind === "push") {
          vec = vec.push(op.value);
          model = [...model, op.value];
        } else if (model.length > 0) {
          const index = op.index % model.length;
          vec = vec.set(index, op.value);
          model = model.map((v, i) => (i === index ? op.value : v));
        }
      }
      expect(vec.toArray()).toEqual(model);
      expect(vec.length).toBe(model.length);
      for (let i = -1; i <= model.length; i++) expect(vec.get(i)).toBe(model[i]);
      expect(vec.at(-1)).toBe(model.at(-1));
      expect([...vec.reversed()]).toEqual([...model].reverse());
      expect(vec.slice(3, 40)).toEqual(model.slice(3, 40));
      expect(JSON.parse(JSON.stringify(vec))).toEqual(model);
      for (const v of versions.filter((_, i) => i % 97 === 0)) expect(v.vec.toArray()).toEqual(v.model);
    },
  );

  test.prop([fc.nat({ max: 100 })])("set outside the list is refused with a RangeError", (length) => {
    const vec = PVec.from(Array.from({ length }, (_, i) => i));
    expect(() => vec.set(length, 0)).toThrow(RangeError);
    expect(() => vec.set(-1, 0)).toThrow(RangeError);
  });
});

type MapOp = { kind: "set"; key: string; value: number } | { kind: "delete"; key: string };

// Few distinct keys so that sets, overwrites and deletes meet; hostile names included.
const key = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "", "1001", "0", "01"),
  fc.nat({ max: 400 }).map(String),
  fc.string({ maxLength: 3 }),
);
const mapOp: fc.Arbitrary<MapOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), key, value: fc.integer() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), key }) },
);

describe("PMap", () => {
  // The model is a plain record: the map must iterate in its key order, too.
  test.prop([fc.array(mapOp, { maxLength: 1500 })], { numRuns: 60 })(
    "behaves like a plain record and leaves every earlier version as it was",
    (ops) => {
      let map = PMap.empty<number>();
      let model: Record<string, number> = {};
      const versions: { map: PMap<number>; model: Record<string, number> }[] = [];
      for (const op of ops) {
        versions.push({ map, model });
        model = { ...model };
        if (op.kind === "set") {
          map = map.set(op.key, op.value);
          Object.defineProperty(model, op.key, {
            value: op.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          map = map.delete(op.key);
          delete model[op.key];
        }
      }
      expect([...map]).toEqual(Object.entries(model));
      expect(map.keys()).toEqual(Object.keys(model));
      expect(map.size).toBe(Object.keys(model).length);
      expect([...map.unorderedValues()].sort()).toEqual(Object.values(model).sort());
      for (const op of ops) {
        expect(map.get(op.key)).toBe(Object.hasOwn(model, op.key) ? model[op.key] : undefined);
        expect(map.has(op.key)).toBe(Object.hasOwn(model, op.key));
      }
      for (const v of versions.filter((_, i) => i % 53 === 0))
        expect([...v.map]).toEqual(Object.entries(v.model));
    },
  );

  test.prop([fc.uniqueArray(key, { maxLength: 60 })])(
    "serialises as the plain object it stands for, in the same key order",
    (keys) => {
      const record: Record<string, number> = {};
      keys.forEach((k, i) => Object.defineProperty(record, k, { value: i, enumerable: true }));
      const json = JSON.parse(JSON.stringify(PMap.fromRecord(record))) as Record<string, number>;
      expect(json).toEqual(JSON.parse(JSON.stringify(record)));
      expect(Object.keys(json)).toEqual(Object.keys(JSON.parse(JSON.stringify(record)) as object));
    },
  );

  it("keys whose 32-bit hashes collide are kept apart", () => {
    // FNV-1a pairs with equal hashes (found by a birthday search over `k<n>`), plus neighbours.
    const colliding = ["k32728", "k261234", "k32729", "k261235", "k32724", "k261238"];
    expect(hash32("k32728")).toBe(hash32("k261234"));
    const keys = [...colliding, ...Array.from({ length: 2000 }, (_, i) => `n${i}`)];
    const map = PMap.from(keys.map((k, i) => [k, i] as const));
    expect(map.size).toBe(keys.length);
    expect(keys.map((k) => map.get(k))).toEqual(keys.map((_, i) => i));
    const overwritten = map.set("k261234", -1);
    expect([overwritten.get("k261234"), overwritten.get("k32728"), overwritten.size]).toEqual([
      -1,
      0,
      keys.length,
    ]);
    const without = map.delete("k32728");
    expect([without.get("k32728"), without.get("k261234"), without.size]).toEqual([
      undefined,
      1,
      keys.length - 1,
    ]);
    expect(keys.reduce((m, k) => m.delete(k), map).size).toBe(0);
  });
});
