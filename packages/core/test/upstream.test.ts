/**
 * Upstream static templates: golden rows from the spec (§4), one sample per template, refusals,
 * catalogue completeness, classification, and fast-check properties (totality, numeric round trip).
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import { invalidTextReason } from "../src/smartrest/text.js";
import {
  encodeUpstream,
  isOperationStatus,
  operationStatusOf,
  priorityClassOf,
  Upstream,
  UPSTREAM_CODECS,
  UPSTREAM_SPECS,
  UPSTREAM_TEMPLATE_IDS,
  UpstreamMessageCodec,
  type UpstreamMessage,
  type UpstreamOf,
  type UpstreamTemplateId,
} from "../src/smartrest/upstream.js";

/** Every upstream id the spec (§4.1–4.6) defines. */
// prettier-ignore
const SPEC_IDS = [
  "100", "101", "102", "104", "105", "107", "110", "111", "112", "113", "114", "115", "116", "117", "118",
  "119", "120", "121", "122", "123", "125", "140", "141", "142", "143", "150", "200", "201", "210", "211",
  "212", "301", "302", "303", "304", "305", "306", "307", "400", "401", "402", "407", "408", "500", "501",
  "502", "503", "504", "505", "506", "507", "600", "602",
];

/** A valid message per template and its row (columns joined by commas, no CSV quoting). */
type Sample<Id extends UpstreamTemplateId> = readonly [message: UpstreamOf<Id>, row: string];

