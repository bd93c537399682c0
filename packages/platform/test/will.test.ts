/** The last will (spec §1.9). */
import { describe, expect, it } from "vitest";
import { findDevice, listEvents } from "../src/index.js";
import { deviceUsers, Sim, TENANT } from "./support/sim.js";

const WILL = { topic: "s/us", payload: '400,c8y_ConnectionEvent,"Device connection was lost."', qos: 1 };

const withWill = () => {
  const s = new Sim({ users: deviceUsers("dev1") });
  s.step({
    type: "client-connect",
    clientKey: "c",
    clientId: "d:dev1",
    username: `${TENANT}/device_dev1`,
    password: "pw-dev1",
    certificateCn: null,
    will: WILL,
  });
  s.publish("c", "s/us", "100");
  s.subscribe("c", "s/ds", "s/e");
  return s;
};

describe("last will", () => {
  it("a lost connection publishes the will as the device; nothing is sent to the closed connection", () => {
    const s = withWill();
    const out = s.step({ type: "client-disconnect", clientKey: "c", clean: false });
    expect(out).toEqual([]);
    expect(listEvents(s.state, "dev1")).toMatchObject([
      { type: "c8y_ConnectionEvent", text: "Device connection was lost." },
    ]);
    expect(findDevice(s.state, "dev1")?.fragments["c8y_Availability"]).toMatchObject({
      lastMessage: new Date(s.now).toISOString(),
    });
    expect(findDevice(s.state, "dev1")?.fragments["c8y_Connection"]).toEqual({ status: "DISCONNECTED" });
    expect(s.state.sessions.size).toBe(0);
  });

  it("a clean DISCONNECT (the default) discards the will", () => {
    const s = withWill();
    s.step({ type: "client-disconnect", clientKey: "c" });
    expect(listEvents(s.state)).toEqual([]);
  });

  it("a will on a forbidden topic is not processed and does not disturb the disconnect", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.step({
      type: "client-connect",
      clientKey: "c",
      clientId: "d:dev1",
      username: `${TENANT}/device_dev1`,
      password: "pw-dev1",
      certificateCn: null,
      will: { topic: "s/ds", payload: "x", qos: 0 },
    });
    expect(s.step({ type: "client-disconnect", clientKey: "c", clean: false })).toEqual([]);
    expect(s.state.sessions.size).toBe(0);
  });
});
