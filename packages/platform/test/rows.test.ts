/** The platform's upstream row reader agrees with the core's encoder for every static template. */
import { describe, expect, it } from "vitest";
import { encodeUpstream, UPSTREAM_TEMPLATE_IDS, type UpstreamMessage } from "@c8ylink/core";
import { readStaticRow } from "../src/index.js";

const T = "2024-02-29T12:00:00.000+01:00";

/** One message per template, with every field (and a repeating group of two where there is one). */
const SAMPLES: readonly UpstreamMessage[] = [
  { template: "100", name: "n", type: "t" },
  { template: "101", childId: "c", name: "n", type: "t", isDevice: false },
  { template: "102", externalId: "x", serviceType: "systemd", name: "n", status: "up" },
  { template: "104", status: "down" },
  { template: "105" },
  { template: "107", fragments: ["a", "b"] },
  { template: "110", serialNumber: "s", model: "m", revision: "r" },
  { template: "111", imei: "1", iccid: "2", imsi: "3", mcc: "4", mnc: "5", lac: "6", cellId: "7" },
  { template: "112", latitude: 1.5, longitude: -2, altitude: 3, accuracy: 4 },
  { template: "113", configuration: "a=1\nb=2" },
  { template: "114", operations: ["c8y_Restart", "c8y_Command"] },
  { template: "115", name: "fw", version: "1", url: "u" },
  {
    template: "116",
    software: [
      { name: "a", version: "1", url: "u" },
      { name: "b", url: "v" },
    ],
  },
  { template: "117", interval: 10 },
  { template: "118", logTypes: ["syslog"] },
  { template: "119", configTypes: ["ssh"] },
  { template: "120", type: "ssh", url: "u", fileName: "f", time: T },
  { template: "121", executed: true, profileId: "9" },
  { template: "122", name: "a", version: "1", url: "u", maintainer: "m" },
  { template: "123" },
  { template: "125" },
  {
    template: "140",
    software: [
      { name: "a", version: "1", type: "apt", url: "u" },
      { name: "b", version: "2" },
    ],
  },
  { template: "141", software: [{ name: "a", version: "1" }] },
  {
    template: "142",
    software: [
      { name: "a", version: "1" },
      { name: "b", version: "2" },
    ],
  },
  { template: "143", softwareTypes: ["apt"] },
  { template: "150", protocols: ["ssh", "vnc"] },
  { template: "200", fragment: "f", series: "s", value: 1e-7, unit: "u", time: T },
  {
    template: "201",
    type: "t",
    time: T,
    series: [
      { fragment: "f", series: "s", value: 1, unit: "u" },
      { fragment: "g", series: "s", value: 2 },
    ],
  },
  { template: "210", rssi: -70, ber: 5, time: T },
  { template: "211", temperature: 21.5, time: T },
  { template: "212", battery: 80, time: T },
  { template: "301", type: "a", text: "t", time: T },
  { template: "302", type: "a", text: "t" },
  { template: "303", type: "a" },
  { template: "304", type: "a", time: T },
  { template: "305", type: "a", severity: "MINOR" },
  { template: "306", type: "a" },
  { template: "307", type: "a", fragments: ["x", "y"] },
  { template: "400", type: "t", text: "x, y", time: T },
  { template: "401", latitude: 1, longitude: 2, altitude: 3, accuracy: 4, time: T },
  { template: "402", latitude: 1, longitude: 2 },
  { template: "407", type: "t", fragments: ["x"] },
  {
    template: "408",
    text: "t",
    time: T,
    changeDetect: true,
    parameters: [
      { path: "a.b", type: "BOOLEAN", value: "true" },
      { path: "c", type: "NUMBER" },
    ],
  },
  { template: "500" },
  { template: "501", fragment: "c8y_Restart" },
  { template: "502", fragment: "c8y_Restart", reason: "r" },
  { template: "503", fragment: "c8y_RelayArray", parameters: ["OPEN", "", "CLOSED"] },
  { template: "504", operationId: "1" },
  { template: "505", operationId: "1", reason: "r" },
  { template: "506", operationId: "1", parameters: ["x"] },
  { template: "507", fragment: "c8y_Restart", reason: "r" },
  { template: "600" },
  { template: "602" },
];

describe("readStaticRow", () => {
  it("covers every upstream template of the core catalogue", () => {
    expect(SAMPLES.map((m) => m.template)).toEqual(UPSTREAM_TEMPLATE_IDS);
  });

  it.each(SAMPLES.map((m) => [m.template, m] as const))(
    "reads back what encodeUpstream wrote for %s",
    (_id, message) => {
      const row = encodeUpstream(message);
      expect(row._tag).toBe("Right");
      if (row._tag === "Right") expect(readStaticRow(row.right)).toEqual({ _tag: "Right", right: message });
    },
  );

  it("tolerates trailing empties and short trailing groups (spec §4)", () => {
    expect(readStaticRow(["100", "", ""])).toEqual({ _tag: "Right", right: { template: "100" } });
    expect(readStaticRow(["116", "a", "1", "u", "b", "2"])).toMatchObject({
      right: {
        software: [
          { name: "a", version: "1", url: "u" },
          { name: "b", version: "2" },
        ],
      },
    });
    // 101's marker: anything but false means "is a device".
    expect(readStaticRow(["101", "c", "", "", "maybe"])).toEqual({
      _tag: "Right",
      right: { template: "101", childId: "c" },
    });
  });
});
