/**
 * Downstream (`s/ds`) decoding: golden rows from the spec (§4.6, §4.8), tolerance cases, and
 * properties (typed operation → encode → decode round trip; decoding is total).
 * Rows are written as already-split fields so these tests do not depend on the CSV reader.
 */
import { describe, expect, it } from "vitest";
import { test, fc } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import {
  DOWNSTREAM_CODECS,
  DOWNSTREAM_SPECS,
  OPERATION_CODECS,
  decodeDownstreamRow,
  encodeOperation,
  type DownstreamMessage,
  type Operation,
  type ProfileFirmware,
} from "../src/smartrest/downstream.js";
import type { Row } from "../src/smartrest/types.js";
import { OPERATION_ARBITRARIES, anyOperation } from "./support/operations.js";

const op = (row: Row): Operation => {
  const decoded = decodeDownstreamRow(row);
  if (decoded.kind !== "operation") throw new Error(`expected an operation, got ${JSON.stringify(decoded)}`);
  return decoded.operation;
};

/** Decoding a golden row gives `expected`, and encoding `expected` gives the row back. */
const golden = (row: Row, expected: Operation) => {
  expect(op(row)).toEqual(expected);
  expect(encodeOperation(expected)).toEqual(row);
};

const PROFILE_527: Row = [
  "527",
  "DeviceSerial",
  "$FW",
  "device_fw",
  "1.0.1",
  "https://cumulocity.com/fw",
  "false",
  "",
  "$SW",
  "curl",
  "2.3.4",
  "http://my.url.com",
  "install",
  "cumulocity_agent",
  "1.2.3",
  "https://cumulocity.com/agent",
  "install",
  "$CONF",
  "http://cumulocity.com/conf",
  "ssh_conf",
  "https://demos.cumulocity.com/inventory/binaries/156719",
  "agent_conf",
];

const FIRMWARE: ProfileFirmware = {
  name: "device_fw",
  version: "1.0.1",
  url: "https://cumulocity.com/fw",
  isPatch: false,
  dependency: "",
};

const CONFIGURATION = [
  { url: "http://cumulocity.com/conf", type: "ssh_conf" },
  { url: "https://demos.cumulocity.com/inventory/binaries/156719", type: "agent_conf" },
];

