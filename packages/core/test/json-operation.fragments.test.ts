/**
 * Each operation fragment as the platform writes it in JSON (spec §2.7, the fragments of the
 * 510–532 templates, §4.8), decoded to the typed operation a reader of the fragment expects:
 * every field in its place, the template chosen by the fields present (515/525, 520/526,
 * 521/524, 527/531, 528/529), scalars as the static row would carry them, and no payload shape
 * (null, a scalar, a list where an object belongs) able to throw. Then the encoder: the exact
 * JSON published for each template.
 */
import { describe, expect, it } from "vitest";
import {
  decodeOperationNotification,
  fragmentValue,
  jsonEquivalent,
  operationNotification,
} from "../src/json/operation.js";
import type { Operation } from "../src/smartrest/downstream.js";

/** The operation decoded from `{ id, [fragment]: value }` for the root device `dev1`. */
const operationOf = (fragment: string, value: unknown): unknown => {
  const n = decodeOperationNotification(JSON.stringify({ id: "1", [fragment]: value }), "dev1");
  if (n.kind !== "operation") throw new Error(`malformed: ${n.reason}`);
  if (n.operation === null) throw new Error(`not executable: ${n.failure ?? ""}`);
  return n.operation;
};

const failureOf = (fragment: string, value: unknown): string | null => {
  const n = decodeOperationNotification(JSON.stringify({ id: "1", [fragment]: value }), "dev1");
  return n.kind === "operation" ? n.failure : n.reason;
};

const op = (template: string, fragment: string, fields: object = {}) => ({
  template,
  fragment,
  deviceId: "dev1",
  ...fields,
});

const install = { name: "nginx", version: "1.2", url: "http://x/nginx", action: "install" };
const typedInstall = { ...install, softwareType: "apt" };

describe("each fragment decodes to its template, every field in its place", () => {
  it.each<[string, string, unknown, object]>([
    ["510", "c8y_Restart", {}, {}],
    ["511", "c8y_Command", { text: "uptime" }, { text: "uptime" }],
    ["513", "c8y_Configuration", { config: "a=1" }, { config: "a=1" }],
    [
      "515",
      "c8y_Firmware",
      { name: "fw", version: "2", url: "http://x/fw" },
      { name: "fw", version: "2", url: "http://x/fw", isPatch: false },
    ],
    [
      "525",
      "c8y_Firmware",
      { name: "fw", version: "2", url: "http://x/fw", isPatch: true, dependency: "1" },
      { name: "fw", version: "2", url: "http://x/fw", dependency: "1", isPatch: true },
    ],
    [
      "516",
      "c8y_SoftwareList",
      [
        { name: "a", version: "1", url: "http://x/a" },
        { name: "b", version: "2", url: "http://x/b" },
      ],
      {
        software: [
          { name: "a", version: "1", url: "http://x/a" },
          { name: "b", version: "2", url: "http://x/b" },
        ],
      },
    ],
    ["517", "c8y_MeasurementRequestOperation", { requestName: "LOGA" }, { requestName: "LOGA" }],
    ["518", "c8y_Relay", { relayState: "OPEN" }, { relayState: "OPEN" }],
    ["519", "c8y_RelayArray", ["OPEN", "CLOSED", "OPEN"], { relayStates: ["OPEN", "CLOSED", "OPEN"] }],
    ["520", "c8y_UploadConfigFile", {}, {}],
    ["526", "c8y_UploadConfigFile", { type: "ssh" }, { type: "ssh" }],
    ["521", "c8y_DownloadConfigFile", { url: "http://x/c" }, { url: "http://x/c" }],
    ["524", "c8y_DownloadConfigFile", { url: "http://x/c", type: "ssh" }, { url: "http://x/c", type: "ssh" }],
    [
      "522",
      "c8y_LogfileRequest",
      {
        logFile: "syslog",
        dateFrom: "2026-11-29T10:00:00+0100",
        dateTo: "2026-11-29T11:00:00+01:00",
        searchText: "error",
        maximumLines: 1000,
      },
      {
        logFile: "syslog",
        dateFrom: "2026-11-29T10:00:00+0100",
        dateTo: "2026-11-29T11:00:00+01:00",
        searchText: "error",
        maximumLines: 1000,
      },
    ],
    ["523", "c8y_CommunicationMode", { mode: "SMS" }, { mode: "SMS" }],
    [
      "527",
      "c8y_DeviceProfile",
      {
        firmware: { name: "fw", version: "2", url: "http://x/fw", isPatch: true, dependency: "1" },
        software: [install, { ...install, name: "curl", action: "delete" }],
        configuration: [
          { url: "http://x/c1", type: "ssh" },
          { url: "http://x/c2", type: "" },
        ],
      },
      {
        firmware: { name: "fw", version: "2", url: "http://x/fw", isPatch: true, dependency: "1" },
        software: [install, { ...install, name: "curl", action: "delete" }],
        configuration: [
          { url: "http://x/c1", type: "ssh" },
          { url: "http://x/c2", type: "" },
        ],
      },
    ],
    [
      "531",
      "c8y_DeviceProfile",
      { software: [typedInstall], configuration: [] },
      { software: [typedInstall], configuration: [] },
    ],
    ["528", "c8y_SoftwareUpdate", [install], { software: [install] }],
    ["529", "c8y_SoftwareUpdate", [typedInstall], { software: [typedInstall] }],
    [
      "530",
      "c8y_RemoteAccessConnect",
      { hostname: "10.0.0.1", port: 22, connectionKey: "k-1" },
      { hostname: "10.0.0.1", port: 22, connectionKey: "k-1" },
    ],
    [
      "532",
      "c8y_ParameterUpdate",
      {
        parameters: [
          { path: "a/b", type: "int", value: "1" },
          { path: "c", type: "", value: "x" },
        ],
      },
      {
        parameters: [
          { path: "a/b", type: "int", value: "1" },
          { path: "c", type: "", value: "x" },
        ],
      },
    ],
  ])("%s %s", (template, fragment, value, fields) => {
    expect(operationOf(fragment, value)).toEqual(op(template, fragment, fields));
  });

  it("c8y_ParameterUpdate may also be the bare list of parameters", () => {
    expect(operationOf("c8y_ParameterUpdate", [{ path: "a", type: "int", value: "1" }])).toEqual(
      op("532", "c8y_ParameterUpdate", { parameters: [{ path: "a", type: "int", value: "1" }] }),
    );
  });
});

