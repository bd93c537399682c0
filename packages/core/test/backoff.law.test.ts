/**
 * The reconnect backoff as a law, observed only through `step` (connect failures → the
 * `reconnect` timer): attempt n (counted from 0 since the last stable session) waits
 * min(cap, floor·2^n) with equal jitter, never below the floor. So each attempt's range lies
 * above the previous one's until the cap, and only a session that stayed up `stableMs`
 * starts the count again.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { Harness, commandsOf } from "./support/harness.js";

const FLOOR = 1_000;
const CAP = 64_000;
const STABLE = 60_000;

const configWithSeed = (seed: number) => ({
  deviceId: "dev5",
  auth: { mode: "password", tenant: "t5", user: "device_dev5", password: "pw" },
  backoff: { floorMs: FLOOR, capMs: CAP, stableMs: STABLE },
  seed,
});

/** The range the specification allows for attempt `n`: [max(floor, ceiling/2), ceiling]. */
const allowed = (n: number): { lo: number; hi: number } => {
  const ceiling = Math.min(CAP, FLOOR * 2 ** n);
  return { lo: Math.max(FLOOR, Math.floor(ceiling / 2)), hi: ceiling };
};

/** The delay of the `reconnect` timer set by the last commands. */
const reconnectDelay = (h: Harness, commands: ReturnType<Harness["send"]>): number => {
  const timer = commandsOf(commands, "timer-set").find((t) => t.key === "reconnect");
  if (timer === undefined) throw new Error("no reconnect timer was set");
  return timer.atMs - h.now;
};

/** Fails `count` connection attempts in a row (CONNACK 3, transient), returning each wait. */
const failConnects = (h: Harness, count: number): number[] => {
  const delays: number[] = [];
  for (let i = 0; i < count; i++) {
    const delay = reconnectDelay(h, h.connack(3));
    delays.push(delay);
    const retry = h.advance(delay);
    expect(commandsOf(retry, "connect")).toHaveLength(1);
  }
  return delays;
};

const goOnline = (h: Harness): void => {
  h.connack();
  h.suback();
  expect(h.state.phase.name).toBe("online");
};

describe("backoff grows", () => {
  it("the specified ranges: each attempt's lies above the previous one's until the cap", () => {
    expect(allowed(0)).toEqual({ lo: FLOOR, hi: FLOOR });
    for (let n = 0; n < 12; n++) {
      const [now, next] = [allowed(n), allowed(n + 1)];
      if (now.hi < CAP) {
        expect(next.hi).toBeGreaterThan(now.hi);
        expect(next.lo).toBeGreaterThanOrEqual(now.hi);
      } else {
        expect(next).toEqual({ lo: CAP / 2, hi: CAP });
      }
    }
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 })], { numRuns: 40 })(
    "attempt n waits within its range, never less than attempt n-1 until the cap",
    (seed) => {
      const h = new Harness(configWithSeed(seed));
      h.start();
      const delays = failConnects(h, 10);
      delays.forEach((d, n) => {
        expect(d, `attempt ${n}`).toBeGreaterThanOrEqual(allowed(n).lo);
        expect(d, `attempt ${n}`).toBeLessThanOrEqual(allowed(n).hi);
      });
      // Until the cap, a wait is never shorter than the one before (the ranges only touch).
      for (let n = 1; allowed(n - 1).hi < CAP; n++) expect(delays[n]).toBeGreaterThanOrEqual(delays[n - 1]!);
      // From attempt 6 (64 s = floor · 2^6) on, waits stay jittered just under the cap.
      for (const d of delays.slice(6)) expect(d).toBeGreaterThanOrEqual(CAP / 2);
    },
  );

  it("the first wait is the floor, the third is at least twice it", () => {
    const h = new Harness(configWithSeed(11));
    h.start();
    const [first, second, third] = failConnects(h, 3);
    expect(first).toBe(FLOOR);
    expect(second).toBeGreaterThanOrEqual(FLOOR);
    expect(third).toBeGreaterThanOrEqual(2 * FLOOR);
  });
});

describe("backoff resets as specified", () => {
  it("after a session that stayed up stableMs, the next wait is the floor again", () => {
    const h = new Harness(configWithSeed(5));
    h.start();
    failConnects(h, 5);
    goOnline(h);
    h.advance(STABLE);
    expect(reconnectDelay(h, h.drop())).toBe(FLOOR);
  });

  it("a session that reached online resets the count: the next outage retries at the floor plus jitter", () => {
    const h = new Harness(configWithSeed(5));
    h.start();
    failConnects(h, 5); // attempts 0..4 used; without the reset the next would be attempt 5
    goOnline(h);
    h.advance(1); // a short session, far from stableMs
    const delay = reconnectDelay(h, h.drop());
    expect(delay).toBeGreaterThanOrEqual(allowed(0).lo);
    expect(delay).toBeLessThanOrEqual(allowed(0).hi);
  });

  it("the count goes on growing across failures after the reset", () => {
    const h = new Harness(configWithSeed(9));
    h.start();
    failConnects(h, 4);
    goOnline(h);
    h.advance(STABLE);
    const first = reconnectDelay(h, h.drop());
    h.advance(first);
    const after = failConnects(h, 3);
    expect([first, ...after].map((d, n) => d >= allowed(n).lo && d <= allowed(n).hi)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(after[2]).toBeGreaterThanOrEqual(4 * FLOOR);
  });
});