describe("golden rows from the spec", () => {
  it("510 restart", () =>
    golden(["510", "DeviceSerial"], { template: "510", fragment: "c8y_Restart", deviceId: "DeviceSerial" }));

  it("511 command with LF and quotes inside the text", () =>
    golden(["511", "myDeviceSerial", 'execute this\nand this\nand "this"'], {
      template: "511",
      fragment: "c8y_Command",
      deviceId: "myDeviceSerial",
      text: 'execute this\nand this\nand "this"',
    }));

  it("513 configuration", () =>
    golden(["513", "DeviceSerial", "val1=1\nval2=2"], {
      template: "513",
      fragment: "c8y_Configuration",
      deviceId: "DeviceSerial",
      config: "val1=1\nval2=2",
    }));

  it("515 firmware (full image), 525 firmware patch", () => {
    golden(["515", "DeviceSerial", "myFirmware", "1.0", "http://www.my.url"], {
      template: "515",
      fragment: "c8y_Firmware",
      deviceId: "DeviceSerial",
      name: "myFirmware",
      version: "1.0",
      url: "http://www.my.url",
      isPatch: false,
    });
    golden(["525", "DeviceSerial", "myFirmware", "1.0.1", "http://www.my.url/patch", "1.0"], {
      template: "525",
      fragment: "c8y_Firmware",
      deviceId: "DeviceSerial",
      name: "myFirmware",
      version: "1.0.1",
      url: "http://www.my.url/patch",
      dependency: "1.0",
      isPatch: true,
    });
  });

  it("515 with $PROVIDED url", () =>
    expect(op(["515", "d", "fw", "2", "$PROVIDED"])).toMatchObject({ url: "$PROVIDED" }));

  it("516 complete software list", () =>
    golden(["516", "DeviceSerial", "software1", "version1", "url1", "software2", "", "url2"], {
      template: "516",
      fragment: "c8y_SoftwareList",
      deviceId: "DeviceSerial",
      software: [
        { name: "software1", version: "version1", url: "url1" },
        { name: "software2", version: "", url: "url2" },
      ],
    }));

  it("516 whose last url was omitted (trailing empty fields)", () =>
    expect(op(["516", "d", "a", "1"])).toMatchObject({ software: [{ name: "a", version: "1", url: "" }] }));

  it("517 measurement request", () =>
    golden(["517", "DeviceSerial", "LOGA"], {
      template: "517",
      fragment: "c8y_MeasurementRequestOperation",
      deviceId: "DeviceSerial",
      requestName: "LOGA",
    }));

  it("518 relay", () =>
    golden(["518", "DeviceSerial", "OPEN"], {
      template: "518",
      fragment: "c8y_Relay",
      deviceId: "DeviceSerial",
      relayState: "OPEN",
    }));

  it("519 relay array, accepting ST-new's CLOSE spelling and writing CLOSED", () => {
    const expected: Operation = {
      template: "519",
      fragment: "c8y_RelayArray",
      deviceId: "DeviceSerial",
      relayStates: ["OPEN", "CLOSED", "CLOSED", "OPEN"],
    };
    expect(op(["519", "DeviceSerial", "OPEN", "CLOSE", "CLOSED", "OPEN"])).toEqual(expected);
    golden(["519", "DeviceSerial", "OPEN", "CLOSED", "CLOSED", "OPEN"], expected);
  });

  it("520, 521, 524, 526 configuration files", () => {
    golden(["520", "D"], { template: "520", fragment: "c8y_UploadConfigFile", deviceId: "D" });
    golden(["521", "D", "http://x/cfg"], {
      template: "521",
      fragment: "c8y_DownloadConfigFile",
      deviceId: "D",
      url: "http://x/cfg",
    });
    golden(["524", "D", "http://x/cfg", "ssh_conf"], {
      template: "524",
      fragment: "c8y_DownloadConfigFile",
      deviceId: "D",
      url: "http://x/cfg",
      type: "ssh_conf",
    });
    golden(["526", "D", "ssh_conf"], {
      template: "526",
      fragment: "c8y_UploadConfigFile",
      deviceId: "D",
      type: "ssh_conf",
    });
  });

  it("522 log file request", () =>
    golden(
      [
        "522",
        "DeviceSerial",
        "logfileA",
        "2013-06-22T17:03:14.000+02:00",
        "2013-06-22T18:03:14.000+02:00",
        "ERROR",
        "1000",
      ],
      {
        template: "522",
        fragment: "c8y_LogfileRequest",
        deviceId: "DeviceSerial",
        logFile: "logfileA",
        dateFrom: "2013-06-22T17:03:14.000+02:00",
        dateTo: "2013-06-22T18:03:14.000+02:00",
        searchText: "ERROR",
        maximumLines: 1000,
      },
    ));

  it("522 keeps offsets without colon and accepts an empty search text", () =>
    expect(
      op(["522", "d", "syslog", "2021-10-23T19:03:26+0100", "2021-10-24T19:03:26+0100", "", "10"]),
    ).toMatchObject({
      dateFrom: "2021-10-23T19:03:26+0100",
      dateTo: "2021-10-24T19:03:26+0100",
      searchText: "",
      maximumLines: 10,
    }));

  it("523 communication mode", () =>
    golden(["523", "D", "SMS"], {
      template: "523",
      fragment: "c8y_CommunicationMode",
      deviceId: "D",
      mode: "SMS",
    }));

  it("527 device profile (spec example)", () =>
    golden(PROFILE_527, {
      template: "527",
      fragment: "c8y_DeviceProfile",
      deviceId: "DeviceSerial",
      firmware: FIRMWARE,
      software: [
        { name: "curl", version: "2.3.4", url: "http://my.url.com", action: "install" },
        {
          name: "cumulocity_agent",
          version: "1.2.3",
          url: "https://cumulocity.com/agent",
          action: "install",
        },
      ],
      configuration: CONFIGURATION,
    }));

  it("531 device profile with typed software (spec example, completed)", () =>
    golden(
      [
        "531",
        "DeviceSerial",
        "$FW",
        "device_fw",
        "1.0.1",
        "https://cumulocity.com/fw",
        "false",
        "",
        "$SW",
        "curl",
        "2.3.4",
        "rpm",
        "http://my.url.com",
        "install",
        "cumulocity_agent",
        "1.2.3",
        "",
        "https://cumulocity.com/agent",
        "install",
        "$CONF",
        "http://cumulocity.com/conf",
        "ssh_conf",
        "https://demos.cumulocity.com/inventory/binaries/156719",
        "agent_conf",
      ],
      {
        template: "531",
        fragment: "c8y_DeviceProfile",
        deviceId: "DeviceSerial",
        firmware: FIRMWARE,
        software: [
          {
            name: "curl",
            version: "2.3.4",
            softwareType: "rpm",
            url: "http://my.url.com",
            action: "install",
          },
          {
            name: "cumulocity_agent",
            version: "1.2.3",
            softwareType: "",
            url: "https://cumulocity.com/agent",
            action: "install",
          },
        ],
        configuration: CONFIGURATION,
      },
    ));

  it("528 legacy software update", () =>
    golden(["528", "D", "nano", "2.9", "http://x/nano", "install", "vim", "8", "", "delete"], {
      template: "528",
      fragment: "c8y_SoftwareUpdate",
      deviceId: "D",
      software: [
        { name: "nano", version: "2.9", url: "http://x/nano", action: "install" },
        { name: "vim", version: "8", url: "", action: "delete" },
      ],
    }));

  it("529 advanced software update (FRAG-software example)", () =>
    golden(
      ["529", "DeviceSerial", "software_a", "4.0.0", "type A", "http://example.com/software_a", "install"],
      {
        template: "529",
        fragment: "c8y_SoftwareUpdate",
        deviceId: "DeviceSerial",
        software: [
          {
            name: "software_a",
            version: "4.0.0",
            softwareType: "type A",
            url: "http://example.com/software_a",
            action: "install",
          },
        ],
      },
    ));

  it("530 remote access connect", () =>
    golden(["530", "DeviceSerial", "10.0.0.67", "22", "eb5e9d13-1caa-486b-bdda-130ca0d87df8"], {
      template: "530",
      fragment: "c8y_RemoteAccessConnect",
      deviceId: "DeviceSerial",
      hostname: "10.0.0.67",
      port: 22,
      connectionKey: "eb5e9d13-1caa-486b-bdda-130ca0d87df8",
    }));

  it("532 parameter update", () =>
    golden(
      ["532", "DeviceSerial", "c8y_RelayStatus.left", "b", "false", "c8y_RelayStatus.right", "b", "true"],
      {
        template: "532",
        fragment: "c8y_ParameterUpdate",
        deviceId: "DeviceSerial",
        parameters: [
          { path: "c8y_RelayStatus.left", type: "b", value: "false" },
          { path: "c8y_RelayStatus.right", type: "b", value: "true" },
        ],
      },
    ));
});

