/**
 * Operations as JSON on `devicecontrol/notifications` (spec §2.7): the by-id channel.
 *
 * Static `s/ds` lines carry no operation id, so id-less status rows (501–503) act on "the
 * oldest operation of that fragment" and the device has to guess around crashes and
 * redeliveries. The JSON notification carries the platform's id: with it the engine keys its
 * journal by id and reports 504/505/506, which is exact.
 *
 * A notification decodes into the *same* typed `Operation` a 510–532 line produces: the
 * fragment is turned into the equivalent static row and decoded by that template's own row
 * codec, so both channels share one set of validation rules and the application sees one type.
 * The encoder (`operationNotification`) is what the platform model and the simulated tenant
 * publish; `decodeOperationNotification(encode(op)) = op` is a tested law (up to the cases the
 * JSON cannot tell apart, see `jsonEquivalent`).
 *
 * Decoding is total: any payload becomes a value. One that names an id but cannot be executed
 * (unknown fragment, bad fields) still names the id, so the engine can fail it by id.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import {
  decodeDownstreamRow,
  type Operation,
  type ProfileConfiguration,
  type ProfileFirmware,
  type SoftwareChange,
  type TypedSoftwareChange,
} from "../smartrest/downstream.js";
import type { Row } from "../smartrest/types.js";

export { TOPIC_OPERATION_NOTIFICATIONS } from "../smartrest/topics.js";

/** Operation status values of the Device Control API. */
export type OperationStatus = "PENDING" | "EXECUTING" | "SUCCESSFUL" | "FAILED";
const STATUSES: readonly string[] = ["PENDING", "EXECUTING", "SUCCESSFUL", "FAILED"];

/** Keys of an operation object that are metadata, never the operation's fragment. */
const METADATA_KEYS: ReadonlySet<string> = new Set([
  "id",
  "self",
  "deviceId",
  "deviceName",
  "agentId",
  "status",
  "failureReason",
  "creationTime",
  "description",
  "delivery",
  "externalSource",
  "bulkOperationId",
  "com_cumulocity_model_Agent",
]);

export type OperationNotification =
  | {
      readonly kind: "operation";
      readonly operationId: string;
      readonly status: OperationStatus;
      /** External id of the device that must execute it (the root device, or `externalSource`). */
      readonly deviceId: string;
      readonly fragment: string;
      /** The typed operation, or null when it cannot be executed (see `failure`). */
      readonly operation: Operation | null;
      readonly failure: string | null;
    }
  | {
      /** Not an operation at all (no id, not JSON): nothing can be reported back. */
      readonly kind: "malformed";
      readonly reason: string;
    };

const OperationIdCodec = t.union([t.string, t.number]);

const EnvelopeCodec = t.intersection([
  t.type({ id: OperationIdCodec }),
  t.partial({
    status: t.string,
    externalSource: t.type({ externalId: t.string }),
  }),
]);

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** A scalar field as the static row would carry it (absent → empty, as trailing empty fields). */
const field = (u: unknown): string =>
  typeof u === "string" ? u : typeof u === "number" || typeof u === "boolean" ? String(u) : "";

const recordOf = (u: unknown): Readonly<Record<string, unknown>> => (isRecord(u) ? u : {});
const listOf = (u: unknown): readonly unknown[] => (Array.isArray(u) ? u : []);
const has = (u: unknown, key: string): boolean => isRecord(u) && Object.hasOwn(u, key);

const softwareFields = (items: readonly unknown[], typed: boolean): string[] =>
  items.flatMap((item) => {
    const s = recordOf(item);
    return typed
      ? [field(s.name), field(s.version), field(s.softwareType), field(s.url), field(s.action)]
      : [field(s.name), field(s.version), field(s.url), field(s.action)];
  });

/**
 * The static row equivalent to a JSON fragment, or a reason it has none. Field orders are
 * those of the 510–532 templates (spec §4.8); which of two templates sharing a fragment applies
 * (515/525, 520/526, 521/524, 527/531, 528/529) is decided by the fields present.
 */