describe("which of two templates sharing a fragment", () => {
  const fw = { name: "fw", version: "2", url: "http://x/fw" };

  it("c8y_Firmware is a patch (525) when it names a dependency, even an empty one, or isPatch is true", () => {
    expect(operationOf("c8y_Firmware", { ...fw, dependency: "" })).toEqual(
      op("525", "c8y_Firmware", { ...fw, dependency: "", isPatch: true }),
    );
    expect(operationOf("c8y_Firmware", { ...fw, isPatch: true })).toEqual(
      op("525", "c8y_Firmware", { ...fw, dependency: "", isPatch: true }),
    );
    expect(operationOf("c8y_Firmware", { ...fw, isPatch: false, dependency: "1" })).toEqual(
      op("525", "c8y_Firmware", { ...fw, dependency: "1", isPatch: true }),
    );
  });

  it("c8y_Firmware is a plain update (515) when isPatch is anything but true and there is no dependency", () => {
    for (const isPatch of [false, "true", 1, null])
      expect(operationOf("c8y_Firmware", { ...fw, isPatch }), String(isPatch)).toEqual(
        op("515", "c8y_Firmware", { ...fw, isPatch: false }),
      );
  });

  it("c8y_UploadConfigFile and c8y_DownloadConfigFile are typed (526, 524) only with a non-empty type", () => {
    expect(operationOf("c8y_UploadConfigFile", { type: "" })).toEqual(op("520", "c8y_UploadConfigFile"));
    expect(operationOf("c8y_UploadConfigFile", { type: 7 })).toEqual(
      op("526", "c8y_UploadConfigFile", { type: "7" }),
    );
    expect(operationOf("c8y_DownloadConfigFile", { url: "u", type: "" })).toEqual(
      op("521", "c8y_DownloadConfigFile", { url: "u" }),
    );
    expect(operationOf("c8y_DownloadConfigFile", { url: "u", type: null })).toEqual(
      op("521", "c8y_DownloadConfigFile", { url: "u" }),
    );
  });

  it("software lists are typed (529, 531) when any item has a softwareType; the others get an empty one", () => {
    const untyped = { name: "curl", version: "8", url: "", action: "delete" };
    expect(operationOf("c8y_SoftwareUpdate", [untyped, typedInstall])).toEqual(
      op("529", "c8y_SoftwareUpdate", { software: [{ ...untyped, softwareType: "" }, typedInstall] }),
    );
    expect(
      operationOf("c8y_DeviceProfile", { software: [typedInstall, untyped], configuration: [] }),
    ).toEqual(
      op("531", "c8y_DeviceProfile", {
        software: [typedInstall, { ...untyped, softwareType: "" }],
        configuration: [],
      }),
    );
  });

  it("a device profile without firmware, software or configuration is an empty 527", () => {
    expect(operationOf("c8y_DeviceProfile", {})).toEqual(
      op("527", "c8y_DeviceProfile", { software: [], configuration: [] }),
    );
    for (const firmware of [null, "fw", 1, ["fw", "2", "u"]])
      expect(operationOf("c8y_DeviceProfile", { firmware }), JSON.stringify(firmware)).toEqual(
        op("527", "c8y_DeviceProfile", { software: [], configuration: [] }),
      );
  });

  it("a profile's firmware is a patch only when isPatch is the boolean true", () => {
    const firmware = { name: "fw", version: "2", url: "u" };
    for (const [isPatch, expected] of [
      [true, true],
      [false, false],
      ["true", false],
      [undefined, false],
    ] as const)
      expect(
        operationOf("c8y_DeviceProfile", { firmware: { ...firmware, isPatch } }),
        String(isPatch),
      ).toEqual(
        op("527", "c8y_DeviceProfile", {
          firmware: { ...firmware, isPatch: expected, dependency: "" },
          software: [],
          configuration: [],
        }),
      );
  });
});