describe("answer lines", () => {
  const goldenAnswer = <K extends keyof typeof DOWNSTREAM_CODECS>(
    id: K,
    row: Row,
    expected: DownstreamMessage,
  ) => {
    expect(decodeDownstreamRow(row)).toEqual(expected);
    expect((DOWNSTREAM_CODECS[id] as { encode: (a: unknown) => Row }).encode(expected)).toEqual(row);
  };

  it("106 with children", () =>
    goldenAnswer("106", ["106", "child1", "child2", "child3"], {
      kind: "child-list",
      children: ["child1", "child2", "child3"],
    }));
  it("bare 106 = no children", () => goldenAnswer("106", ["106"], { kind: "child-list", children: [] }));
  it("106 drops empty ids", () =>
    expect(decodeDownstreamRow(["106", "", "a", ""])).toEqual({ kind: "child-list", children: ["a"] }));
  it("124 managed object id", () =>
    goldenAnswer("124", ["124", "12345"], { kind: "managed-object-id", id: "12345" }));
  it("601 platform version", () =>
    goldenAnswer("601", ["601", "2025.0.0"], { kind: "platform-version", version: "2025.0.0" }));
  it("603 template ids", () =>
    goldenAnswer("603", ["603", "100", "101", "102", "603"], {
      kind: "template-ids",
      ids: ["100", "101", "102", "603"],
    }));
  it("124 without id is malformed", () =>
    expect(decodeDownstreamRow(["124"])).toMatchObject({ kind: "malformed", templateId: "124" }));
});

