/**
 * Regressions found while measuring operations by id (issue 8): a JWT whose lifetime overflows,
 * and an `s/e` payload with thousands of distinct codes.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, tokenRefreshDelay } from "../src/index.js";
import { Harness } from "./support/harness.js";

const jwt = (claims: Record<string, unknown>): string =>
  `x.${btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.y`;

describe("regressions", () => {
  it("a JWT lifetime that overflows gives a finite refresh delay (every timer is finite, every log line decodes)", () => {
    const delay = tokenRefreshDelay(jwt({ iat: 0, exp: 1e308 }));
    expect(Number.isFinite(delay)).toBe(true);
    expect(delay).toBe(24 * 3_600_000);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 600 }))).toBe(300_000);
    const h = new Harness({ deviceId: "c1", auth: { mode: "certificate" } });
    h.bringOnline();
    h.deliver("s/dat", `71,${jwt({ iat: 0, exp: 1e308 })}`);
    const refresh = h.state.timers["token-refresh"];
    expect(Number.isFinite(refresh)).toBe(true);
    expect(JSON.parse(canonicalJson(h.state.timers))["token-refresh"]).toBe(refresh);
  });

  it("counts s/e codes in a bounded map: 10,000 distinct codes in one payload", () => {
    const h = new Harness({
      deviceId: "d1",
      auth: { mode: "password", tenant: "t", user: "u", password: "p" },
    });
    h.bringOnline();
    const lines = Array.from({ length: 10_000 }, (_, i) => `${1000 + i},200,bad`).join("\n");
    h.deliver("s/e", lines);
    const counts = h.state.counters.platformErrors;
    expect(Object.keys(counts).length).toBeLessThanOrEqual(33);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(counts["other"]).toBe(10_000 - 32);
  });
});