const SAMPLES: { readonly [Id in UpstreamTemplateId]: Sample<Id> } = {
  "100": [{ template: "100", name: "myDevice", type: "myType" }, "100,myDevice,myType"],
  "101": [
    { template: "101", childId: "child1", name: "Child 1", type: "myChildType", isDevice: false },
    "101,child1,Child 1,myChildType,false",
  ],
  "102": [
    {
      template: "102",
      externalId: "myDatabaseDevice",
      serviceType: "systemd",
      name: "DatabaseService",
      status: "up",
    },
    "102,myDatabaseDevice,systemd,DatabaseService,up",
  ],
  "104": [{ template: "104", status: "down" }, "104,down"],
  "105": [{ template: "105" }, "105"],
  "107": [{ template: "107", fragments: ["c8y_Position", "c8y_Mobile"] }, "107,c8y_Position,c8y_Mobile"],
  "110": [{ template: "110", model: "MQTT test model", revision: "1.2.3" }, "110,,MQTT test model,1.2.3"],
  "111": [
    { template: "111", imei: "358240051111110", iccid: "89490200001153131239", mcc: "262", cellId: "5678" },
    "111,358240051111110,89490200001153131239,,262,,,5678",
  ],
  "112": [
    { template: "112", latitude: 52.52, longitude: 13.405, altitude: 34, accuracy: 10 },
    "112,52.52,13.405,34,10",
  ],
  "113": [{ template: "113", configuration: "val1=1\nval2=2" }, "113,val1=1\nval2=2"],
  "114": [{ template: "114", operations: ["c8y_Restart", "c8y_Command"] }, "114,c8y_Restart,c8y_Command"],
  "115": [
    { template: "115", name: "myFirmware", version: "1.0", url: "http://www.my.url" },
    "115,myFirmware,1.0,http://www.my.url",
  ],
  "116": [
    {
      template: "116",
      software: [
        { name: "software1", version: "version1", url: "url1" },
        { name: "software2", url: "url2" },
        { name: "software3", version: "version3", url: "" },
      ],
    },
    "116,software1,version1,url1,software2,,url2,software3,version3",
  ],
  "117": [{ template: "117", interval: 10 }, "117,10"],
  "118": [{ template: "118", logTypes: ["syslog", "dmesg"] }, "118,syslog,dmesg"],
  "119": [{ template: "119", configTypes: ["ssh_conf", "agent_conf"] }, "119,ssh_conf,agent_conf"],
  "120": [
    { template: "120", type: "ssh_conf", url: "https://c8y/binaries/1", time: "2024-01-01T00:00:00Z" },
    "120,ssh_conf,https://c8y/binaries/1,,2024-01-01T00:00:00Z",
  ],
  "121": [{ template: "121", executed: false }, "121,false"],
  "122": [
    { template: "122", name: "c8ylink", version: "0.1.0", maintainer: "c8ylink team" },
    "122,c8ylink,0.1.0,,c8ylink team",
  ],
  "123": [{ template: "123" }, "123"],
  "125": [{ template: "125" }, "125"],
  "140": [
    { template: "140", software: [{ name: "curl", version: "7.88", type: "apt" }] },
    "140,curl,7.88,apt",
  ],
  "141": [
    { template: "141", software: [{ name: "vim", version: "9.0", url: "http://x" }] },
    "141,vim,9.0,,http://x",
  ],
  "142": [{ template: "142", software: [{ name: "curl", version: "7.88" }] }, "142,curl,7.88"],
  "143": [{ template: "143", softwareTypes: ["apt", "container"] }, "143,apt,container"],
  "150": [{ template: "150", protocols: ["ssh", "vnc"] }, "150,ssh,vnc"],
  "200": [
    { template: "200", fragment: "c8y_Temperature", series: "T", value: 25 },
    "200,c8y_Temperature,T,25",
  ],
  "201": [
    {
      template: "201",
      type: "KamstrupA220Reading",
      time: "2022-03-19T12:03:27.845Z",
      series: [
        { fragment: "c8y_SinglePhaseEnergyMeasurement", series: "A+:1", value: 1234, unit: "kWh" },
        { fragment: "c8y_SinglePhaseEnergyMeasurement", series: "A-:1", value: 2345, unit: "kWh" },
      ],
    },
    "201,KamstrupA220Reading,2022-03-19T12:03:27.845Z,c8y_SinglePhaseEnergyMeasurement,A+:1,1234,kWh," +
      "c8y_SinglePhaseEnergyMeasurement,A-:1,2345,kWh",
  ],
  "210": [{ template: "210", ber: 5 }, "210,,5"],
  "211": [{ template: "211", temperature: 25.5 }, "211,25.5"],
  "212": [
    { template: "212", battery: 95, time: "2024-01-01T00:00:00+0100" },
    "212,95,2024-01-01T00:00:00+0100",
  ],
  "301": [{ template: "301", type: "c8y_Overheat", text: "Too hot" }, "301,c8y_Overheat,Too hot"],
  "302": [{ template: "302", type: "c8y_Door" }, "302,c8y_Door"],
  "303": [{ template: "303", type: "c8y_Door", text: "Open" }, "303,c8y_Door,Open"],
  "304": [
    { template: "304", type: "c8y_TemperatureAlarm", time: "2013-06-22T17:03:14.000+02:00" },
    "304,c8y_TemperatureAlarm,,2013-06-22T17:03:14.000+02:00",
  ],
  "305": [
    { template: "305", type: "c8y_TemperatureAlarm", severity: "MAJOR" },
    "305,c8y_TemperatureAlarm,MAJOR",
  ],
  "306": [{ template: "306", type: "c8y_TemperatureAlarm" }, "306,c8y_TemperatureAlarm"],
  "307": [{ template: "307", type: "c8y_Door", fragments: ["c8y_Extra"] }, "307,c8y_Door,c8y_Extra"],
  "400": [
    { template: "400", type: "c8y_MyEvent", text: "Something happened" },
    "400,c8y_MyEvent,Something happened",
  ],
  "401": [{ template: "401", latitude: 51.2, longitude: 6.78 }, "401,51.2,6.78"],
  "402": [
    {
      template: "402",
      latitude: 51.2,
      longitude: 6.78,
      altitude: 40,
      accuracy: 2.5,
      time: "2024-05-05T05:05:05Z",
    },
    "402,51.2,6.78,40,2.5,2024-05-05T05:05:05Z",
  ],
  "407": [{ template: "407", type: "c8y_MyEvent" }, "407,c8y_MyEvent"],
  "408": [
    {
      template: "408",
      parameters: [
        { path: "c8y_RelayStatus.left", type: "BOOLEAN", value: "true" },
        { path: "c8y_RelayStatus.right", type: "BOOLEAN", value: "false" },
      ],
    },
    "408,,,,c8y_RelayStatus.left,BOOLEAN,true,c8y_RelayStatus.right,BOOLEAN,false",
  ],
  "500": [{ template: "500" }, "500"],
  "501": [{ template: "501", fragment: "c8y_Restart" }, "501,c8y_Restart"],
  "502": [{ template: "502", fragment: "c8y_Restart", reason: "Not now" }, "502,c8y_Restart,Not now"],
  "503": [
    { template: "503", fragment: "c8y_Command", parameters: ["Everything went fine"] },
    "503,c8y_Command,Everything went fine",
  ],
  "504": [{ template: "504", operationId: "12345" }, "504,12345"],
  "505": [{ template: "505", operationId: "12345", reason: "Disk full" }, "505,12345,Disk full"],
  "506": [{ template: "506", operationId: "12345", parameters: ["OPEN", "CLOSED"] }, "506,12345,OPEN,CLOSED"],
  "507": [{ template: "507", reason: "Agent restarted" }, "507,,Agent restarted"],
  "600": [{ template: "600" }, "600"],
  "602": [{ template: "602" }, "602"],
};

