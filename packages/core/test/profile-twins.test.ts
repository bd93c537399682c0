/**
 * Id-less mode: the platform renders a `c8y_DeviceProfile` whose software has types as two
 * lines, `527` and then `531` (spec §4.8: 531 is sent in addition to 527). Both name one
 * operation: it must be handed out once and end with one terminal status, not run twice (the
 * second run's `501` would act on nothing, or on the next profile).
 */
import { describe, expect, it } from "vitest";
import { encodeOperation, serializeRow, type Operation } from "../src/index.js";
import { Harness } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const config = {
  ...dev2Static,
  supportedOperations: ["c8y_DeviceProfile"],
};

const firmware = { name: "fw", version: "2.0", url: "http://t/fw", isPatch: false, dependency: "" };
const profile527: Operation = {
  template: "527",
  fragment: "c8y_DeviceProfile",
  deviceId: "dev2",
  firmware,
  software: [{ name: "tool", version: "1.1", url: "http://t/tool", action: "install" }],
  configuration: [{ url: "http://t/conf", type: "agent" }],
};
const profile531: Operation = {
  ...profile527,
  template: "531",
  software: [{ name: "tool", version: "1.1", softwareType: "apt", url: "http://t/tool", action: "install" }],
};
const line = (op: Operation): string => serializeRow(encodeOperation(op));

const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));

const settle = (h: Harness): void => {
  for (let i = 0; i < 5; i++) {
    h.persistAll();
    h.flush();
    h.ackAll();
  }
};

describe("a device profile rendered as 527 and 531 (id-less)", () => {
  it.each([
    ["in one message", (h: Harness) => h.deliver("s/ds", `${line(profile527)}\n${line(profile531)}`)],
    [
      "in two messages",
      (h: Harness) => {
        h.deliver("s/ds", line(profile527));
        h.deliver("s/ds", line(profile531));
      },
    ],
  ])("runs once and ends with one 503 (%s)", (_, deliver) => {
    const h = new Harness(config);
    h.bringOnline();
    deliver(h);
    settle(h);
    expect(h.handedOut.map((c) => c.operation.template)).toHaveLength(1);
    const [first] = h.handedOut;
    if (first === undefined) throw new Error("not handed out");
    h.finish(first.key, { status: "successful", parameters: [] });
    settle(h);
    h.advance(120_000);
    settle(h);
    expect(h.handedOut).toHaveLength(1);
    expect(statusRows(h)).toEqual(["501,c8y_DeviceProfile", "503,c8y_DeviceProfile"]);
  });

  it("still runs a later 531 after the profile ended when it differs from it", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.deliver("s/ds", line(profile527));
    settle(h);
    const [first] = h.handedOut;
    if (first === undefined) throw new Error("not handed out");
    h.finish(first.key, { status: "successful", parameters: [] });
    settle(h);
    const other: Operation = { ...profile531, firmware: { ...firmware, version: "3.0" } };
    h.deliver("s/ds", line(other));
    settle(h);
    expect(h.handedOut.map((c) => c.operation.template)).toEqual(["527", "531"]);
  });
});
