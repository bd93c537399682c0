/**
 * Id-less mode: the `531` twin of a device profile's `527` line names the same operation
 * (spec §4.8), also when it arrives after that operation ended: it is the platform's second
 * rendering, not a redelivery and not a new operation. While the ended operation's line is
 * kept (`tombstoneMs`) the twin is dropped silently; afterwards it is an operation again.
 */
import { describe, expect, it } from "vitest";
import { encodeOperation, serializeRow, type Operation } from "../src/index.js";
import { Harness } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const config = {
  ...dev2Static,
  supportedOperations: ["c8y_DeviceProfile"],
  tombstoneMs: 10_000,
  settleMs: 5_000,
};

const firmware = { name: "fw", version: "2.0", url: "http://t/fw", isPatch: false, dependency: "" };
const profile527: Operation = {
  template: "527",
  fragment: "c8y_DeviceProfile",
  deviceId: "dev2",
  firmware,
  software: [{ name: "tool", version: "1.1", url: "http://t/tool", action: "install" }],
  configuration: [],
};
const profile531: Operation = {
  ...profile527,
  template: "531",
  software: [{ name: "tool", version: "1.1", softwareType: "apt", url: "http://t/tool", action: "install" }],
};
const line = (op: Operation): string => serializeRow(encodeOperation(op));

/** Runs the 527 to its end: terminal row acknowledged, the line kept as a tombstone. */
const endedProfile = (): Harness => {
  const h = new Harness(config);
  h.bringOnline();
  h.flush();
  h.deliver("s/ds", line(profile527));
  h.flush();
  h.finish(h.handedOut[0]!.key, { status: "successful" });
  h.flush();
  return h;
};

describe("a 531 twin after its 527 ended (id-less)", () => {
  it("is dropped while the ended line is kept: not journaled, not run, not a duplicate", () => {
    const h = endedProfile();
    const received = h.state.counters.operationsReceived;
    h.deliver("s/ds", line(profile531));
    h.flush();
    expect(h.handedOut).toHaveLength(1);
    expect([...h.storage.keys()].filter((k) => k.startsWith("journal/"))).toEqual([]);
    expect(h.state.counters.operationsDuplicate).toBe(0);
    expect(h.state.counters.operationsReceived).toBe(received + 1);
    // Nothing was absorbed as a possible twin operation, so its expiry asks for nothing.
    const rows = h.rowsOn("s/us").length;
    h.advance(10_000);
    h.flush();
    expect(h.rowsOn("s/us").length).toBe(rows);
  });

  it("is a new operation once the ended line is no longer kept", () => {
    const h = endedProfile();
    h.advance(10_000);
    h.deliver("s/ds", line(profile531));
    h.flush();
    expect(h.handedOut.map((o) => o.operation.template)).toEqual(["527", "531"]);
  });
});

describe("a 531 twin in the answer to a 500 (id-less)", () => {
  it("keeps the answer open like any other line: settling ends settleMs after the twin, not after its 527", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.flush();
    h.drop();
    h.advance(60_000);
    h.connack();
    h.suback();
    h.ackAll(); // the 500 is acknowledged: the answer window opens
    h.deliver("s/ds", line(profile527));
    h.flush();
    h.advance(3_000);
    h.deliver("s/ds", line(profile531));
    h.flush();
    h.advance(2_000); // settleMs after the 527, 2 s after the twin: still settling
    h.flush();
    expect(h.handedOut).toEqual([]);
    h.advance(3_000);
    h.flush();
    expect(h.handedOut.map((o) => o.operation.template)).toEqual(["527"]);
  });
});