const rowOf = (fragment: string, value: unknown, deviceId: string): Row | string => {
  const v = recordOf(value);
  switch (fragment) {
    case "c8y_Restart":
      return ["510", deviceId];
    case "c8y_Command":
      return ["511", deviceId, field(v.text)];
    case "c8y_Configuration":
      return ["513", deviceId, field(v.config)];
    case "c8y_Firmware":
      return has(v, "dependency") || v.isPatch === true
        ? ["525", deviceId, field(v.name), field(v.version), field(v.url), field(v.dependency)]
        : ["515", deviceId, field(v.name), field(v.version), field(v.url)];
    case "c8y_SoftwareList":
      return [
        "516",
        deviceId,
        ...listOf(value).flatMap((i) => [
          field(recordOf(i).name),
          field(recordOf(i).version),
          field(recordOf(i).url),
        ]),
      ];
    case "c8y_MeasurementRequestOperation":
      return ["517", deviceId, field(v.requestName)];
    case "c8y_Relay":
      return ["518", deviceId, field(v.relayState)];
    case "c8y_RelayArray":
      return ["519", deviceId, ...listOf(value).map(field)];
    case "c8y_UploadConfigFile":
      return field(v.type) === "" ? ["520", deviceId] : ["526", deviceId, field(v.type)];
    case "c8y_DownloadConfigFile":
      return field(v.type) === ""
        ? ["521", deviceId, field(v.url)]
        : ["524", deviceId, field(v.url), field(v.type)];
    case "c8y_LogfileRequest":
      return [
        "522",
        deviceId,
        field(v.logFile),
        field(v.dateFrom),
        field(v.dateTo),
        field(v.searchText),
        field(v.maximumLines),
      ];
    case "c8y_CommunicationMode":
      return ["523", deviceId, field(v.mode)];
    case "c8y_DeviceProfile": {
      const software = listOf(v.software);
      const typed = software.some((s) => has(s, "softwareType"));
      const fw = v.firmware;
      const firmware = isRecord(fw)
        ? [
            "$FW",
            field(fw.name),
            field(fw.version),
            field(fw.url),
            String(fw.isPatch === true),
            field(fw.dependency),
          ]
        : [];
      const configuration = listOf(v.configuration).flatMap((c) => [
        field(recordOf(c).url),
        field(recordOf(c).type),
      ]);
      return [
        typed ? "531" : "527",
        deviceId,
        ...firmware,
        ...(software.length > 0 ? ["$SW", ...softwareFields(software, typed)] : []),
        ...(configuration.length > 0 ? ["$CONF", ...configuration] : []),
      ];
    }
    case "c8y_SoftwareUpdate": {
      const items = listOf(value);
      const typed = items.some((s) => has(s, "softwareType"));
      return [typed ? "529" : "528", deviceId, ...softwareFields(items, typed)];
    }
    case "c8y_RemoteAccessConnect":
      return ["530", deviceId, field(v.hostname), field(v.port), field(v.connectionKey)];
    case "c8y_ParameterUpdate":
      return [
        "532",
        deviceId,
        ...listOf(Array.isArray(value) ? value : v.parameters).flatMap((p) => [
          field(recordOf(p).path),
          field(recordOf(p).type),
          field(recordOf(p).value),
        ]),
      ];
    default:
      return `no handler is defined for fragment ${fragment}`;
  }
};

/**
 * `[list, items in the JSON, items decoded]` for each list of the operation. The static row
 * drops trailing empty fields, so a trailing JSON item without fields (null, `{}`, `""`) would
 * vanish from the decoded operation, while the same item anywhere else is refused.
 */
const itemCounts = (op: Operation, value: unknown): readonly (readonly [string, number, number])[] => {
  const v = recordOf(value);
  switch (op.template) {
    case "516":
    case "528":
    case "529":
      return [["software", listOf(value).length, op.software.length]];
    case "519":
      return [["relayStates", listOf(value).length, op.relayStates.length]];
    case "532":
      return [
        ["parameters", listOf(Array.isArray(value) ? value : v.parameters).length, op.parameters.length],
      ];
    case "527":
    case "531":
      return [
        ["software", listOf(v.software).length, op.software.length],
        ["configuration", listOf(v.configuration).length, op.configuration.length],
      ];
    default:
      return [];
  }
};

/** The first JSON list item the decoded operation lost, named as the row codecs name items. */
const lostItem = (op: Operation, value: unknown): string | null => {
  const lost = itemCounts(op, value).find(([, sent, kept]) => kept !== sent);
  return lost === undefined ? null : `${lost[0]}[${lost[2]}]: an item without fields`;
};

/** The operation's fragment: the first non-metadata key (a known operation fragment first). */
const fragmentOf = (object: Readonly<Record<string, unknown>>): string | null => {
  const keys = Object.keys(object).filter((k) => !METADATA_KEYS.has(k));
  const known = keys.find((k) => typeof rowOf(k, object[k], "x") !== "string");
  return known ?? keys.find((k) => k.startsWith("c8y_")) ?? keys[0] ?? null;
};

/**
 * Decodes one `devicecontrol/notifications` payload. `rootDeviceId` is the engine's own
 * device: the target when the operation names no `externalSource`.
 */
