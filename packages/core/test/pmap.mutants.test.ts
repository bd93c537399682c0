/**
 * The persistent AVL map (engine/pmap.ts) checked as an AVL tree, not only through its answers:
 * after every insertion and removal of long deterministic histories (ascending, descending,
 * zig-zag and pseudo-random keys, which reach every single and double rotation on both sides),
 * the keys are in order, every stored height is the subtree's real height and no node's
 * subtrees differ by more than one. Answers are compared with a sorted array. Also the three
 * comparators' exact signs. Written for the outbox chunk of the engine's mutation run (the
 * answers-only model test in journal-structures.test.ts cannot see a tree that is correct but
 * unbalanced, or whose stored heights are wrong).
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as P from "../src/engine/pmap.js";

interface RawNode {
  readonly key: number;
  readonly value: unknown;
  readonly left: RawNode | null;
  readonly right: RawNode | null;
  readonly height: number;
}

/**
 * The tree's real height; throws on a wrong stored height, an imbalance or keys out of order
 * (plain throws, not `expect`: this runs on every node after every change).
 */
const checkAvl = (t: RawNode | null, lo = -Infinity, hi = Infinity): number => {
  if (t === null) return 0;
  if (!(t.key > lo && t.key < hi)) throw new Error(`key ${t.key} not between ${lo} and ${hi}`);
  const l = checkAvl(t.left, lo, t.key);
  const r = checkAvl(t.right, t.key, hi);
  if (Math.abs(l - r) > 1) throw new Error(`subtrees of ${t.key} differ in height by ${Math.abs(l - r)}`);
  const h = Math.max(l, r) + 1;
  if (t.height !== h) throw new Error(`stored height ${t.height} at ${t.key}, real ${h}`);
  return h;
};

const root = (m: P.PMap<number, unknown>) => m.root as RawNode | null;

/** A deterministic pseudo-random key sequence (LCG), so the history is the same on every run. */
const lcgKeys = (n: number, seed: number, range: number): number[] => {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    out.push(x % range);
  }
  return out;
};

/** Sets and removes `ops` (positive: set k, negative: remove -k - 1), checking after each. */
const run = (ops: readonly number[]): void => {
  let m = P.emptyMap<number, string>(P.compareNumbers);
  const model = new Map<number, string>();
  for (const o of ops) {
    if (o >= 0) {
      m = P.set(m, o, `v${o}`);
      model.set(o, `v${o}`);
    } else {
      m = P.remove(m, -o - 1);
      model.delete(-o - 1);
    }
    checkAvl(root(m));
    if (m.size !== model.size) throw new Error(`size ${m.size}, expected ${model.size}`);
  }
  const sorted = [...model.entries()].sort((a, b) => a[0] - b[0]);
  expect(P.entries(m)).toEqual(sorted);
  expect(P.values(m)).toEqual(sorted.map(([, v]) => v));
  expect(P.first(m)).toEqual(sorted[0]);
  for (const [k, v] of sorted) {
    expect(P.get(m, k)).toBe(v);
    expect(P.has(m, k)).toBe(true);
  }
};