describe("scalars as the static row would carry them", () => {
  it.each<[unknown, string]>([
    ["ls -l", "ls -l"],
    ["", ""],
    [12, "12"],
    [-1.5, "-1.5"],
    [true, "true"],
    [false, "false"],
    [null, ""],
    [{ cmd: "ls" }, ""],
    [["ls"], ""],
  ])("c8y_Command text %j reads as %j", (text, expected) => {
    expect(operationOf("c8y_Command", { text })).toEqual(op("511", "c8y_Command", { text: expected }));
  });

  it("a number reads as its decimal text where the template wants one (port, maximumLines)", () => {
    expect(
      operationOf("c8y_RemoteAccessConnect", { hostname: "h", port: "443", connectionKey: "k" }),
    ).toEqual(op("530", "c8y_RemoteAccessConnect", { hostname: "h", port: 443, connectionKey: "k" }));
    expect(failureOf("c8y_RemoteAccessConnect", { hostname: "h", port: 0, connectionKey: "k" })).toBe(
      "malformed c8y_RemoteAccessConnect: port: not an integer in [1, 65535]: '0'",
    );
  });

  it("a fragment that is not an object reads as one without fields", () => {
    expect(operationOf("c8y_Command", "uptime")).toEqual(op("511", "c8y_Command", { text: "" }));
    expect(operationOf("c8y_Command", ["uptime"])).toEqual(op("511", "c8y_Command", { text: "" }));
    expect(operationOf("c8y_Restart", null)).toEqual(op("510", "c8y_Restart"));
    expect(operationOf("c8y_SoftwareList", { name: "a" })).toEqual(
      op("516", "c8y_SoftwareList", { software: [] }),
    );
    expect(operationOf("c8y_RelayArray", "OPEN")).toEqual(op("519", "c8y_RelayArray", { relayStates: [] }));
    expect(operationOf("c8y_SoftwareUpdate", { software: [install] })).toEqual(
      op("528", "c8y_SoftwareUpdate", { software: [] }),
    );
    expect(operationOf("c8y_ParameterUpdate", "a=1")).toEqual(
      op("532", "c8y_ParameterUpdate", { parameters: [] }),
    );
  });

  it("a list item without fields is refused wherever it is, never dropped (a trailing one once was)", () => {
    const named = { name: "a", version: "", url: "", action: "install" };
    for (const [fragment, value, reason] of [
      ["c8y_SoftwareUpdate", [null], "software[0]: an item without fields"],
      ["c8y_SoftwareUpdate", [named, {}], "software[1]: an item without fields"],
      ["c8y_SoftwareUpdate", [{}, named], "software[0] name: must not be empty"],
      ["c8y_SoftwareUpdate", [{ ...named, softwareType: "apt" }, {}], "software[1]: an item without fields"],
      ["c8y_SoftwareList", ["nginx"], "software[0]: an item without fields"],
      ["c8y_RelayArray", ["OPEN", null], "relayStates[1]: an item without fields"],
      ["c8y_RelayArray", ["OPEN", ""], "relayStates[1]: an item without fields"],
      ["c8y_ParameterUpdate", { parameters: [1] }, "parameters[0]: an item without fields"],
      ["c8y_ParameterUpdate", [{ path: "p" }, null], "parameters[1]: an item without fields"],
      ["c8y_DeviceProfile", { software: [null], configuration: [] }, "software[0]: an item without fields"],
      [
        "c8y_DeviceProfile",
        { software: [named], configuration: ["http://x/c"] },
        "configuration[0]: an item without fields",
      ],
      [
        "c8y_DeviceProfile",
        { software: [{ ...named, softwareType: "apt" }, null] },
        "software[1]: an item without fields",
      ],
    ] as const)
      expect(failureOf(fragment, value), JSON.stringify(value)).toBe(`malformed ${fragment}: ${reason}`);
  });
});

