/** CONNECT, SUBSCRIBE, duplicate ClientIds and the publish guards (spec §1, §2.5, §9). */
import { describe, expect, it } from "vitest";
import { listDevices, listSessions, SUBACK_FAILURE } from "../src/index.js";
import { connackCode, delivered, deviceUsers, ofType, Sim, TENANT } from "./support/sim.js";

describe("CONNACK codes", () => {
  const sim = () => new Sim({ users: deviceUsers("dev1"), trustedCertificates: ["cert1"] });

  it("accepts a provisioned user with any of the equivalent ClientId forms", () => {
    for (const clientId of ["dev1", "d:dev1", "d:dev1:myTemplates"]) {
      expect(connackCode(sim().connect("c", clientId, `${TENANT}/device_dev1`, "pw-dev1"))).toBe(0);
    }
  });

  it.each([
    ["a ':' inside the device id", "d:dev:1:x:y"],
    ["an unknown connection type", "x:dev1"],
    ["a '/' in the id", "dev/1"],
    ["an empty id", ""],
  ])("refuses %s with 2", (_why, clientId) => {
    expect(connackCode(sim().connect("c", clientId, `${TENANT}/device_dev1`, "pw-dev1"))).toBe(2);
  });

  it("answers 4 for a wrong password, unknown user or tenant, and 5 without a password", () => {
    expect(connackCode(sim().connect("c", "dev1", `${TENANT}/device_dev1`, "nope"))).toBe(4);
    expect(connackCode(sim().connect("c", "dev1", `${TENANT}/someone`, "pw-dev1"))).toBe(4);
    expect(connackCode(sim().connect("c", "dev1", `t999/device_dev1`, "pw-dev1"))).toBe(4);
    expect(connackCode(sim().connect("c", "dev1", `${TENANT}/device_dev1`, ""))).toBe(5);
    expect(connackCode(sim().connect("c", "dev1", null, null))).toBe(5);
  });

  it("answers 1 for protocol levels other than 3.1 / 3.1.1, and 5 for long ClientIds on 3.1", () => {
    const s = sim();
    const base = {
      type: "client-connect",
      clientKey: "c",
      username: `${TENANT}/device_dev1`,
      password: "pw-dev1",
      certificateCn: null,
    } as const;
    expect(connackCode(s.step({ ...base, clientId: "dev1", protocolLevel: 5 }))).toBe(1);
    expect(connackCode(s.step({ ...base, clientId: "d:dev1-with-a-long-serial", protocolLevel: 3 }))).toBe(5);
    expect(connackCode(s.step({ ...base, clientId: "dev1", protocolLevel: 3 }))).toBe(0);
  });

  it("certificate logins: trusted CN equal to the ClientId id → 0, anything else → 5", () => {
    expect(connackCode(sim().connect("c", "d:cert1", null, null, "cert1"))).toBe(0);
    expect(connackCode(sim().connect("c", "d:cert2", null, null, "cert2"))).toBe(5);
    expect(connackCode(sim().connect("c", "d:dev1", null, null, "cert1"))).toBe(5);
  });

  it("a deleted device's credentials get 4 afterwards, and its live session is closed", () => {
    const s = new Sim({ autoAccept: true });
    s.step({ type: "admin-register", deviceId: "dev9" });
    s.connect("boot", "dev9", "management/devicebootstrap", "bs-secret");
    s.subscribe("boot", "s/dcr");
    s.publish("boot", "s/ucr", "");
    const [line = ""] = delivered(s.publish("boot", "s/ucr", ""), "s/dcr");
    const [, tenant, user, password] = line.split(",");
    expect(connackCode(s.connect("dev", "d:dev9", `${tenant}/${user}`, password ?? ""))).toBe(0);
    s.publish("dev", "s/us", "100");
    const out = s.step({ type: "admin-delete-device", deviceId: "dev9" });
    expect(ofType(out, "disconnect")).toMatchObject([{ clientKey: "dev", reason: "device deleted" }]);
    expect(listDevices(s.state)).toEqual([]);
    expect(connackCode(s.connect("dev", "d:dev9", `${tenant}/${user}`, password ?? ""))).toBe(4);
  });
});

