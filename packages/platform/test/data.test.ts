/** Measurements, events, alarms (spec §4.2–4.4, §9) and the s/e error lines (spec §4.9). */
import { describe, expect, it } from "vitest";
import { findDevice, listAlarms, listErrors, listEvents, listMeasurements } from "../src/index.js";
import { delivered, deviceUsers, Sim } from "./support/sim.js";

const online = (...topics: string[]) => {
  const s = new Sim({ users: deviceUsers("dev1") });
  s.device("c", "dev1", ...topics);
  return s;
};

describe("measurements and events", () => {
  it("every measurement gets its own id, and the next object of any kind a fresh one (regression)", () => {
    const s = online();
    s.publish("c", "s/us", "211,20\n211,21\n212,80\n400,t,text\n301,a,raised");
    const ids = [
      ...listMeasurements(s.state).map((m) => m.id),
      ...listEvents(s.state).map((e) => e.id),
      ...listAlarms(s.state).map((a) => a.id),
      findDevice(s.state, "dev1")?.id,
    ];
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    expect(listMeasurements(s.state).map((m) => Number(m.id))).toEqual([1002, 1003, 1004]);
    expect(s.state.nextId).toBe(1007);
  });

  it("200/201/210/211/212 store measurements; the processing mode is recorded", () => {
    const s = online();
    s.publish("c", "s/us", "200,c8y_Temperature,T,25,C,2024-01-01T10:00:00Z");
    s.publish("c", "q/us", "201,multi,,c8y_A,x,1,V,c8y_A,y,2\n210,-70\n211,21.5\n212,80");
    expect(listMeasurements(s.state, "dev1")).toMatchObject([
      {
        type: "c8y_Temperature",
        time: "2024-01-01T10:00:00Z",
        mode: "persistent",
        fragments: { c8y_Temperature: { T: { value: 25, unit: "C" } } },
      },
      {
        type: "multi",
        mode: "quiescent",
        fragments: { c8y_A: { x: { value: 1, unit: "V" }, y: { value: 2 } } },
      },
      {
        type: "c8y_SignalStrength",
        fragments: { c8y_SignalStrength: { rssi: { value: -70, unit: "dBm" } } },
      },
      {
        type: "c8y_TemperatureMeasurement",
        fragments: { c8y_TemperatureMeasurement: { T: { value: 21.5 } } },
      },
      { type: "c8y_Battery", fragments: { c8y_Battery: { level: { value: 80 } } } },
    ]);
    // Server time from the input clock when no time is sent.
    expect(listMeasurements(s.state)[1]?.time).toBe(new Date(s.now).toISOString());
  });

  it("400/402 create events; 402 also moves the device; 408 writes parameters", () => {
    const s = online();
    s.publish("c", "q/us", '400,c8y_MyEvent,"Something, happened"\n402,52.5,13.4');
    s.publish("c", "s/us", "408,,,true,c8y_RelayStatus.left,BOOLEAN,true");
    s.publish("c", "s/us", "408,,,true,c8y_RelayStatus.left,BOOLEAN,true");
    expect(listEvents(s.state, "dev1")).toMatchObject([
      { type: "c8y_MyEvent", text: "Something, happened", mode: "quiescent" },
      { type: "c8y_LocationUpdate", fragments: { c8y_Position: { lat: 52.5, lng: 13.4 } } },
      {
        type: "c8y_ParameterUpdate",
        text: "Parameter 'c8y_RelayStatus' was updated",
        fragments: { c8y_RelayStatus: { left: true } },
      },
    ]);
    expect(findDevice(s.state, "dev1")?.fragments).toMatchObject({
      c8y_Position: { lat: 52.5, lng: 13.4 },
      c8y_RelayStatus: { left: true },
    });
  });
});

describe("alarms", () => {
  it("one ACTIVE alarm per type: re-raising counts, 305 changes severity, 306 clears, then a new one", () => {
    const s = online();
    s.publish("c", "s/us", "301,c8y_TemperatureAlarm,Too hot");
    s.publish("c", "s/us", "302,c8y_TemperatureAlarm,Still too hot");
    s.publish("c", "s/us", "304,c8y_OtherAlarm");
    expect(listAlarms(s.state, "dev1")).toMatchObject([
      { type: "c8y_TemperatureAlarm", severity: "CRITICAL", text: "Too hot", count: 2, status: "ACTIVE" },
      { type: "c8y_OtherAlarm", severity: "WARNING", text: "Alarm of type c8y_OtherAlarm raised", count: 1 },
    ]);
    s.publish(
      "c",
      "s/us",
      "305,c8y_TemperatureAlarm,MINOR\n306,c8y_TemperatureAlarm\n303,c8y_TemperatureAlarm",
    );
    expect(listAlarms(s.state, "dev1").map((a) => [a.type, a.severity, a.status, a.count])).toEqual([
      ["c8y_TemperatureAlarm", "MINOR", "CLEARED", 2],
      ["c8y_OtherAlarm", "WARNING", "ACTIVE", 1],
      ["c8y_TemperatureAlarm", "MINOR", "ACTIVE", 1],
    ]);
    // Clearing an alarm that does not exist is silent.
    s.publish("c", "s/us", "306,c8y_Nothing");
    expect(listErrors(s.state)).toEqual([]);
  });
});

describe("s/e error lines", () => {
  it("unknown template → 40,999,No static template for this message id (the session continues)", () => {
    const s = online("s/e");
    expect(delivered(s.publish("c", "s/us", "999,I made this up"), "s/e")).toEqual([
      "40,999,No static template for this message id",
    ]);
    expect(delivered(s.publish("c", "s/us", "123"), "s/ds")).toEqual([]);
    expect(listErrors(s.state)).toHaveLength(1);
  });

  it("wrong arguments → 45 with the template id; the other rows of the publish still apply", () => {
    const s = online("s/e");
    const out = s.publish(
      "c",
      "s/us",
      ["200,c8y_T,T,abc", "200,c8y_T,T", "306", "400,t,x,notadate", "105,extra", "211,20"].join("\n"),
    );
    expect(delivered(out, "s/e")).toEqual([
      "45,200,Value is not a NUMBER: abc",
      "45,200,Missing mandatory value: value",
      "45,306,Missing mandatory value: type",
      // The core's reason contains quotes: the platform writer escapes them as \".
      '45,400,"time: \\"notadate\\" is not an ISO-8601 timestamp"',
      "45,105,Wrong number of arguments",
    ]);
    expect(listMeasurements(s.state)).toHaveLength(1);
  });

  it("malformed CSV → one 42 line and nothing applied", () => {
    const s = online("s/e");
    const out = s.publish("c", "s/us", '211,20\n400,t,"unterminated');
    expect(delivered(out, "s/e")).toEqual([
      expect.stringMatching(/^42,2,"Malformed request: row 2, field 3: quote opened/) as unknown as string,
    ]);
    expect(listMeasurements(s.state)).toEqual([]);
  });

  it("errors are recorded even when the client did not subscribe s/e", () => {
    const s = online();
    expect(delivered(s.publish("c", "s/us", "999"), "s/e")).toEqual([]);
    expect(listErrors(s.state)).toMatchObject([
      { clientKey: "c", code: 40, line: "40,999,No static template for this message id", delivered: false },
    ]);
  });
});