describe("tolerance and malformed rows", () => {
  it("unknown ids are unsupported", () => {
    expect(decodeDownstreamRow(["512", "D"])).toEqual({
      kind: "unsupported",
      templateId: "512",
      raw: ["512", "D"],
    });
    expect(decodeDownstreamRow(["999"])).toMatchObject({ kind: "unsupported", templateId: "999" });
    expect(decodeDownstreamRow([])).toEqual({ kind: "unsupported", templateId: "", raw: [] });
    expect(decodeDownstreamRow(["toString", "D"])).toMatchObject({ kind: "unsupported" });
  });

  it("too many fields is malformed and keeps the device id", () => {
    const row = ["510", "DeviceSerial", "unexpected"];
    expect(decodeDownstreamRow(row)).toEqual({
      kind: "malformed",
      templateId: "510",
      raw: row,
      reason: expect.stringContaining("at most 0") as unknown as string,
      deviceId: "DeviceSerial",
    });
    expect(decodeDownstreamRow(["530", "D", "h", "22", "key", "extra"])).toMatchObject({
      kind: "malformed",
      deviceId: "D",
    });
  });

  it("trailing empty extra fields are tolerated", () =>
    expect(decodeDownstreamRow(["510", "D", "", ""])).toMatchObject({ kind: "operation" }));

  it("missing mandatory fields are malformed with the device id", () => {
    expect(decodeDownstreamRow(["515", "D", "fw"])).toMatchObject({ kind: "malformed", deviceId: "D" });
    expect(decodeDownstreamRow(["521", "D"])).toMatchObject({ kind: "malformed", deviceId: "D" });
  });

  it("a row without device id is malformed without deviceId", () => {
    const missing = decodeDownstreamRow(["511"]);
    expect(missing).toMatchObject({ kind: "malformed", templateId: "511", reason: "missing device id" });
    expect("deviceId" in missing).toBe(false);
    expect("deviceId" in decodeDownstreamRow(["511", ""])).toBe(false);
  });

  it("bad integers and enums are malformed", () => {
    for (const port of ["", "abc", "-1", "0", "65536", "22.5", "1e3", " 22"]) {
      expect(decodeDownstreamRow(["530", "D", "h", port, "k"])).toMatchObject({
        kind: "malformed",
        deviceId: "D",
      });
    }
    expect(decodeDownstreamRow(["522", "D", "log", "", "", "", "many"])).toMatchObject({ kind: "malformed" });
    expect(decodeDownstreamRow(["518", "D", "HALF"])).toMatchObject({ kind: "malformed" });
    expect(decodeDownstreamRow(["519", "D", "OPEN", "ajar"])).toMatchObject({
      kind: "malformed",
      reason: expect.stringContaining("relayStates[1]") as unknown as string,
    });
    expect(decodeDownstreamRow(["523", "D", "LORA"])).toMatchObject({ kind: "malformed" });
    expect(decodeDownstreamRow(["528", "D", "a", "1", "u", "upgrade"])).toMatchObject({ kind: "malformed" });
  });

  it("relay states other than exact OPEN/CLOSED/CLOSE are refused", () =>
    expect(decodeDownstreamRow(["518", "D", "open"])).toMatchObject({ kind: "malformed" }));

  it("device profile sections may be empty, absent, or in any order", () => {
    expect(op(["527", "D"])).toEqual({
      template: "527",
      fragment: "c8y_DeviceProfile",
      deviceId: "D",
      software: [],
      configuration: [],
    });
    expect(op(["527", "D", "$FW", "$SW", "$CONF"])).toEqual(op(["527", "D"]));
    expect(op(["527", "D", "$FW", "", "", "", "", "", "$SW", "$CONF"])).toEqual(op(["527", "D"]));
    expect(op(["527", "D", "$FW", "", "", "", "false", "", "$SW", "$CONF"])).toEqual(op(["527", "D"]));
    expect(op(["527", "D", "$CONF", "http://c", "t", "$SW", "a", "1", "u", "install"])).toMatchObject({
      software: [{ name: "a", version: "1", url: "u", action: "install" }],
      configuration: [{ url: "http://c", type: "t" }],
    });
    expect(op(["527", "D", "$FW", "fw", "2", "http://fw", "TRUE", "1"])).toMatchObject({
      firmware: { name: "fw", version: "2", url: "http://fw", isPatch: true, dependency: "1" },
      software: [],
      configuration: [],
    });
  });

  it("broken device profiles are malformed", () => {
    expect(decodeDownstreamRow(["527", "D", "curl", "$SW"])).toMatchObject({
      kind: "malformed",
      deviceId: "D",
    });
    expect(decodeDownstreamRow(["527", "D", "$SW", "$SW"])).toMatchObject({ kind: "malformed" });
    expect(decodeDownstreamRow(["527", "D", "$FW", "fw", "1", "u", "maybe", ""])).toMatchObject({
      kind: "malformed",
    });
    expect(decodeDownstreamRow(["527", "D", "$FW", "fw", "1", "u", "false", "", "x"])).toMatchObject({
      kind: "malformed",
    });
    expect(decodeDownstreamRow(["531", "D", "$SW", "a", "1", "rpm", "u", "remove"])).toMatchObject({
      kind: "malformed",
    });
  });

  it("absent firmware is written as $FW plus five empty fields", () =>
    expect(
      encodeOperation({
        template: "527",
        fragment: "c8y_DeviceProfile",
        deviceId: "D",
        software: [],
        configuration: [],
      }),
    ).toEqual(["527", "D", "$FW", "", "", "", "", "", "$SW", "$CONF"]));
});