const SAMPLE_LIST = Object.values(SAMPLES) as readonly Sample<UpstreamTemplateId>[];

/** The encoded row joined by commas, or the error for a readable assertion diff. */
const wire = (msg: UpstreamMessage) =>
  E.match(
    (e) => e,
    (row: readonly string[]) => row.join(","),
  )(encodeUpstream(msg));

/** For inputs the types forbid (missing fields, wrong types): the encoder must refuse them anyway. */
const raw = (o: object): UpstreamMessage => o as unknown as UpstreamMessage;

describe("golden rows from the spec", () => {
  it.each<[string, UpstreamMessage]>([
    ["200,c8y_Temperature,T,25", Upstream.measurement("c8y_Temperature", "T", 25)],
    [
      "201,KamstrupA220Reading,2022-03-19T12:03:27.845Z,c8y_SinglePhaseEnergyMeasurement,A+:1,1234,kWh",
      Upstream.measurements(
        "KamstrupA220Reading",
        [{ fragment: "c8y_SinglePhaseEnergyMeasurement", series: "A+:1", value: 1234, unit: "kWh" }],
        "2022-03-19T12:03:27.845Z",
      ),
    ],
    ["116,software1,version1,url1,software2,,url2,software3,version3", SAMPLES["116"][0]],
    [
      "304,c8y_TemperatureAlarm,,2013-06-22T17:03:14.000+02:00",
      Upstream.warningAlarm("c8y_TemperatureAlarm", undefined, "2013-06-22T17:03:14.000+02:00"),
    ],
    [
      "102,myDatabaseDevice,systemd,DatabaseService,up",
      Upstream.createService("myDatabaseDevice", "systemd", "DatabaseService", "up"),
    ],
    ["408,,,,c8y_RelayStatus.left,BOOLEAN,true,c8y_RelayStatus.right,BOOLEAN,false", SAMPLES["408"][0]],
    [
      "503,c8y_Command,Everything went fine",
      Upstream.operationSuccessful("c8y_Command", ["Everything went fine"]),
    ],
    [
      "503,c8y_RelayArray,OPEN,CLOSED,CLOSED,OPEN",
      Upstream.operationSuccessful("c8y_RelayArray", ["OPEN", "CLOSED", "CLOSED", "OPEN"]),
    ],
    ["110,,MQTT test model,1.2.3", Upstream.hardware(undefined, "MQTT test model", "1.2.3")],
    ["117,10", Upstream.requiredAvailability(10)],
    ["100", Upstream.createDevice()],
    ["100", { template: "100", name: "", type: "" }],
    ["150,ssh,vnc", { template: "150", protocols: ["ssh", "vnc"] }],
  ])("%s", (expected, msg) => {
    expect(wire(msg)).toBe(expected);
  });
});

describe("one sample per template", () => {
  it.each(SAMPLE_LIST.map(([msg, row]) => [msg.template, msg, row] as const))("%s encodes", (_, msg, row) => {
    expect(wire(msg)).toBe(row);
  });

  it.each(SAMPLE_LIST.map(([msg]) => [msg.template, msg] as const))(
    "%s survives a JSON round trip",
    (_, msg) => {
      const json: unknown = JSON.parse(JSON.stringify(msg));
      expect(UpstreamMessageCodec.decode(json)).toEqual(E.right(msg));
      expect(UPSTREAM_CODECS[msg.template].decode(json)).toEqual(E.right(msg));
    },
  );
});

