/**
 * Properties of the step as a whole: total (never throws, whatever a connected client publishes
 * or an input contains), pure (never mutates its input state), deterministic, and its state is
 * plain JSON.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { parseRows } from "@c8ylink/core";
import { plain } from "./support/plain.js";
import { type Move } from "./support/sim.js";
import {
  initialPlatform,
  platformStep,
  serializePlatformRow,
  type PlatformInput,
  type PlatformOutput,
  type PlatformState,
} from "../src/index.js";

const deepFreeze = <T>(value: T): T => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
};

const ids = ["dev1", "dev1-c", "__proto__", "x"];
const field = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 1010 }).map(String),
  fc.constantFrom(
    "",
    "c8y_Restart",
    "c8y_Command",
    "true",
    "-1.5",
    "2024-01-01T00:00:00Z",
    "STRING",
    "NUMBER",
    ...ids,
  ),
);
const templateId = fc.oneof(
  fc.constantFrom(
    ..."100 101 102 104 105 107 110 114 116 117 120 121 123 140 141 142 143 200 201 210 301 305 306 307 400 402 407 408 500 501 502 503 504 505 506 507 600 602 10 11 999".split(
      " ",
    ),
  ),
  fc.string({ maxLength: 4 }),
);
/** Lines that do something in a typical state (ids 1001+ are the first operations/objects). */
const knownLine = fc.constantFrom(
  "100",
  "101,dev1-c",
  "200,c8y_T,T,1",
  "301,a",
  "306,a",
  "400,e,text",
  "500",
  "501,c8y_Restart",
  "503,c8y_Restart",
  "501,c8y_Command",
  '503,c8y_Command,"done, \\"ok\\""',
  "502,c8y_Command,bad",
  "504,1003",
  "506,1003,x",
  "505,1004",
  "507",
  "105",
  "123",
  "10,m1,POST,MEASUREMENT,,t,,a.b,NUMBER,",
  "11,r1,,c8y_Custom,c8y_Custom.x,c8y_Custom.list[*]",
  "m1,,5",
);
/** Mostly meaningful rows (so handlers run), sometimes raw strings (so the parser is hit too). */
const row = fc.oneof(
  { weight: 3, arbitrary: knownLine },
  {
    weight: 2,
    arbitrary: fc
      .tuple(templateId, fc.array(field, { maxLength: 8 }))
      .map(([id, f]) => serializePlatformRow([id, ...f])),
  },
);
/** JSON via MQTT bodies: near-valid data items, bulks, inventory updates, and any JSON. */
const jsonItem = fc.record(
  {
    type: fc.oneof(fc.constantFrom("c8y_T", ""), fc.jsonValue({ maxDepth: 1 })),
    time: fc.constantFrom("2024-01-01T00:00:00Z", "yesterday", 5),
    text: fc.string({ maxLength: 6 }),
    severity: fc.constantFrom("MAJOR", "LOUD"),
    status: fc.constantFrom("ACTIVE", "CLEARED", "x"),
    externalSource: fc.record({
      externalId: fc.constantFrom(...ids),
      type: fc.constantFrom("c8y_Serial", "x"),
    }),
    name: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
    c8y_Frag: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
const jsonPayload = fc.oneof(
  jsonItem.map((o) => JSON.stringify(o)),
  fc
    .record({
      k: fc.constantFrom("measurements", "events", "alarms"),
      items: fc.array(jsonItem, { maxLength: 3 }),
    })
    .map(({ k, items }) => JSON.stringify({ [k]: items })),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  // An own `__proto__` member (JSON.parse creates one) must stay an ordinary fragment.
  fc.constant('{"__proto__":{"x":1},"type":"t","time":"2024-01-01T00:00:00Z","text":"t","severity":"MAJOR"}'),
);

const payload = fc.oneof(
  { weight: 6, arbitrary: fc.array(row, { maxLength: 4 }).map((rows) => rows.join("\n")) },
  { weight: 2, arbitrary: jsonPayload },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
);
const level = fc.oneof(fc.constantFrom(...ids, "myXid"), fc.string({ maxLength: 6 }));
/** Mostly topics a device may publish on (so sessions survive), sometimes anything. */
const topic = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("s/us", "t/us", "q/us", "c/us", "s/uat") },
  { weight: 2, arbitrary: level.map((l) => `s/us/${l}`) },
  { weight: 2, arbitrary: level.map((l) => `s/ut/${l}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(level, fc.option(level))
      .map(([x, c]) => (c === null ? `s/uc/${x}` : `s/uc/${x}/${c}`)),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "measurement/measurements/create",
      "t/measurement/measurements/createBulk",
      "event/events/create",
      "alarm/alarms/create",
      "alarm/alarms/createBulk",
      "inventory/managedObjects/update/dev1",
      "inventory/managedObjects/update/dev1-c",
      "inventory/managedObjects/update/__proto__",
      "inventory/managedObjects/create",
      "event/events/delete/1001",
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom("s/ucr", "s/ds", "s/e"), fc.string({ maxLength: 20 })) },
);

const KEY = "client";
const connectDevice: Move = {
  type: "client-connect",
  clientKey: KEY,
  clientId: "d:dev1",
  username: "t100/device_dev1",
  password: "pw",
  certificateCn: null,
};
const subscribeAll: Move = {
  type: "client-subscribe",
  clientKey: KEY,
  topics: ["s/ds", "s/e", "s/dt", "s/dc/myXid", "devicecontrol/notifications", "error"].map((t) => ({
    topic: t,
    qos: 1,
  })),
};

/** Every run starts from an online device with a child and a template collection. */
const prelude: Move[] = [
  connectDevice,
  subscribeAll,
  { type: "client-publish", clientKey: KEY, topic: "s/us", payload: "100\n101,dev1-c", qos: 1 },
  {
    type: "client-publish",
    clientKey: KEY,
    topic: "s/ut/myXid",
    payload: "10,m1,POST,MEASUREMENT,,t,,a.b,NUMBER,\n11,r1,,c8y_Custom,c8y_Custom.x,c8y_Custom.list[*]",
    qos: 1,
  },
];

const move: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({ topic, payload, qos: fc.constantFrom(0, 1, 2) })
      .map((p) => ({ type: "client-publish" as const, clientKey: KEY, ...p })),
  },
  { weight: 1, arbitrary: fc.constant(connectDevice) },
  { weight: 1, arbitrary: fc.constant(subscribeAll) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        deviceId: fc.constantFrom("dev1", "dev1", "dev1-c", ...ids),
        fragments: fc.dictionary(
          fc.constantFrom("c8y_Restart", "c8y_Command", "c8y_RelayArray", "c8y_Custom", "__proto__"),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      })
      .map((o) => ({ type: "admin-create-operation" as const, ...o })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        type: fc.constantFrom("admin-register", "admin-accept", "admin-block", "admin-delete-device"),
        deviceId: fc.constantFrom(...ids),
      })
      .map((o): Move => o),
  },
);

const run = (moves: readonly Move[]) => {
  let state: PlatformState = deepFreeze(
    initialPlatform({ users: [{ username: "device_dev1", password: "pw" }] }),
  );
  const outputs: PlatformOutput[][] = [];
  [...prelude, ...moves].forEach((m, i) => {
    const result = platformStep(state, { ...m, nowMs: 1_700_000_000_000 + i * 1000 } as PlatformInput);
    state = deepFreeze(result.state);
    outputs.push([...result.outputs]);
  });
  return { state, outputs };
};

describe("platformStep", () => {
  test.prop([fc.array(move, { maxLength: 25 })], { numRuns: 300 })(
    "never throws or mutates its input, and its state stays plain JSON",
    (moves) => {
      const { state } = run(moves);
      expect(JSON.parse(JSON.stringify(state))).toEqual(plain(state));
    },
  );

  test.prop([fc.array(move, { maxLength: 25 })], { numRuns: 100 })("is deterministic", (moves) => {
    expect(run(moves)).toEqual(run(moves));
  });

  test.prop([fc.anything()])("answers inputs of any shape with invalid-input", (input) => {
    const state = deepFreeze(initialPlatform());
    const result = platformStep(state, input as PlatformInput);
    expect(result.state).toBe(state);
    expect(result.outputs.map((o) => o.type)).toEqual(["invalid-input"]);
  });

  test.prop([fc.array(move, { maxLength: 25 })], { numRuns: 100 })(
    "every delivered payload is valid CSV (the core's reader accepts it), or a JSON object on the JSON topics",
    (moves) => {
      for (const out of run(moves).outputs.flat()) {
        if (out.type !== "deliver") continue;
        if (out.topic === "devicecontrol/notifications" || out.topic === "error")
          expect(typeof JSON.parse(out.payload)).toBe("object");
        else expect(parseRows(out.payload)._tag).toBe("Right");
      }
    },
  );
});