describe("no payload shape throws", () => {
  const fragments = [
    "c8y_Restart",
    "c8y_Command",
    "c8y_Configuration",
    "c8y_Firmware",
    "c8y_SoftwareList",
    "c8y_MeasurementRequestOperation",
    "c8y_Relay",
    "c8y_RelayArray",
    "c8y_UploadConfigFile",
    "c8y_DownloadConfigFile",
    "c8y_LogfileRequest",
    "c8y_CommunicationMode",
    "c8y_DeviceProfile",
    "c8y_SoftwareUpdate",
    "c8y_RemoteAccessConnect",
    "c8y_ParameterUpdate",
  ];
  const shapes: unknown[] = [
    null,
    "s",
    0,
    true,
    [],
    [null],
    [null, "s", 1, true, []],
    {},
    { software: [null, "s"], configuration: [null, 1], firmware: null, parameters: [null] },
    { software: null, configuration: "s", firmware: [], parameters: {} },
  ];

  it.each(fragments)("%s with any shape still names the id and the fragment", (fragment) => {
    for (const value of shapes) {
      const n = decodeOperationNotification(JSON.stringify({ id: "1", [fragment]: value }), "dev1");
      expect(n, JSON.stringify(value)).toMatchObject({ kind: "operation", operationId: "1", fragment });
    }
  });
});