describe("catalogue", () => {
  it("has exactly one spec entry per upstream id", () => {
    const ids = UPSTREAM_SPECS.map((s) => s.id);
    expect([...ids].sort()).toEqual([...SPEC_IDS].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(UPSTREAM_TEMPLATE_IDS).toEqual(ids);
    expect(Object.keys(SAMPLES).sort()).toEqual([...SPEC_IDS].sort());
  });

  it("lists upstream entries on s/us with unique names", () => {
    for (const spec of UPSTREAM_SPECS) {
      expect(spec).toMatchObject({ direction: "upstream", topic: "s/us" });
    }
    expect(new Set(UPSTREAM_SPECS.map((s) => s.name)).size).toBe(UPSTREAM_SPECS.length);
  });

  it.each([
    ["100", ["name", "type"]],
    ["102", ["externalId", "serviceType", "name", "status"]],
    ["107", ["(fragment)*"]],
    ["116", ["(name, version, url)*"]],
    ["122", ["name", "version", "url", "maintainer"]],
    ["140", ["(name, version, type, url)*"]],
    ["200", ["fragment", "series", "value", "unit", "time"]],
    ["201", ["type", "time", "(fragment, series, value, unit)*"]],
    ["408", ["text", "time", "changeDetect", "(path, type, value)*"]],
    ["503", ["fragment", "(parameter)*"]],
    ["500", []],
  ])("%s fields in wire order", (id, fields) => {
    expect(UPSTREAM_SPECS.find((s) => s.id === id)?.fields).toEqual(fields);
  });

  it("names the smart constructors after the catalogue entries", () => {
    const names = new Set(UPSTREAM_SPECS.map((s) => s.name));
    for (const name of Object.keys(Upstream)) expect(names).toContain(name);
  });
});

describe("message types", () => {
  it("make mandatory fields and lists required and optional ones optional", () => {
    // @ts-expect-error 201's series is mandatory
    const noSeries: UpstreamOf<"201"> = { template: "201", type: "t" };
    // @ts-expect-error 114's operation list is mandatory (it may be empty)
    const noOperations: UpstreamOf<"114"> = { template: "114" };
    const optionals: readonly UpstreamMessage[] = [
      { template: "503", fragment: "c8y_Restart" },
      { template: "407", type: "t" },
      { template: "200", fragment: "f", series: "s", value: 1, unit: undefined },
    ];
    expect([noSeries, noOperations, ...optionals]).toHaveLength(5);
  });
});

describe("refusals", () => {
  it.each<[string, UpstreamMessage, string, string, RegExp]>([
    ["missing mandatory", raw({ template: "200", fragment: "c8y_T", value: 1 }), "200", "series", /missing/],
    ["missing mandatory list", raw({ template: "114" }), "114", "operations", /missing/],
    ["empty mandatory text", { template: "400", type: "", text: "x" }, "400", "type", /empty/],
    [
      "empty list entry",
      { template: "114", operations: ["c8y_Restart", ""] },
      "114",
      "operations[1]",
      /empty/,
    ],
    ["NaN", Upstream.measurement("c8y_T", "T", NaN), "200", "value", /NaN is not a finite number/],
    [
      "Infinity in a group",
      Upstream.measurements("t", [
        { fragment: "f", series: "a", value: 1 },
        { fragment: "f", series: "b", value: Infinity },
      ]),
      "201",
      "series[1].value",
      /Infinity is not a finite number/,
    ],
    ["-Infinity", { template: "112", latitude: -Infinity }, "112", "latitude", /-Infinity/],
    ["non-integer accuracy", { template: "112", accuracy: 2.5 }, "112", "accuracy", /2\.5 is not an integer/],
    ["non-integer interval", Upstream.requiredAvailability(1.5), "117", "interval", /not an integer/],
    ["unsafe integer", Upstream.requiredAvailability(2 ** 60), "117", "interval", /not an integer/],
    ["bad timestamp", Upstream.event("t", "x", "2024-02-30T00:00:00Z"), "400", "time", /ISO-8601/],
    ["empty 107", { template: "107", fragments: [] }, "107", "fragments", /at least 1 entry/],
    ["empty 201 series", Upstream.measurements("t", []), "201", "series", /at least 1/],
    ["empty 307", { template: "307", type: "t", fragments: [] }, "307", "fragments", /at least 1/],
    ["empty 408", { template: "408", parameters: [] }, "408", "parameters", /at least 1/],
    ["empty 141", { template: "141", software: [] }, "141", "software", /at least 1/],
    ["empty 142", { template: "142", software: [] }, "142", "software", /at least 1/],
    ["control character", Upstream.event("t", "a\u0000b"), "400", "text", /control character U\+0000/],
    [
      "lone surrogate in a group",
      { template: "116", software: [{ name: "a" }, { name: "b\ud800" }] },
      "116",
      "software[1].name",
      /lone surrogate/,
    ],
    [
      "DEL in a parameter",
      Upstream.operationSuccessful("c8y_Command", ["\u007f"]),
      "503",
      "parameters[0]",
      /U\+007F/,
    ],
    [
      "210 without rssi and ber",
      { template: "210", time: "2024-01-01T00:00:00Z" },
      "210",
      "rssi",
      /rssi or ber/,
    ],
    [
      "unknown severity",
      raw({ template: "305", type: "t", severity: "FATAL" }),
      "305",
      "severity",
      /expected/,
    ],
    [
      "wrong runtime type",
      raw({ template: "200", fragment: "f", series: "s", value: "25" }),
      "200",
      "value",
      /expected number/,
    ],
    ["not an array", raw({ template: "107", fragments: "c8y_X" }), "107", "fragments", /expected an array/],
    [
      "group entry not an object",
      raw({ template: "142", software: [null] }),
      "142",
      "software[0]",
      /expected an object/,
    ],
    ["unknown template", raw({ template: "999" }), "999", "template", /not an upstream/],
  ])("%s", (_, msg, templateId, field, reason) => {
    const result = encodeUpstream(msg);
    expect(result).toEqual(E.left(expect.objectContaining({ kind: "template-invalid", templateId, field })));
    if (E.isLeft(result)) expect(result.left.reason).toMatch(reason);
  });

  it("refuses non-objects without throwing", () => {
    for (const junk of [null, undefined, 42, "200", [], [1, 2]]) {
      expect(E.isLeft(encodeUpstream(raw(junk as object)))).toBe(true);
    }
  });
});

describe("timestamps", () => {
  const at = (time: string) => encodeUpstream(Upstream.event("t", "x", time));

  it.each([
    "2013-06-22T17:03:14.000+02:00",
    "2022-03-19T12:03:27.845Z",
    "2021-10-23T19:03:26+0100",
    "2024-02-29T23:59:59.123456789-05:30",
    "2000-02-29T00:00:00Z",
    "2024-12-31T00:00:00.5Z",
  ])("accepts %s", (time) => {
    expect(E.isRight(at(time))).toBe(true);
  });

  it.each([
    "",
    "2024-01-01",
    "2024-01-01T00:00Z",
    "2024-01-01T00:00:00",
    "2024-01-01 00:00:00Z",
    "2024-01-01t00:00:00z",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-01-00T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:60:00Z",
    "2024-01-01T00:00:60Z",
    "2024-01-01T00:00:00.Z",
    "2024-01-01T00:00:00.1234567890Z",
    "2024-01-01T00:00:00+2:00",
    "2024-01-01T00:00:00+02",
    "2024-01-01T00:00:00+02:00:00",
    "+2024-01-01T00:00:00Z",
  ])("refuses %j", (time) => {
    expect(at(time)).toEqual(E.left(expect.objectContaining({ templateId: "400", field: "time" })));
  });
});

describe("number formatting", () => {
  it.each([
    [25, "25"],
    [-0, "0"],
    [123.456, "123.456"],
    [1e21, "1000000000000000000000"],
    [-1.5e22, "-15000000000000000000000"],
    [1e-7, "0.0000001"],
    [-1.25e-10, "-0.000000000125"],
    [0.000001, "0.000001"],
  ])("%d → %s (never an exponent)", (value, expected) => {
    expect(wire(Upstream.measurement("f", "s", value))).toBe(`200,f,s,${expected}`);
  });

  it.each([Number.MAX_VALUE, Number.MIN_VALUE, -Number.EPSILON, 2 ** 70 + 2 ** 18])(
    "%d round-trips",
    (value) => {
      const row = encodeUpstream(Upstream.measurement("f", "s", value));
      expect(E.isRight(row) && row.right[3]).toMatch(/^-?\d+(\.\d+)?$/);
      expect(E.isRight(row) && Number(row.right[3])).toBe(value);
    },
  );
});

describe("optional fields", () => {
  it.each<[string, UpstreamMessage]>([
    ["100,,myType", { template: "100", name: "", type: "myType" }],
    ["116", { template: "116", software: [] }],
    ["114", Upstream.supportedOperations([])],
    ["503,c8y_Command", Upstream.operationSuccessful("c8y_Command", [""])],
    ["503,c8y_RelayArray,,OPEN", Upstream.operationSuccessful("c8y_RelayArray", ["", "OPEN"])],
    ["122,a,1,,m", Upstream.agent("a", "1", "m")],
    ["122,a,1,http://u,m", Upstream.agent("a", "1", "m", "http://u")],
    ["101,child,,,true", Upstream.createChildDevice("child", undefined, undefined, true)],
    ["507", Upstream.failExecutingOperations()],
  ])("%s", (expected, msg) => {
    expect(wire(msg)).toBe(expected);
  });

  it("clears the advanced software list with one blank entry (140,,,,), not a bare 140", () => {
    expect(encodeUpstream({ template: "140", software: [] })).toEqual(E.right(["140", "", "", "", ""]));
  });

  it("constructors leave out undefined properties (equal to their JSON round trip)", () => {
    const msg = Upstream.measurement("c8y_T", "T", 1);
    expect(msg).toStrictEqual({ template: "200", fragment: "c8y_T", series: "T", value: 1 });
    expect(JSON.parse(JSON.stringify(Upstream.createChildDevice("c")))).toStrictEqual(
      Upstream.createChildDevice("c"),
    );
  });
});

describe("codec", () => {
  it("strips unknown properties", () => {
    expect(UpstreamMessageCodec.decode({ template: "306", type: "t", extra: 1 })).toEqual(
      E.right({ template: "306", type: "t" }),
    );
  });

  it.each([
    ["unknown template", { template: "999" }],
    ["missing template", { type: "t" }],
    ["wrong field type", { template: "200", fragment: 1, series: "s", value: 1 }],
    ["missing mandatory field", { template: "200", fragment: "f", value: 1 }],
    ["bad enum", { template: "305", type: "t", severity: "FATAL" }],
    ["bad group entry", { template: "201", type: "t", series: [{ fragment: "f", series: "s" }] }],
    ["not an object", "200,c8y_Temperature,T,25"],
  ])("rejects %s", (_, input) => {
    expect(E.isLeft(UpstreamMessageCodec.decode(input))).toBe(true);
  });
});

describe("classification", () => {
  it("classes every template by its hundreds digit", () => {
    const expected = {
      "1": "inventory",
      "2": "measurement",
      "3": "alarm",
      "4": "event",
      "5": "operation-status",
      "6": "inventory",
    };
    for (const id of UPSTREAM_TEMPLATE_IDS) {
      expect(priorityClassOf(id)).toBe(expected[id.charAt(0) as keyof typeof expected]);
    }
  });

  it("recognises 501–507 as status updates, not 500", () => {
    const statusIds = SAMPLE_LIST.map(([m]) => m)
      .filter(isOperationStatus)
      .map((m) => m.template);
    expect(statusIds).toEqual(["501", "502", "503", "504", "505", "506", "507"]);
  });

  it.each([
    [Upstream.operationExecuting("c8y_Restart"), "EXECUTING", { by: "fragment", fragment: "c8y_Restart" }],
    [Upstream.operationFailed("c8y_Restart", "x"), "FAILED", { by: "fragment", fragment: "c8y_Restart" }],
    [
      Upstream.operationSuccessful("c8y_Command", ["ok"]),
      "SUCCESSFUL",
      { by: "fragment", fragment: "c8y_Command" },
    ],
    [Upstream.operationExecutingById("42"), "EXECUTING", { by: "operation-id", operationId: "42" }],
    [Upstream.operationFailedById("42"), "FAILED", { by: "operation-id", operationId: "42" }],
    [Upstream.operationSuccessfulById("42"), "SUCCESSFUL", { by: "operation-id", operationId: "42" }],
    [
      Upstream.failExecutingOperations("c8y_Firmware"),
      "FAILED",
      { by: "all-executing", fragment: "c8y_Firmware" },
    ],
    [Upstream.failExecutingOperations(""), "FAILED", { by: "all-executing" }],
  ] as const)("%j → %s", (msg, status, selector) => {
    expect(operationStatusOf(msg)).toStrictEqual({ status, selector });
  });
});

// --- properties ---------------------------------------------------------------------------------

/** Text the encoder accepts (no control characters, no lone surrogates). */
const goodText = (minLength: number) =>
  fc.string({ unit: "grapheme", minLength }).filter((s) => invalidTextReason(s) === undefined);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const isoTime = fc
  .date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString());