export const decodeOperationNotification = (payload: string, rootDeviceId: string): OperationNotification => {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (e) {
    return { kind: "malformed", reason: `not JSON (${e instanceof Error ? e.message : "parse error"})` };
  }
  const envelope = EnvelopeCodec.decode(json);
  if (E.isLeft(envelope) || !isRecord(json))
    return { kind: "malformed", reason: "not an operation object with an id" };
  const operationId = String(envelope.right.id);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(operationId))
    return {
      kind: "malformed",
      reason: `operation id ${JSON.stringify(operationId).slice(0, 80)} is not a valid id`,
    };
  const rawStatus = envelope.right.status ?? "PENDING";
  const status = (STATUSES.includes(rawStatus) ? rawStatus : "PENDING") as OperationStatus;
  const deviceId = envelope.right.externalSource?.externalId ?? rootDeviceId;
  const fragment = fragmentOf(json);
  const base = { kind: "operation" as const, operationId, status, deviceId };
  if (fragment === null)
    return { ...base, fragment: "", operation: null, failure: "the operation has no fragment" };
  const row = rowOf(fragment, json[fragment], deviceId);
  if (typeof row === "string") return { ...base, fragment, operation: null, failure: row };
  const decoded = decodeDownstreamRow(row);
  const problem =
    decoded.kind === "operation"
      ? lostItem(decoded.operation, json[fragment])
      : decoded.kind === "malformed"
        ? decoded.reason
        : decoded.kind;
  return decoded.kind === "operation" && problem === null
    ? { ...base, fragment, operation: decoded.operation, failure: null }
    : { ...base, fragment, operation: null, failure: `malformed ${fragment}: ${problem}` };
};

// ---------------------------------------------------------------------------------------------
// Encoding (what the platform publishes)

const softwareJson = (s: SoftwareChange | TypedSoftwareChange): Record<string, string> =>
  "softwareType" in s
    ? { name: s.name, version: s.version, softwareType: s.softwareType, url: s.url, action: s.action }
    : { name: s.name, version: s.version, url: s.url, action: s.action };

const firmwareJson = (f: ProfileFirmware): Record<string, unknown> => ({
  name: f.name,
  version: f.version,
  url: f.url,
  isPatch: f.isPatch,
  dependency: f.dependency,
});

const configurationJson = (c: ProfileConfiguration): Record<string, string> => ({ url: c.url, type: c.type });

/** The fragment's JSON value for a typed operation. */
export const fragmentValue = (op: Operation): unknown => {
  switch (op.template) {
    case "510":
    case "520":
      return {};
    case "511":
      return { text: op.text };
    case "513":
      return { config: op.config };
    case "515":
      return { name: op.name, version: op.version, url: op.url };
    case "525":
      return { name: op.name, version: op.version, url: op.url, dependency: op.dependency };
    case "516":
      return op.software.map((s) => ({ name: s.name, version: s.version, url: s.url }));
    case "517":
      return { requestName: op.requestName };
    case "518":
      return { relayState: op.relayState };
    case "519":
      return [...op.relayStates];
    case "521":
      return { url: op.url };
    case "524":
      return { url: op.url, type: op.type };
    case "526":
      return { type: op.type };
    case "522":
      return {
        logFile: op.logFile,
        dateFrom: op.dateFrom,
        dateTo: op.dateTo,
        searchText: op.searchText,
        maximumLines: op.maximumLines,
      };
    case "523":
      return { mode: op.mode };
    case "527":
    case "531":
      return {
        ...(op.firmware === undefined ? {} : { firmware: firmwareJson(op.firmware) }),
        software: op.software.map(softwareJson),
        configuration: op.configuration.map(configurationJson),
      };
    case "528":
    case "529":
      return op.software.map(softwareJson);
    case "530":
      return { hostname: op.hostname, port: op.port, connectionKey: op.connectionKey };
    case "532":
      return { parameters: op.parameters.map((p) => ({ path: p.path, type: p.type, value: p.value })) };
  }
};

export interface NotificationFields {
  readonly id: string;
  /** Internal id of the device that owns the operation. */
  readonly deviceInternalId: string;
  readonly status: OperationStatus;
  readonly creationTime: string;
  readonly description?: string;
  /** Set when the target is a child (or service): its external id. */
  readonly childExternalId?: string;
}

/** The JSON the platform publishes on `devicecontrol/notifications` for `op`. */
export const operationNotification = (op: Operation, f: NotificationFields): Record<string, unknown> => ({
  id: f.id,
  deviceId: f.deviceInternalId,
  status: f.status,
  creationTime: f.creationTime,
  description: f.description ?? `${op.fragment}`,
  ...(f.childExternalId === undefined
    ? {}
    : { externalSource: { externalId: f.childExternalId, type: "c8y_Serial" } }),
  [op.fragment]: fragmentValue(op),
});

/**
 * The operation the JSON of `op` decodes to. JSON cannot tell apart a 531 device profile or a
 * 529 software update without software items from their untyped twins (527, 528); otherwise
 * the round trip is exact.
 */
export const jsonEquivalent = (op: Operation): Operation => {
  if (op.template === "531" && op.software.length === 0) return { ...op, template: "527", software: [] };
  if (op.template === "529" && op.software.length === 0) return { ...op, template: "528", software: [] };
  return op;
};
