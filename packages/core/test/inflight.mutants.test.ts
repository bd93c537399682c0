/**
 * The in-flight window against a model (written against the survivors of a mutation run of
 * engine/inflight.ts): any sequence of publishes and PUBACKs — in order, out of order,
 * duplicated, for refs never sent — leaves exactly the packets a plain list says are waiting,
 * with the right count, found by ref, listed oldest first, and nothing left once all are in.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import {
  addInflight,
  emptyInflight,
  findInflight,
  inflightPackets,
  takeInflight,
  type Inflight,
  type InflightPacket,
} from "../src/engine/inflight.js";

type Op = { readonly kind: "publish" } | { readonly kind: "puback"; readonly pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: "publish" }),
  fc.record({ kind: fc.constant("puback" as const), pick: fc.nat({ max: 40 }) }),
);

const packet = (ref: number): InflightPacket => ({ ref, source: "outbox", entries: [] });

describe("the in-flight window", () => {
  test.prop([fc.array(op, { maxLength: 60 })])(
    "agrees with a list of waiting refs after every publish and PUBACK",
    (ops) => {
      let window: Inflight = emptyInflight();
      let waiting: number[] = [];
      let next = 1;
      for (const o of ops) {
        if (o.kind === "publish") {
          window = addInflight(window, packet(next));
          waiting.push(next);
          next += 1;
        } else {
          // Mostly a waiting ref (any position), else one already acknowledged or never sent.
          const ref = o.pick % 4 !== 0 && waiting.length > 0 ? waiting[o.pick % waiting.length]! : o.pick;
          const taken = takeInflight(window, ref);
          if (waiting.includes(ref)) {
            expect(taken?.packet.ref).toBe(ref);
            window = taken!.inflight;
            waiting = waiting.filter((r) => r !== ref);
          } else {
            expect(taken, `PUBACK ${ref} for nothing in flight`).toBeUndefined();
          }
        }
        expect(window.count).toBe(waiting.length);
        expect(inflightPackets(window).map((p) => p.ref)).toEqual(waiting);
        for (let ref = 0; ref <= next; ref++)
          expect(findInflight(window, ref)?.ref, `find ${ref}`).toBe(waiting.includes(ref) ? ref : undefined);
      }
      // Everything acknowledged: nothing is kept, not even the out-of-order bookkeeping.
      for (const ref of [...waiting].reverse()) window = takeInflight(window, ref)!.inflight;
      expect(window.count).toBe(0);
      expect(window.ackedAhead).toEqual([]);
      expect(inflightPackets(window)).toEqual([]);
      expect(findInflight(window, 1)).toBeUndefined();
    },
  );
});
