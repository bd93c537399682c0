/** JSON via MQTT data topics and the `error` topic (spec §2.7). */
import { describe, expect, it } from "vitest";
import {
  findDevice,
  listAlarms,
  listErrors,
  listEvents,
  listMeasurements,
  parseJsonTopic,
  type PlatformOutput,
} from "../src/index.js";
import { delivered, deviceUsers, ofType, Sim } from "./support/sim.js";

const T = "2025-01-01T10:00:00.000Z";

/** dev1 with child dev1-child online on key c, subscribed to `error`; dev2 exists elsewhere. */
const online = () => {
  const s = new Sim({ users: deviceUsers("dev1", "dev2") });
  s.device("d", "dev2");
  s.publish("d", "s/us", "100");
  s.device("c", "dev1", "error");
  s.publish("c", "s/us", "100\n101,dev1-child");
  return s;
};

const json = (s: Sim, topic: string, body: unknown, messageId?: number): PlatformOutput[] =>
  s.step({
    type: "client-publish",
    clientKey: "c",
    topic,
    payload: typeof body === "string" ? body : JSON.stringify(body),
    qos: messageId === undefined ? 0 : 1,
    ...(messageId === undefined ? {} : { messageId }),
  });

const errors = (out: readonly PlatformOutput[]) =>
  delivered(out, "error").map((p) => JSON.parse(p) as Record<string, unknown>);

