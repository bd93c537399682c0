/** Availability (spec §9): required interval, c8y_Availability / c8y_Connection, unavailability alarm. */
import { describe, expect, it } from "vitest";
import { findDevice, listAlarms } from "../src/index.js";
import { deviceUsers, Sim } from "./support/sim.js";

const fragment = (s: Sim, id: string, name: string) => findDevice(s.state, id)?.fragments[name];
const unavailabilityAlarms = (s: Sim) =>
  listAlarms(s.state, "dev1").filter((a) => a.type === "c8y_UnavailabilityAlarm");

describe("availability", () => {
  it("117 sets the interval; a tick after it makes the device UNAVAILABLE with one alarm; data clears it", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1");
    s.publish("c", "s/us", "100\n117,2\n211,20");
    expect(fragment(s, "dev1", "c8y_RequiredAvailability")).toEqual({ responseInterval: 2 });
    expect(fragment(s, "dev1", "c8y_Availability")).toMatchObject({ status: "AVAILABLE" });
    s.now += 60_000;
    s.step({ type: "clock-tick" });
    expect(fragment(s, "dev1", "c8y_Availability")).toMatchObject({ status: "AVAILABLE" });
    expect(unavailabilityAlarms(s)).toEqual([]);
    s.now += 60_000;
    s.step({ type: "clock-tick" });
    s.step({ type: "clock-tick" });
    expect(fragment(s, "dev1", "c8y_Availability")).toMatchObject({ status: "UNAVAILABLE" });
    expect(unavailabilityAlarms(s)).toMatchObject([{ status: "ACTIVE", severity: "MAJOR", count: 1 }]);
    s.publish("c", "s/us", "125");
    expect(fragment(s, "dev1", "c8y_Availability")).toEqual({
      status: "AVAILABLE",
      lastMessage: new Date(s.now).toISOString(),
    });
    expect(unavailabilityAlarms(s)).toMatchObject([{ status: "CLEARED" }]);
  });

  it("a device without an interval, or with one ≤ 0 (maintenance), never becomes UNAVAILABLE", () => {
    const s = new Sim({ users: deviceUsers("dev1", "dev2") });
    s.device("c", "dev1");
    s.publish("c", "s/us", "100\n211,20");
    s.device("d", "dev2", "s/ds");
    s.publish("d", "s/us", "100\n117,0\n211,20");
    s.now += 24 * 3_600_000;
    s.step({ type: "clock-tick" });
    expect(fragment(s, "dev1", "c8y_Availability")).toMatchObject({ status: "AVAILABLE" });
    expect(fragment(s, "dev2", "c8y_Availability")).toMatchObject({ status: "MAINTENANCE" });
    expect(listAlarms(s.state)).toEqual([]);
  });

  it("c8y_Connection: CONNECTED with a subscription that receives operations, DISCONNECTED when the session ends", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1");
    s.publish("c", "s/us", "100");
    s.subscribe("c", "s/e");
    expect(fragment(s, "dev1", "c8y_Connection")).toBeUndefined();
    s.subscribe("c", "s/ds");
    expect(fragment(s, "dev1", "c8y_Connection")).toEqual({ status: "CONNECTED" });
    s.step({ type: "client-disconnect", clientKey: "c" });
    expect(fragment(s, "dev1", "c8y_Connection")).toEqual({ status: "DISCONNECTED" });
  });

  it("a device that never sent data counts from its creation", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1");
    s.publish("c", "s/us", "100\n117,1");
    s.now += 61_000;
    s.step({ type: "clock-tick" });
    expect(fragment(s, "dev1", "c8y_Availability")).toEqual({ status: "UNAVAILABLE" });
  });
});
