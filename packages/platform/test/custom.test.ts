/** SmartREST 2.0 custom templates (spec §6): s/ut registration and checks, s/uc requests, s/dc responses. */
import { describe, expect, it } from "vitest";
import { findCollection, listAlarms, listEvents, listMeasurements, listOperations } from "../src/index.js";
import { delivered, deviceUsers, Sim } from "./support/sim.js";

const online = () => {
  const s = new Sim({ users: deviceUsers("myMqttTestDevice") });
  s.device("c", "myMqttTestDevice", "s/dt", "s/e", "s/ds", "s/dc/myXid");
  s.publish("c", "s/us", "100");
  return s;
};

const TEMPLATES = [
  "10,999,POST,MEASUREMENT,,c8y_MyMeasurement,,c8y_MyMeasurement.M.value,NUMBER,",
  "10,101,POST,EVENT,,c8y_CustomEvent,mytext,,",
  "10,102,POST,ALARM,,c8y_CustomAlarm,mytext,ACTIVE,MAJOR,",
  "10,103,PUT,ALARM,,c8y_CustomAlarm,status,ALARMSTATUS",
  "10,104,PUT,OPERATION,,c8y_MyOperation,status,OPERATIONSTATUS,SUCCESSFUL,c8y_MyOperation.val,NUMBER,",
  "11,111,c8y_CustomConfiguration,deviceId,val1,val2,customValues[*]",
  "11,222,,deviceId,c8y_CustomConfiguration.val1,c8y_CustomConfiguration.val2",
  "11,333,,deviceId,val1,val2,customValues[*]",
  "11,444,c8y_CustomConfiguration,c8y_CustomConfiguration.val3,val1",
].join("\n");

describe("template collections", () => {
  it("existence check → 41 while missing; creation → 20 with the collection id; re-creation refused", () => {
    const s = online();
    expect(delivered(s.publish("c", "s/ut/myXid", ""), "s/dt")).toEqual(["41,myXid"]);
    const [created = ""] = delivered(s.publish("c", "s/ut/myXid", TEMPLATES), "s/dt");
    const id = findCollection(s.state, "myXid")?.id;
    expect(created).toBe(`20,myXid,${id}`);
    expect(delivered(s.publish("c", "s/ut/myXid", ""), "s/dt")).toEqual([created]);
    expect(delivered(s.publish("c", "s/ut/myXid", TEMPLATES), "s/e")).toEqual([
      "41,myXid,Cannot create templates for already existing template object",
    ]);
  });

  it("a bad line refuses the whole collection", () => {
    const s = online();
    const bad = (payload: string) => delivered(s.publish("c", "s/ut/other", payload), "s/e");
    expect(bad("10,1,POST,MEASUREMENT,,t,\n12,x")).toEqual([
      "41,other,Not a valid message identifier for template creation",
    ]);
    expect(bad("10,1,DELETE,EVENT")).toEqual(["41,other,Bad request template definition"]);
    expect(bad("10,1,POST,EVENT,,t,x,,a.b,WEIRD,")).toEqual(["41,other,Bad value type: WEIRD"]);
    expect(bad("11,1,,,")).toEqual(["41,other,Bad response template definition"]);
    expect(bad("10,1,POST,EVENT,,t,x,\n10,1,POST,EVENT,,u,y,")).toEqual([
      "41,other,Duplicate message identifiers are not allowed",
    ]);
    expect(findCollection(s.state, "other")).toBeUndefined();
  });
});

describe("request templates on s/uc", () => {
  it("POST MEASUREMENT / EVENT / ALARM with fixed and supplied values", () => {
    const s = online();
    s.publish("c", "s/ut/myXid", TEMPLATES);
    s.publish("c", "s/uc/myXid", "999,2016-06-22T17:03:14.000+02:00,25\n999,,26\n101\n102");
    expect(listMeasurements(s.state)).toMatchObject([
      {
        type: "c8y_MyMeasurement",
        time: "2016-06-22T17:03:14.000+02:00",
        fragments: { c8y_MyMeasurement: { M: { value: 25 } } },
      },
      { type: "c8y_MyMeasurement", fragments: { c8y_MyMeasurement: { M: { value: 26 } } } },
    ]);
    expect(listEvents(s.state)).toMatchObject([{ type: "c8y_CustomEvent", text: "mytext" }]);
    expect(listAlarms(s.state)).toMatchObject([
      { type: "c8y_CustomAlarm", text: "mytext", severity: "MAJOR", status: "ACTIVE" },
    ]);
    s.publish("c", "s/uc/myXid", "103,CLEARED");
    expect(listAlarms(s.state)[0]?.status).toBe("CLEARED");
  });

  it("wrong arguments → 45; unknown message id → 40; unknown collection → 41", () => {
    const s = online();
    s.publish("c", "s/ut/myXid", TEMPLATES);
    const out = s.publish("c", "s/uc/myXid", "999,,abc\n999,,1,2\n999,yesterday,1\n555,1");
    expect(delivered(out, "s/e")).toEqual([
      "45,999,Value is not a NUMBER: abc",
      "45,999,Wrong number of arguments",
      "45,999,Value is not a DATE: yesterday",
      "40,555,No template for this message id",
    ]);
    expect(delivered(s.publish("c", "s/uc/nope", "999,,1"), "s/e")).toEqual([
      "41,999,Template collection nope does not exist",
    ]);
    expect(listMeasurements(s.state)).toEqual([]);
  });

  it("PUT OPERATION updates the oldest EXECUTING (else PENDING) operation of the fragment", () => {
    const s = online();
    s.publish("c", "s/ut/myXid", TEMPLATES);
    s.operation("myMqttTestDevice", { c8y_MyOperation: {} });
    s.publish("c", "s/uc/myXid", "104,24");
    expect(listOperations(s.state)[0]).toMatchObject({
      status: "SUCCESSFUL",
      fragments: { c8y_MyOperation: { val: 24 } },
    });
    expect(delivered(s.publish("c", "s/uc/myXid", "104,1"), "s/e")).toEqual([
      "41,104,No EXECUTING or PENDING operation with fragment c8y_MyOperation",
    ]);
  });
});

describe("response templates for operations on s/dc", () => {
  it("renders every template whose condition exists (spec §6.3 examples)", () => {
    const s = online();
    s.publish("c", "s/ut/myXid", TEMPLATES);
    const out = s.operation("myMqttTestDevice", {
      c8y_CustomConfiguration: { val1: "1", val2: "2", customValues: ["a", "b", "c"] },
    });
    expect(delivered(out, "s/dc/myXid")).toEqual([
      "111,myMqttTestDevice,1,2,a,b,c",
      "222,myMqttTestDevice,1,2",
      "333,myMqttTestDevice,,,",
    ]);
    // No static template for this fragment: nothing on s/ds.
    expect(delivered(out, "s/ds")).toEqual([]);
  });

  it("the thin-edge set_wifi example", () => {
    const s = online();
    s.publish("c", "s/ut/myXid", "11,dm101,set_wifi,set_wifi,name,ssid,type");
    const out = s.operation("myMqttTestDevice", {
      set_wifi: { name: "Factory Wifi", ssid: "factory-onboarding-wifi", type: "WPA3-Personal" },
    });
    expect(delivered(out, "s/dc/myXid")).toEqual([
      "dm101,myMqttTestDevice,Factory Wifi,factory-onboarding-wifi,WPA3-Personal",
    ]);
    // 500 re-sends it on s/dc as well.
    expect(delivered(s.publish("c", "s/us", "500"), "s/dc/myXid")).toHaveLength(1);
  });
});