describe("duplicate ClientId", () => {
  it("the new connection wins and the old one is disconnected", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("old", "dev1", "s/ds");
    const out = s.connect("new", "dev1", `${TENANT}/device_dev1`, "pw-dev1");
    expect(ofType(out, "disconnect")).toEqual([
      { type: "disconnect", clientKey: "old", reason: "duplicate ClientId: dev1 connected again" },
    ]);
    expect(connackCode(out)).toBe(0);
    expect(listSessions(s.state).map((x) => x.clientKey)).toEqual(["new"]);
    // The old key has no session any more: its next publish is refused.
    expect(ofType(s.publish("old", "s/us", "100"), "disconnect")).toHaveLength(1);
  });
});

describe("SUBSCRIBE", () => {
  it("grants downstream topics and refuses publish, unknown and wildcard topics with 0x80", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1");
    const out = s.step({
      type: "client-subscribe",
      clientKey: "c",
      topics: [
        { topic: "s/ds", qos: 2 },
        { topic: "s/e", qos: 0 },
        { topic: "s/dc/myXid", qos: 1 },
        { topic: "s/dt", qos: 1 },
        { topic: "s/us", qos: 1 },
        { topic: "s/dcr", qos: 1 },
        { topic: "s/dat", qos: 1 },
        { topic: "s/dc/#", qos: 1 },
        { topic: "foo/bar", qos: 1 },
        { topic: "s/ds", qos: 3 },
      ],
    });
    expect(ofType(out, "suback")[0]?.granted).toEqual([2, 0, 1, 1, ...Array(6).fill(SUBACK_FAILURE)]);
  });

  it("bootstrap sessions may only subscribe s/dcr and s/e", () => {
    const s = new Sim();
    s.connect("b", "dev1", "management/devicebootstrap", "bs-secret");
    expect(ofType(s.subscribe("b", "s/dcr", "s/e", "s/ds"), "suback")[0]?.granted).toEqual([
      1,
      1,
      SUBACK_FAILURE,
    ]);
  });

  it("with refuseSubscribeBeforeDevice, subscriptions wait for the device to exist", () => {
    const s = new Sim({ users: deviceUsers("dev1"), refuseSubscribeBeforeDevice: true });
    s.device("c", "dev1");
    expect(ofType(s.subscribe("c", "s/ds"), "suback")[0]?.granted).toEqual([SUBACK_FAILURE]);
    s.publish("c", "s/us", "100");
    expect(ofType(s.subscribe("c", "s/ds"), "suback")[0]?.granted).toEqual([1]);
  });
});

describe("publish guards", () => {
  const connected = () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1", "s/e");
    return s;
  };

  it("a PUBLISH over 16184 bytes disconnects and is not processed", () => {
    const s = connected();
    // Packet = 1 + varint(2) + 2 + 4 ("s/us") + 2 (packet id) + payload.
    const limit = 16184 - 11;
    const fits = `400,t,${"x".repeat(limit - 6)}`;
    expect(ofType(s.publish("c", "s/us", fits), "publish-accepted")).toHaveLength(1);
    const out = s.publish("c", "s/us", `${fits}x`);
    expect(ofType(out, "disconnect")[0]?.reason).toMatch(/16185 bytes exceeds 16184/);
    expect(s.state.events).toHaveLength(1);
    expect(listSessions(s.state)).toEqual([]);
  });

  it.each(["s/ds", "s/e", "s/dcr", "x/us", "s/us/a/b", "s/ul/xid", "s/ucr"])(
    "publishing on %s disconnects",
    (topic) => {
      const s = connected();
      expect(ofType(s.publish("c", topic, "100"), "disconnect")).toHaveLength(1);
    },
  );
});