describe("JSON data topics", () => {
  it("measurement, event and alarm create store like their SmartREST equivalents", () => {
    const s = online();
    const m = {
      type: "c8y_Temperature",
      time: T,
      source: { id: "999" },
      c8y_Temperature: { T: { value: 21, unit: "C" } },
    };
    expect(ofType(json(s, "measurement/measurements/create", m, 1), "publish-accepted")).toHaveLength(1);
    json(s, "q/measurement/measurements/create", { type: "x", time: T });
    json(s, "event/events/create", { type: "c8y_Boot", text: "booted", time: T, c8y_Extra: { a: 1 } });
    const alarm = { type: "c8y_Overheat", text: "hot", severity: "MAJOR", time: T };
    json(s, "alarm/alarms/create", alarm);
    json(s, "alarm/alarms/create", { ...alarm, time: "2025-01-01T10:05:00.000Z" });
    const root = findDevice(s.state, "dev1")?.id;
    expect(listMeasurements(s.state, "dev1")).toMatchObject([
      // `source` is always the ClientId's device (spec §2.7); it is not a fragment.
      {
        sourceId: root,
        type: "c8y_Temperature",
        time: T,
        mode: "persistent",
        fragments: { c8y_Temperature: { T: { value: 21, unit: "C" } } },
      },
      { type: "x", mode: "quiescent", fragments: {} },
    ]);
    expect(listEvents(s.state, "dev1")).toMatchObject([
      { type: "c8y_Boot", text: "booted", fragments: { c8y_Extra: { a: 1 } } },
    ]);
    expect(listAlarms(s.state, "dev1")).toMatchObject([
      { type: "c8y_Overheat", severity: "MAJOR", status: "ACTIVE", count: 2 },
    ]);
    expect(findDevice(s.state, "dev1")?.fragments["c8y_Availability"]).toMatchObject({ status: "AVAILABLE" });
    expect(listErrors(s.state)).toEqual([]);
    // Distinct ids for all of them.
    const ids = [...s.state.measurements, ...s.state.events, ...s.state.alarms].map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("createBulk stores every item, or none when one is invalid; externalSource targets a child", () => {
    const s = online();
    const child = { externalSource: { externalId: "dev1-child", type: "c8y_Serial" } };
    json(s, "measurement/measurements/createBulk", {
      measurements: [
        { type: "a", time: T },
        { type: "b", time: T, ...child },
      ],
    });
    expect(listMeasurements(s.state, "dev1").map((m) => m.type)).toEqual(["a"]);
    expect(listMeasurements(s.state, "dev1-child").map((m) => m.type)).toEqual(["b"]);
    const out = json(
      s,
      "event/events/createBulk",
      { events: [{ type: "e", text: "t", time: T }, { type: "e" }] },
      7,
    );
    expect(errors(out)).toEqual([
      {
        error: "undefined/validationError",
        message: "events[1]: Following mandatory fields should be included: text,time",
        messageId: 7,
      },
    ]);
    expect(listEvents(s.state)).toEqual([]);
  });

  it("bad input gets a JSON error on `error` with the messageId; the connection stays", () => {
    const s = online();
    const cases: [string, unknown, string, RegExp][] = [
      [
        "alarm/alarms/create",
        {},
        "undefined/validationError",
        /^Following mandatory fields should be included: severity,text,time,type$/,
      ],
      [
        "alarm/alarms/create",
        { type: "a", text: "t", time: T, severity: "LOUD" },
        "undefined/validationError",
        /^severity: /,
      ],
      [
        "measurement/measurements/create",
        { type: "a", time: "yesterday" },
        "undefined/validationError",
        /yesterday.*ISO-8601/,
      ],
      ["measurement/measurements/create", "{not json", "undefined/badRequest", /^The body is not JSON: /],
      ["measurement/measurements/create", [1, 2], "undefined/validationError", /JSON object/],
      [
        "event/events/create",
        { type: "e", text: "t", time: T, externalSource: { externalId: "dev2" } },
        "identity/notFound",
        /dev2/,
      ],
      ["event/events/delete/5", "", "undefined/notSupported", /events delete\/5: not modelled/],
      ["inventory/managedObjects/create", { name: "x" }, "undefined/notSupported", /only update/],
      ["inventory/managedObjects/42/childDevices/create", {}, "undefined/notSupported", /not modelled/],
      ["inventory/managedObjects/update/dev2", { a: 1 }, "inventory/notFound", /dev2 not found/],
      [
        "inventory/managedObjects/update/dev1",
        { name: 5 },
        "undefined/validationError",
        /name: expected a string/,
      ],
    ];
    cases.forEach(([topic, body, error, message], i) => {
      const out = json(s, topic, body, 100 + i);
      expect(ofType(out, "disconnect")).toEqual([]);
      const [e] = errors(out);
      expect(e).toMatchObject({ error, messageId: 100 + i });
      expect(String(e?.["message"])).toMatch(message);
    });
    expect(listErrors(s.state)).toHaveLength(cases.length);
    expect(listErrors(s.state).every((e) => e.channel === "error" && e.delivered)).toBe(true);
    expect(listMeasurements(s.state)).toEqual([]);
    // QoS 0 has no packet id: no messageId.
    expect(errors(json(s, "event/events/create", {}))[0]).not.toHaveProperty("messageId");
  });

  it("an own __proto__ member is an ordinary fragment", () => {
    const s = online();
    json(
      s,
      "event/events/create",
      '{"type":"e","text":"t","time":"2025-01-01T10:00:00Z","__proto__":{"x":1}}',
    );
    const [event] = listEvents(s.state);
    expect(Object.hasOwn(event?.fragments ?? {}, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(event?.fragments)).toBe(Object.prototype);
  });

  it("errors are recorded when `error` is not subscribed; nothing is delivered", () => {
    const s = new Sim({ users: deviceUsers("dev1") });
    s.device("c", "dev1");
    const out = json(s, "event/events/create", { type: "e", text: "t", time: T }, 3);
    // JSON is an add-on: the device must exist first (created by SmartREST).
    expect(delivered(out, "error")).toEqual([]);
    expect(listErrors(s.state)).toMatchObject([
      {
        channel: "error",
        code: 404,
        delivered: false,
        line: expect.stringContaining("does not exist") as unknown,
      },
    ]);
  });

  it("inventory update by external or internal id: fragments replaced or removed, name set, {} is a heartbeat", () => {
    const s = online();
    json(s, "inventory/managedObjects/update/dev1", {
      name: "Gateway",
      c8y_Hardware: { model: "m" },
      id: "1",
      owner: "x",
    });
    const device = findDevice(s.state, "dev1");
    expect(device).toMatchObject({ name: "Gateway", id: device?.id, owner: "device_dev1" });
    expect(device?.fragments["c8y_Hardware"]).toEqual({ model: "m" });
    const childId = findDevice(s.state, "dev1-child")?.id ?? "";
    json(s, `inventory/managedObjects/update/${childId}`, { c8y_Firmware: { version: "2" } });
    expect(findDevice(s.state, "dev1-child")?.fragments["c8y_Firmware"]).toEqual({ version: "2" });
    json(s, "inventory/managedObjects/update/dev1", { c8y_Hardware: null });
    expect(findDevice(s.state, "dev1")?.fragments).not.toHaveProperty("c8y_Hardware");
    json(s, "inventory/managedObjects/update/dev1-child", {});
    expect(findDevice(s.state, "dev1-child")?.fragments["c8y_Availability"]).toMatchObject({
      status: "AVAILABLE",
    });
    expect(listErrors(s.state)).toEqual([]);
  });

  it("a bootstrap session publishing on a JSON topic is closed, like any non-bootstrap topic", () => {
    const s = new Sim();
    s.connect("b", "d:dev9", "management/devicebootstrap", "bs-secret");
    const out = s.step({
      type: "client-publish",
      clientKey: "b",
      topic: "event/events/create",
      payload: "{}",
      qos: 1,
    });
    expect(ofType(out, "disconnect")).toHaveLength(1);
  });
});

describe("parseJsonTopic", () => {
  it("recognises the spec's table (with processing-mode prefixes) and nothing else", () => {
    expect(parseJsonTopic("q/event/events/create")).toMatchObject({
      mode: "quiescent",
      resource: "events",
      action: "create",
    });
    expect(parseJsonTopic("inventory/managedObjects/update/x")).toMatchObject({
      resourceId: "x",
      unusual: false,
    });
    expect(parseJsonTopic("event/events/frobnicate")).toMatchObject({ unusual: true });
    for (const topic of [
      "s/us",
      "s/event/events/create",
      "event/evts/create",
      "",
      "devicecontrol/notifications",
    ])
      expect(parseJsonTopic(topic)).toBeUndefined();
  });
});
