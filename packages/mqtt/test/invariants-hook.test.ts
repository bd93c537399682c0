/**
 * `coreInvariants()` hands the core's laws to the driver's `checkInvariants` hook: a real
 * step passes, a step breaking a law throws (which faults the driver) and names the law.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeConfig, initialState, step, type Command, type Event } from "@c8ylink/core";
import { coreInvariants } from "../src/driver.js";

const config = decodeConfig({
  deviceId: "dev",
  auth: { mode: "password", tenant: "t1", user: "device_dev", password: "pw" },
});

describe("coreInvariants", () => {
  it("passes a real step and throws, naming the law, on a publish over the size limit", () => {
    if (E.isLeft(config)) throw new Error("bad test config");
    const before = initialState(config.right);
    const event: Event = { type: "start", durable: {}, nowMs: 0 };
    const { state, commands } = step(before, event);
    const hook = coreInvariants();
    expect(() => hook(before, event, state, commands)).not.toThrow();
    const huge: Command = {
      type: "publish",
      connectionId: 1,
      ref: 99,
      topic: "s/us",
      payload: `100,${"x".repeat(17_000)}`,
      qos: 1,
    };
    expect(() => hook(before, event, state, [...commands, huge])).toThrow(/size-law/);
  });
});
