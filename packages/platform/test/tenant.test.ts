/**
 * Tenant behaviour added for the simulated tenant: processing modes (§2.4), admin alarm
 * acknowledge/clear, rate limits (§1.11), the default collection of the ClientId (§1.3, §6.1)
 * and INVENTORY request templates (§6.2).
 */
import { describe, expect, it } from "vitest";
import { findDevice, listAlarms, listDevices, listEvents, listMeasurements } from "../src/index.js";
import { connackCode, delivered, deviceUsers, ofType, Sim, TENANT } from "./support/sim.js";

const online = (options = {}) => {
  const s = new Sim({ users: deviceUsers("dev1"), ...options });
  s.device("c", "dev1", "s/e");
  s.publish("c", "s/us", "100");
  return s;
};

describe("processing modes", () => {
  it("t/ stores nothing, c/ stores alarms only, q/ and s/ store everything", () => {
    const s = online();
    for (const prefix of ["s", "t", "q", "c"])
      s.publish("c", `${prefix}/us`, `211,20\n400,e_${prefix},text\n301,a_${prefix},alarm`);
    expect(listMeasurements(s.state).map((m) => m.mode)).toEqual(["persistent", "quiescent"]);
    expect(listEvents(s.state).map((e) => e.type)).toEqual(["e_s", "e_q"]);
    expect(listAlarms(s.state).map((a) => a.type)).toEqual(["a_s", "a_q", "a_c"]);
    // Transient data is still a heartbeat.
    const before = s.now;
    s.publish("c", "t/us", "211,21");
    expect(findDevice(s.state, "dev1")?.fragments["c8y_Availability"]).toMatchObject({
      lastMessage: new Date(before + 1000).toISOString(),
    });
  });

  it("storeAllModes keeps the old behaviour; JSON topics follow the same rule", () => {
    const s = online({ storeAllModes: true });
    s.publish("c", "t/us", "211,20");
    expect(listMeasurements(s.state)).toHaveLength(1);
    const t = online();
    t.publish(
      "c",
      "t/measurement/measurements/create",
      JSON.stringify({ type: "x", time: "2025-01-01T00:00:00Z" }),
    );
    expect(listMeasurements(t.state)).toEqual([]);
  });
});

describe("admin acknowledge / clear alarms", () => {
  it("ACTIVE → ACKNOWLEDGED → CLEARED by id; other transitions and unknown ids are refused", () => {
    const s = online();
    s.publish("c", "s/us", "301,a,raised");
    const id = listAlarms(s.state)[0]?.id ?? "";
    const ok = (type: "admin-acknowledge-alarm" | "admin-clear-alarm", alarmId = id) =>
      ofType(s.step({ type, alarmId }), "admin-result")[0]?.ok;
    expect(ok("admin-acknowledge-alarm")).toBe(true);
    expect(listAlarms(s.state)[0]?.status).toBe("ACKNOWLEDGED");
    expect(ok("admin-acknowledge-alarm")).toBe(false);
    // Re-raising an acknowledged alarm de-duplicates into it.
    s.publish("c", "s/us", "301,a,raised");
    expect(listAlarms(s.state)).toMatchObject([{ status: "ACKNOWLEDGED", count: 2 }]);
    expect(ok("admin-clear-alarm")).toBe(true);
    expect(ok("admin-clear-alarm")).toBe(false);
    expect(ok("admin-clear-alarm", "999999")).toBe(false);
    expect(listAlarms(s.state)).toMatchObject([{ status: "CLEARED" }]);
  });
});

describe("rate limit", () => {
  it("more than perSecond + queue publishes within one second close the connection", () => {
    const s = online({ rateLimit: { perSecond: 2, queue: 1 } });
    const at = s.now + 10_000 - ((s.now + 10_000) % 1000);
    const send = () => {
      s.now = at - 1000; // the driver adds 1000 per step: every publish lands in the same second
      return s.publish("c", "s/us", "211,1");
    };
    expect(ofType(send(), "disconnect")).toEqual([]);
    expect(ofType(send(), "disconnect")).toEqual([]);
    expect(ofType(send(), "disconnect")).toEqual([]);
    expect(ofType(send(), "disconnect")[0]?.reason).toMatch(/rate limit exceeded/);
    expect(listMeasurements(s.state)).toHaveLength(3);
    // A new second starts a new window.
    s.device("c", "dev1");
    expect(ofType(s.publish("c", "s/us", "211,1"), "disconnect")).toEqual([]);
  });
});

