/**
 * The persistent FIFO (engine/queue.ts) against a plain array: after every push, push-front,
 * pop and pop-while, the queue holds exactly the array's elements in order, its size is the
 * array's length, and its front is empty only when the queue is (the invariant `peek` relies
 * on). Old versions stay as they were. Written for the outbox chunk of the engine's mutation run.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import {
  emptyQueue,
  fromArray,
  peek,
  pop,
  popWhile,
  push,
  pushFront,
  toArray,
  type Queue,
} from "../src/engine/queue.js";

type Op =
  | { readonly kind: "push" }
  | { readonly kind: "pushFront" }
  | { readonly kind: "pop" }
  | { readonly kind: "popWhile"; readonly n: number }
  | { readonly kind: "rebuild" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ kind: "push" }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: "pushFront" }) },
  { weight: 3, arbitrary: fc.constant<Op>({ kind: "pop" }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("popWhile" as const), n: fc.nat({ max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: "rebuild" }) },
);

/** The queue as seen from outside, plus the invariant that makes `peek` O(1). */
const expectQueue = (q: Queue<number>, model: readonly number[]): void => {
  expect(toArray(q)).toEqual(model);
  expect(q.size).toBe(model.length);
  expect(peek(q)).toBe(model[0]);
  expect(q.front === null, "front empty only when the queue is").toBe(model.length === 0);
};

/** Every element by popping one at a time (exercises the front/back reversal). */
const drain = (q: Queue<number>): number[] => {
  const out: number[] = [];
  for (let cur = pop(q); cur !== undefined; cur = pop(cur[1])) out.push(cur[0]);
  return out;
};

describe("queue: the same as an array", () => {
  test.prop([fc.array(op, { minLength: 20, maxLength: 120 })])("after every operation", (ops) => {
    let q: Queue<number> = emptyQueue();
    let model: number[] = [];
    let next = 1;
    const versions: [Queue<number>, number[]][] = [];
    for (const o of ops) {
      switch (o.kind) {
        case "push":
          q = push(q, next);
          model = [...model, next++];
          break;
        case "pushFront":
          q = pushFront(q, next);
          model = [next++, ...model];
          break;
        case "pop": {
          const r = pop(q);
          if (model.length === 0) expect(r).toBeUndefined();
          else {
            expect(r?.[0]).toBe(model[0]);
            q = r![1];
            model = model.slice(1);
          }
          break;
        }
        case "popWhile": {
          // Takes while fewer than n were seen: a stateful predicate, called oldest first.
          const seen: number[] = [];
          const { taken, rest } = popWhile(q, (v) => {
            seen.push(v);
            return seen.length <= o.n;
          });
          const k = Math.min(o.n, model.length);
          expect(taken).toEqual(model.slice(0, k));
          expect(seen).toEqual(model.slice(0, Math.min(o.n + 1, model.length)));
          if (k === 0) expect(rest).toBe(q);
          q = rest;
          model = model.slice(k);
          break;
        }
        case "rebuild":
          q = fromArray(toArray(q));
          break;
      }
      expectQueue(q, model);
      versions.push([q, model]);
    }
    expect(drain(q)).toEqual(model);
    for (const [old, m] of versions) {
      expect(toArray(old)).toEqual(m);
      expect(drain(old)).toEqual(m);
    }
  });

  it("pops in arrival order across the front and the back half", () => {
    // push 1 makes the front; 2, 3, 4 go to the back (newest first) and are reversed on demand.
    let q = push(push(push(push(emptyQueue<number>(), 1), 2), 3), 4);
    expect(q.size).toBe(4);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = pop(q)!;
      order.push(r[0]);
      q = r[1];
      expect(q.size).toBe(3 - i);
      expect(peek(q)).toBe(i < 3 ? i + 2 : undefined);
    }
    expect(order).toEqual([1, 2, 3, 4]);
    expect(pop(q)).toBeUndefined();
  });

  it("pushFront puts the element before every other, also before the back half", () => {
    const q = pushFront(push(push(emptyQueue<string>(), "a"), "b"), "z");
    expect(toArray(q)).toEqual(["z", "a", "b"]);
    expect(q.size).toBe(3);
    expect(drain(pushFront(emptyQueue<number>(), 7) as Queue<number>)).toEqual([7]);
  });

  it("popWhile crosses from the front into the back half and keeps the rest in order", () => {
    const q = push(push(push(push(emptyQueue<number>(), 1), 2), 3), 4);
    const { taken, rest } = popWhile(q, (v) => v <= 2);
    expect(taken).toEqual([1, 2]);
    expect(toArray(rest)).toEqual([3, 4]);
    expect(rest.size).toBe(2);
    expect(peek(rest)).toBe(3);
    expect(drain(rest)).toEqual([3, 4]);
    const all = popWhile(q, () => true);
    expect(all.taken).toEqual([1, 2, 3, 4]);
    expect(all.rest.size).toBe(0);
    expect(peek(all.rest)).toBeUndefined();
  });

  it("popWhile on an empty queue asks nothing and returns the same queue", () => {
    const q = emptyQueue<number>();
    let asked = 0;
    const { taken, rest } = popWhile(q, () => {
      asked++;
      return true;
    });
    expect(asked).toBe(0);
    expect(taken).toEqual([]);
    expect(rest).toBe(q);
  });

  it("fromArray and toArray keep the order; the empty array is the empty queue", () => {
    expect(toArray(fromArray([3, 1, 2]))).toEqual([3, 1, 2]);
    expect(fromArray([3, 1, 2]).size).toBe(3);
    expect(peek(fromArray([3, 1, 2]))).toBe(3);
    expect(toArray(fromArray([]))).toEqual([]);
    expect(fromArray([]).size).toBe(0);
  });

  it("a queue emptied by pop or popWhile is the one shared empty queue", () => {
    // Documented: untouched and drained outbox classes share one empty queue (memory per engine).
    const one = push(emptyQueue<number>(), 1);
    expect(pop(one)![1]).toBe(emptyQueue());
    const two = push(one, 2);
    expect(popWhile(two, () => true).rest).toBe(emptyQueue());
    expect(pop(pop(two)![1])![1]).toBe(emptyQueue());
  });
});