/** Anything JSON-ish, biased towards the value shapes templates use. */
const junk = fc.oneof(
  fc.jsonValue(),
  fc.double(),
  fc.string({ unit: "binary" }),
  fc.array(fc.oneof(fc.string({ unit: "binary" }), fc.double(), fc.jsonValue())),
  fc.array(
    fc.dictionary(
      fc.constantFrom("name", "version", "url", "type", "fragment", "series", "value", "unit", "path"),
      fc.oneof(fc.string({ unit: "binary" }), fc.double(), fc.jsonValue()),
    ),
  ),
);

/** A sample message with some of its properties replaced by junk. */
const mutatedSample = fc
  .constantFrom(...SAMPLE_LIST.map(([m]) => m))
  .chain((sample) =>
    fc
      .record(
        Object.fromEntries(
          ["text", "time", ...Object.keys(sample)]
            .filter((k) => k !== "template")
            .map((k) => [k, fc.oneof(fc.constant((sample as Record<string, unknown>)[k]), junk)]),
        ),
        { requiredKeys: [] },
      )
      .map((props) => ({ ...props, template: sample.template })),
  );

describe("properties", () => {
  test.prop([fc.oneof(fc.anything(), fc.jsonValue(), mutatedSample)], { numRuns: 2000 })(
    "decode then encode never throws; a Right row is clean text led by the id",
    (input) => {
      const decoded = UpstreamMessageCodec.decode(input);
      if (E.isLeft(decoded)) return;
      const row = encodeUpstream(decoded.right);
      if (E.isRight(row)) {
        expect(row.right[0]).toBe(decoded.right.template);
        for (const column of row.right) expect(invalidTextReason(column)).toBeUndefined();
      } else {
        expect(row.left.templateId).toBe(decoded.right.template);
      }
    },
  );

  test.prop([fc.oneof(fc.anything(), mutatedSample)])(
    "encode never throws on values that bypassed the codec",
    (input) => {
      const result = encodeUpstream(input as UpstreamMessage);
      expect(E.isLeft(result) || E.isRight(result)).toBe(true);
    },
  );

  test.prop([
    goodText(1),
    goodText(1),
    finite,
    fc.option(goodText(0), { nil: undefined }),
    fc.option(isoTime, { nil: undefined }),
  ])("200: arity and value round trip", (fragment, series, value, unit, time) => {
    const row = encodeUpstream(Upstream.measurement(fragment, series, value, unit, time));
    const arity = time !== undefined ? 6 : unit !== undefined && unit !== "" ? 5 : 4;
    expect(E.isRight(row)).toBe(true);
    if (E.isLeft(row)) return;
    expect(row.right).toHaveLength(arity);
    expect(row.right.slice(0, 3)).toEqual(["200", fragment, series]);
    expect(Number(row.right[3])).toBe(value === 0 ? 0 : value); // -0 is written "0"
    expect(row.right[3]).not.toMatch(/e/i);
  });

  test.prop([
    goodText(1),
    fc.option(isoTime, { nil: undefined }),
    fc.array(
      fc.record(
        { fragment: goodText(1), series: goodText(1), value: finite, unit: goodText(0) },
        { requiredKeys: ["fragment", "series", "value"] },
      ),
      { minLength: 1, maxLength: 8 },
    ),
  ])("201: arity and value round trip", (type, time, series) => {
    const row = encodeUpstream(Upstream.measurements(type, series, time));
    expect(E.isRight(row)).toBe(true);
    if (E.isLeft(row)) return;
    const lastUnit = series[series.length - 1]?.unit;
    expect(row.right).toHaveLength(
      3 + 4 * series.length - (lastUnit === undefined || lastUnit === "" ? 1 : 0),
    );
    expect(row.right.slice(0, 3)).toEqual(["201", type, time ?? ""]);
    series.forEach((s, i) => {
      const base = 3 + 4 * i;
      expect(row.right.slice(base, base + 2)).toEqual([s.fragment, s.series]);
      expect(Number(row.right[base + 2])).toBe(s.value === 0 ? 0 : s.value);
    });
  });
});

describe("limits", () => {
  it("encodes very long lists without hitting argument-count limits", () => {
    const operations = Array.from({ length: 300_000 }, (_, i) => `op${i}`);
    const row = encodeUpstream(Upstream.supportedOperations(operations));
    expect(E.isRight(row) && row.right.length).toBe(300_001);
  });
});