describe("pmap as an AVL tree", () => {
  const up = Array.from({ length: 120 }, (_, i) => i);
  const down = [...up].reverse();
  // Alternating ends (0, 299, 1, 298, …) and the middle out: double rotations on both sides.
  const zigzag = up.map((i) => (i % 2 === 0 ? i / 2 : 119 - (i - 1) / 2));
  const inner = up.map((i) => (i % 2 === 0 ? 60 + i / 2 : 60 - (i + 1) / 2));

  it("stays an AVL tree under ascending, descending and zig-zag insertion", () => {
    run(up);
    run(down);
    run(zigzag);
    run(inner);
  });

  it("stays an AVL tree while removing: smallest, largest, root-most and every other key", () => {
    const removeAll = (keys: readonly number[]) => keys.map((k) => -k - 1);
    run([...up, ...removeAll(up)]);
    run([...up, ...removeAll(down)]);
    run([...up, ...removeAll(zigzag)]);
    run([...up, ...removeAll(up.filter((k) => k % 2 === 1)), ...removeAll(up.filter((k) => k % 2 === 0))]);
    run([...zigzag, ...removeAll(inner)]);
  });

  it("stays an AVL tree under pseudo-random sets and removals", () => {
    for (const seed of [1, 7, 2026, 99_991]) {
      const keys = lcgKeys(600, seed, 100);
      run(keys.map((k, i) => (i % 3 === 2 ? -k - 1 : k)));
    }
  });

  test.prop([fc.array(fc.integer({ min: -60, max: 59 }), { minLength: 50, maxLength: 400 })])(
    "any history of sets and removals keeps it an AVL tree",
    (ops) => run(ops),
  );

  it("set of an existing key replaces its value and keeps the size", () => {
    const m = P.set(P.set(P.emptyMap<number, string>(P.compareNumbers), 1, "a"), 1, "b");
    expect(m.size).toBe(1);
    expect(P.get(m, 1)).toBe("b");
    expect(P.entries(m)).toEqual([[1, "b"]]);
  });

  it("remove of an absent key returns the same map", () => {
    const m = P.set(P.emptyMap<number, string>(P.compareNumbers), 1, "a");
    expect(P.remove(m, 2)).toBe(m);
    expect(P.remove(P.remove(m, 1), 1).size).toBe(0);
    expect(P.has(m, 2)).toBe(false);
  });

  it("first and ceiling at and between the keys", () => {
    let m = P.emptyMap<number, string>(P.compareNumbers);
    expect(P.first(m)).toBeUndefined();
    expect(P.ceiling(m, 0)).toBeUndefined();
    for (const k of [10, 20, 30, 40, 50]) m = P.set(m, k, `v${k}`);
    expect(P.first(m)).toEqual([10, "v10"]);
    expect(P.ceiling(m, 10)).toEqual([10, "v10"]);
    expect(P.ceiling(m, 11)).toEqual([20, "v20"]);
    expect(P.ceiling(m, 30)).toEqual([30, "v30"]);
    expect(P.ceiling(m, 31)).toEqual([40, "v40"]);
    expect(P.ceiling(m, 50)).toEqual([50, "v50"]);
    expect(P.ceiling(m, 51)).toBeUndefined();
    expect(P.ceiling(m, -5)).toEqual([10, "v10"]);
  });
});

describe("comparators", () => {
  it("compareStrings and compareNumbers give the sign of the order, 0 when equal", () => {
    expect(P.compareStrings("a", "b")).toBe(-1);
    expect(P.compareStrings("b", "a")).toBe(1);
    expect(P.compareStrings("a", "a")).toBe(0);
    expect(P.compareStrings("10", "9")).toBe(-1);
    expect(Math.sign(P.compareNumbers(9, 10))).toBe(-1);
    expect(Math.sign(P.compareNumbers(10, 9))).toBe(1);
    expect(P.compareNumbers(4, 4)).toBe(0);
  });

  it("compareTuples: element by element, numbers numerically, strings lexically, prefixes first", () => {
    const sign = (a: (string | number)[], b: (string | number)[]) => Math.sign(P.compareTuples(a, b));
    expect(sign([], [])).toBe(0);
    expect(sign(["a", 1], ["a", 1])).toBe(0);
    expect(sign(["a", 2], ["a", 10])).toBe(-1);
    expect(sign(["a", 10], ["a", 2])).toBe(1);
    expect(sign(["a", 5], ["b", 1])).toBe(-1);
    expect(sign(["b", 1], ["a", 5])).toBe(1);
    expect(sign(["ab"], ["b"])).toBe(-1);
    expect(sign([2, "z"], [10, "a"])).toBe(-1);
    expect(sign(["a"], ["a", 0])).toBe(-1);
    expect(sign(["a", 0], ["a"])).toBe(1);
    expect(sign([], ["a"])).toBe(-1);
    expect(sign(["a", 1, "x"], ["a", 1, "y"])).toBe(-1);
    expect(sign(["a", 1, "y"], ["a", 1, "x"])).toBe(1);
  });

  test.prop([
    fc.array(fc.oneof(fc.constantFrom("a", "b", "ab"), fc.integer({ min: 0, max: 20 })), { maxLength: 4 }),
    fc.array(fc.oneof(fc.constantFrom("a", "b", "ab"), fc.integer({ min: 0, max: 20 })), { maxLength: 4 }),
  ])("compareTuples is antisymmetric and 0 only for equal tuples", (a, b) => {
    const ab = Math.sign(P.compareTuples(a, b));
    expect(Math.sign(P.compareTuples(b, a))).toBe(ab === 0 ? 0 : -ab);
    expect(ab === 0).toBe(JSON.stringify(a) === JSON.stringify(b));
  });
});