describe("catalogue", () => {
  const ids = ["106", "124", ...Object.keys(OPERATION_CODECS), "601", "603"];

  it("has one downstream spec per template, in id order, on s/ds", () => {
    expect(DOWNSTREAM_SPECS.map((s) => s.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(25);
    for (const spec of DOWNSTREAM_SPECS) {
      expect(spec.direction).toBe("downstream");
      expect(spec.topic).toBe("s/ds");
    }
  });

  it("operation specs start with deviceId and show repeating groups", () => {
    const byId = new Map(DOWNSTREAM_SPECS.map((s) => [s.id, s]));
    expect(byId.get("530")?.fields).toEqual(["deviceId", "hostname", "port", "connectionKey"]);
    expect(byId.get("516")?.fields).toEqual(["deviceId", "(name, version, url)*"]);
    expect(byId.get("527")?.fields).toEqual([
      "deviceId",
      "$FW",
      "name",
      "version",
      "url",
      "isPatch",
      "dependency",
      "$SW",
      "(name, version, url, action)*",
      "$CONF",
      "(url, type)*",
    ]);
    expect(byId.get("106")?.fields).toEqual(["(childId)*"]);
  });

  it("codecs are keyed by their template and expose io-ts validate/is", () => {
    for (const id of ids) expect(Object.keys(DOWNSTREAM_CODECS)).toContain(id);
    const restart = DOWNSTREAM_CODECS["510"];
    expect(E.isRight(restart.decode(["510", "D"]))).toBe(true);
    expect(E.isLeft(restart.decode(["511", "D", "x"]))).toBe(true);
    expect(restart.is({ template: "510", fragment: "c8y_Restart", deviceId: "D" })).toBe(true);
    expect(restart.is({ template: "511", fragment: "c8y_Restart", deviceId: "D" })).toBe(false);
    expect(
      DOWNSTREAM_CODECS["530"].is({
        template: "530",
        fragment: "c8y_RemoteAccessConnect",
        deviceId: "D",
        hostname: "h",
        port: 0,
        connectionKey: "k",
      }),
    ).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

describe("properties", () => {
  it("there is an arbitrary for every operation codec", () =>
    expect(Object.keys(OPERATION_ARBITRARIES).sort()).toEqual(Object.keys(OPERATION_CODECS).sort()));

  for (const [id, arbitrary] of Object.entries(OPERATION_ARBITRARIES)) {
    test.prop([arbitrary as fc.Arbitrary<Operation>])(
      `${id}: encode → decodeDownstreamRow round trip`,
      (operation) => {
        const row = encodeOperation(operation);
        expect(row[0]).toBe(id);
        expect(row[1]).toBe(operation.deviceId);
        expect(decodeDownstreamRow(row)).toEqual({ kind: "operation", operation });
        const codec = OPERATION_CODECS[operation.template] as { is: (u: unknown) => boolean };
        expect(codec.is(operation)).toBe(true);
      },
    );
  }

  test.prop([anyOperation])("encodeOperation agrees with the template's own codec", (operation) => {
    const codec = OPERATION_CODECS[operation.template] as { encode: (o: Operation) => Row };
    expect(encodeOperation(operation)).toEqual(codec.encode(operation));
  });

  const KINDS = [
    "operation",
    "child-list",
    "managed-object-id",
    "platform-version",
    "template-ids",
    "unsupported",
    "malformed",
  ];
  const knownIds = Object.keys(DOWNSTREAM_CODECS);
  const field = fc.oneof(
    fc.string(),
    fc.constantFrom("", "$FW", "$SW", "$CONF", "OPEN", "CLOSE", "install", "delete", "true", "22", "SMS"),
  );
  const rows = fc.oneof(
    fc.array(fc.string()),
    fc
      .tuple(fc.constantFrom(...knownIds), fc.array(field, { maxLength: 14 }))
      .map(([id, rest]) => [id, ...rest]),
  );

  test.prop([rows])("decodeDownstreamRow is total and classifies every row", (row) => {
    const decoded = decodeDownstreamRow(row);
    expect(KINDS).toContain(decoded.kind);
    if (decoded.kind === "unsupported" || decoded.kind === "malformed") {
      expect(decoded.raw).toBe(row);
      expect(decoded.templateId).toBe(row[0] ?? "");
    }
    if (decoded.kind === "malformed") {
      expect(decoded.reason).not.toBe("");
      const target = row[1];
      if (row[0]?.startsWith("5") && target !== undefined && target !== "")
        expect(decoded.deviceId).toBe(target);
    }
    if (decoded.kind === "operation") expect(decoded.operation.deviceId).toBe(row[1]);
  });

  test.prop([anyOperation, fc.nat({ max: 6 })])(
    "a decoded row re-encodes to the same row once trailing empties are normalised",
    (operation, cut) => {
      // Dropping trailing empty fields is allowed on the wire: decoding must not change.
      const row = encodeOperation(operation);
      let end = row.length;
      while (end > 2 && row.length - end < cut && row[end - 1] === "") end--;
      expect(decodeDownstreamRow(row.slice(0, end))).toEqual({ kind: "operation", operation });
    },
  );
});