describe("encoder: the JSON the platform publishes", () => {
  const fields = {
    id: "555",
    deviceInternalId: "9876",
    status: "EXECUTING",
    creationTime: "2026-11-29T10:00:00.000Z",
  } as const;

  it("names the operation, its owner, status, time, the fragment as description, and the fragment", () => {
    expect(
      operationNotification(
        { template: "511", fragment: "c8y_Command", deviceId: "dev1", text: "ls" },
        fields,
      ),
    ).toEqual({
      id: "555",
      deviceId: "9876",
      status: "EXECUTING",
      creationTime: "2026-11-29T10:00:00.000Z",
      description: "c8y_Command",
      c8y_Command: { text: "ls" },
    });
  });

  it("a child's operation carries externalSource with the child's external id as a c8y_Serial", () => {
    expect(
      operationNotification(
        { template: "510", fragment: "c8y_Restart", deviceId: "child-1" },
        { ...fields, description: "Restart the child", childExternalId: "child-1" },
      ),
    ).toEqual({
      id: "555",
      deviceId: "9876",
      status: "EXECUTING",
      creationTime: "2026-11-29T10:00:00.000Z",
      description: "Restart the child",
      externalSource: { externalId: "child-1", type: "c8y_Serial" },
      c8y_Restart: {},
    });
  });

  const base = { deviceId: "d" };
  const change = { name: "n", version: "v", url: "u", action: "install" } as const;
  const typedChange = { name: "n", version: "v", softwareType: "apt", url: "u", action: "delete" } as const;
  const firmware = { name: "fw", version: "2", url: "u", isPatch: true, dependency: "1" };

  it.each<[Operation, unknown]>([
    [{ ...base, template: "510", fragment: "c8y_Restart" }, {}],
    [{ ...base, template: "511", fragment: "c8y_Command", text: "t" }, { text: "t" }],
    [{ ...base, template: "513", fragment: "c8y_Configuration", config: "c" }, { config: "c" }],
    [
      {
        ...base,
        template: "515",
        fragment: "c8y_Firmware",
        name: "fw",
        version: "2",
        url: "u",
        isPatch: false,
      },
      { name: "fw", version: "2", url: "u" },
    ],
    [
      {
        ...base,
        template: "525",
        fragment: "c8y_Firmware",
        name: "fw",
        version: "2",
        url: "u",
        dependency: "1",
        isPatch: true,
      },
      { name: "fw", version: "2", url: "u", dependency: "1" },
    ],
    [
      {
        ...base,
        template: "516",
        fragment: "c8y_SoftwareList",
        software: [{ name: "n", version: "v", url: "u" }],
      },
      [{ name: "n", version: "v", url: "u" }],
    ],
    [
      { ...base, template: "517", fragment: "c8y_MeasurementRequestOperation", requestName: "r" },
      { requestName: "r" },
    ],
    [{ ...base, template: "518", fragment: "c8y_Relay", relayState: "CLOSED" }, { relayState: "CLOSED" }],
    [
      { ...base, template: "519", fragment: "c8y_RelayArray", relayStates: ["OPEN", "CLOSED"] },
      ["OPEN", "CLOSED"],
    ],
    [{ ...base, template: "520", fragment: "c8y_UploadConfigFile" }, {}],
    [{ ...base, template: "526", fragment: "c8y_UploadConfigFile", type: "t" }, { type: "t" }],
    [{ ...base, template: "521", fragment: "c8y_DownloadConfigFile", url: "u" }, { url: "u" }],
    [
      { ...base, template: "524", fragment: "c8y_DownloadConfigFile", url: "u", type: "t" },
      { url: "u", type: "t" },
    ],
    [
      {
        ...base,
        template: "522",
        fragment: "c8y_LogfileRequest",
        logFile: "l",
        dateFrom: "a",
        dateTo: "b",
        searchText: "s",
        maximumLines: 5,
      },
      { logFile: "l", dateFrom: "a", dateTo: "b", searchText: "s", maximumLines: 5 },
    ],
    [{ ...base, template: "523", fragment: "c8y_CommunicationMode", mode: "IP" }, { mode: "IP" }],
    [
      {
        ...base,
        template: "527",
        fragment: "c8y_DeviceProfile",
        firmware,
        software: [change],
        configuration: [{ url: "c", type: "t" }],
      },
      { firmware, software: [change], configuration: [{ url: "c", type: "t" }] },
    ],
    [
      { ...base, template: "531", fragment: "c8y_DeviceProfile", software: [typedChange], configuration: [] },
      { software: [typedChange], configuration: [] },
    ],
    [{ ...base, template: "528", fragment: "c8y_SoftwareUpdate", software: [change] }, [change]],
    [{ ...base, template: "529", fragment: "c8y_SoftwareUpdate", software: [typedChange] }, [typedChange]],
    [
      {
        ...base,
        template: "530",
        fragment: "c8y_RemoteAccessConnect",
        hostname: "h",
        port: 22,
        connectionKey: "k",
      },
      { hostname: "h", port: 22, connectionKey: "k" },
    ],
    [
      {
        ...base,
        template: "532",
        fragment: "c8y_ParameterUpdate",
        parameters: [{ path: "p", type: "t", value: "v" }],
      },
      { parameters: [{ path: "p", type: "t", value: "v" }] },
    ],
  ])("$template: the fragment's value", (operation, expected) => {
    // toStrictEqual: a key present with an undefined value would be a different JSON object.
    expect(fragmentValue(operation)).toStrictEqual(expected);
  });

  it("jsonEquivalent: only a typed profile or update without software becomes its untyped twin", () => {
    const profile = {
      ...base,
      template: "531",
      fragment: "c8y_DeviceProfile",
      software: [],
      configuration: [],
    } as const;
    expect(jsonEquivalent(profile)).toStrictEqual({ ...profile, template: "527" });
    expect(jsonEquivalent({ ...profile, software: [typedChange] })).toStrictEqual({
      ...profile,
      software: [typedChange],
    });
    const update = { ...base, template: "529", fragment: "c8y_SoftwareUpdate", software: [] } as const;
    expect(jsonEquivalent(update)).toStrictEqual({ ...update, template: "528" });
    expect(jsonEquivalent({ ...update, software: [typedChange] })).toStrictEqual({
      ...update,
      software: [typedChange],
    });
    const untyped = { ...base, template: "528", fragment: "c8y_SoftwareUpdate", software: [] } as const;
    expect(jsonEquivalent(untyped)).toBe(untyped);
  });
});