describe("default collection of the ClientId (s/ud, s/dd)", () => {
  const withDefault = () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    expect(connackCode(s.connect("c", "d:dev1:myXid", `${TENANT}/device_dev1`, "pw-dev1"))).toBe(0);
    s.publish("c", "s/us", "100");
    expect(ofType(s.subscribe("c", "s/dd", "s/e", "s/ds"), "suback")[0]?.granted).toEqual([1, 1, 1]);
    s.publish(
      "c",
      "s/ut/myXid",
      [
        "10,999,POST,MEASUREMENT,true,c8y_M,,c8y_M.M.value,NUMBER,",
        "11,888,,c8y_M,c8y_M.M.value",
        "11,777,,c8y_Restart,deviceId",
      ].join("\n"),
    );
    return s;
  };

  it("s/ud uses the default X-ID; answers and operations come on s/dd", () => {
    const s = withDefault();
    expect(delivered(s.publish("c", "s/ud", "999,,25"), "s/dd")).toEqual(["888,25"]);
    expect(listMeasurements(s.state)).toMatchObject([
      { type: "c8y_M", fragments: { c8y_M: { M: { value: 25 } } } },
    ]);
    expect(delivered(s.operation("dev1", { c8y_Restart: {} }), "s/dd")).toEqual([
      `777,dev1,${findDevice(s.state, "dev1")?.id ?? ""}`,
    ]);
  });

  it("without a default X-ID s/dd is refused and s/ud closes the connection", () => {
    const s = online();
    expect(ofType(s.subscribe("c", "s/dd"), "suback")[0]?.granted).toEqual([0x80]);
    expect(ofType(s.publish("c", "s/ud", "999,1"), "disconnect")).toHaveLength(1);
  });
});

describe("INVENTORY request templates", () => {
  const templates = [
    "10,301,GET,INVENTORY,,true",
    "10,302,GET,INVENTORY,,false,c8y_Serial",
    "10,303,GET,INVENTORY,,false",
    "10,304,POST,INVENTORY,true,c8y_MySerial,name,STRING,",
    "10,305,PUT,INVENTORY,true,false,c8y_Serial,c8y_MyCustomValue,STRING,",
    "10,306,POST,INVENTORY,true,,type,STRING,",
    "11,888,,c8y_IsDevice,type,c8y_Test,name",
    "11,889,,,id,name,c8y_MyCustomValue",
  ].join("\n");
  const withTemplates = () => {
    const s = online();
    s.subscribe("c", "s/dc/inv");
    s.publish("c", "s/ut/inv", templates);
    return s;
  };

  it("GET by internal id, by fixed and by sent external id type answer through response templates", () => {
    const s = withTemplates();
    const id = findDevice(s.state, "dev1")?.id ?? "";
    const answers = (line: string) => delivered(s.publish("c", "s/uc/inv", line), "s/dc/inv");
    expect(answers(`301,${id}`)).toEqual([
      "888,c8y_MQTTDevice,,MQTT Device dev1",
      `889,${id},MQTT Device dev1,`,
    ]);
    expect(answers("302,dev1")).toHaveLength(2);
    expect(answers("303,c8y_Serial,dev1")).toHaveLength(2);
    expect(delivered(s.publish("c", "s/uc/inv", "302,nobody"), "s/e")).toEqual([
      "41,302,Managed object c8y_Serial/nobody not found",
    ]);
  });

  it("POST creates an object with its external id; PUT updates it by external id", () => {
    const s = withTemplates();
    const [created = ""] = delivered(s.publish("c", "s/uc/inv", "304,imei-1,Meter"), "s/dc/inv");
    const mo = listDevices(s.state).find((d) => d.externalId === "c8y_MySerial:imei-1");
    expect(mo).toMatchObject({ name: "Meter", owner: "device_dev1" });
    expect(created).toBe(`889,${mo?.id ?? ""},Meter,`);
    expect(delivered(s.publish("c", "s/uc/inv", "304,imei-1,Again"), "s/e")).toEqual([
      "41,304,External id c8y_MySerial/imei-1 already exists",
    ]);
    // value then type when the template does not fix the type; an empty value creates no id
    s.publish("c", "s/uc/inv", "306,,,thing");
    expect(listDevices(s.state).filter((d) => d.type === "thing")).toHaveLength(1);
    expect(delivered(s.publish("c", "s/uc/inv", "305,dev1,v1"), "s/dc/inv")[1]).toMatch(
      /,MQTT Device dev1,v1$/,
    );
    expect(findDevice(s.state, "dev1")?.fragments["c8y_MyCustomValue"]).toBe("v1");
  });

  it("objects outside the session's tree and not its own are not found", () => {
    const s = new Sim({ users: deviceUsers("dev1", "dev2") });
    s.device("o", "dev2");
    s.publish("o", "s/us", "100");
    s.device("c", "dev1", "s/e", "s/dc/inv");
    s.publish("c", "s/us", "100");
    s.publish("c", "s/ut/inv", templates);
    expect(delivered(s.publish("c", "s/uc/inv", "302,dev2"), "s/e")).toEqual([
      "41,302,Managed object c8y_Serial/dev2 not found",
    ]);
  });
});
