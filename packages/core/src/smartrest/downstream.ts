/**
 * Typed decoders (and, for the platform simulator, encoders) for every static downstream
 * line on `s/ds` (spec §4.6, §4.8): the operations 510–532 and the answers 106, 124, 601, 603.
 *
 * Rows arrive already split into fields by the CSV reader. Operation rows are
 * `<template>,<target device external id>,<fields…>`; answer rows carry no device id.
 *
 * Each operation template is described once, as a small table entry built from "layouts"
 * (ordered columns, repeating groups, the device-profile sections). From that one entry we
 * derive its io-ts codec (`validate` = decode a row, `encode` = build the row the platform
 * would send) and its `TemplateSpec`, so decoder, encoder and docs cannot drift apart.
 *
 * Tolerance rules (the platform is not always consistent, spec §4.8):
 * - Trailing empty fields may be omitted (spec §4 general rules): missing trailing fields read
 *   as empty, and extra fields are accepted only if they are empty. A non-empty extra field is
 *   malformed (an unknown extension we would otherwise silently ignore).
 * - Relay state `CLOSE` (ST-new's 519 example) is read as `CLOSED`; we always write `CLOSED`.
 * - Dates in 522 are kept as strings: the platform sends offsets both as `+02:00` and `+0100`.
 * - Device-profile sections (`$FW`, `$SW`, `$CONF`) may be empty, absent, or in any order; a
 *   firmware section whose name, version and url are all empty means "no firmware".
 * Anything that still does not fit is `malformed` (keeping the target device id when there is
 * one, so the engine can fail the operation on the right device), never an exception.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import type { Row, TemplateSpec } from "./types.js";
import type {
  CommunicationMode,
  SoftwareListItem,
  SoftwareChange,
  TypedSoftwareChange,
  ParameterChange,
  RestartOperation,
  CommandOperation,
  ConfigurationOperation,
  FirmwareOperation,
  SoftwareListOperation,
  MeasurementRequestOperation,
  RelayOperation,
  RelayArrayOperation,
  UploadConfigFileOperation,
  DownloadConfigFileOperation,
  LogfileRequestOperation,
  CommunicationModeOperation,
  TypedDownloadConfigFileOperation,
  FirmwarePatchOperation,
  TypedUploadConfigFileOperation,
  DeviceProfileOperation,
  SoftwareUpdateOperation,
  TypedSoftwareUpdateOperation,
  RemoteAccessConnectOperation,
  TypedDeviceProfileOperation,
  ParameterUpdateOperation,
  Operation,
  ChildListMessage,
  ManagedObjectIdMessage,
  PlatformVersionMessage,
  TemplateIdsMessage,
  DownstreamMessage,
} from "./downstream-types.js";
import {
  isString,
  text,
  required,
  integer,
  oneOf,
  relayState,
  softwareAction,
  isObject,
  record,
  withConstants,
  repeated,
  values,
  deviceProfile,
  type Layout,
} from "./downstream-layouts.js";

export * from "./downstream-types.js";

// ---------------------------------------------------------------------------------------------
// Codecs

/** A static downstream template as an io-ts codec: validate decodes a row, encode builds it. */
export type RowCodec<A> = t.Type<A, Row, Row>;

const failure = <A>(row: Row, context: t.Context, reason: string): t.Validation<A> =>
  t.failure(row, context, reason);

type Payload<O extends Operation> = Omit<O, "template" | "fragment" | "deviceId">;

interface OperationEntry<O extends Operation> {
  readonly codec: RowCodec<O>;
  readonly spec: TemplateSpec;
}

const operation = <O extends Operation>(
  template: O["template"],
  fragment: O["fragment"],
  layout: Layout<Payload<O>>,
): OperationEntry<O> => {
  const is = (u: unknown): u is O =>
    isObject(u) && u.template === template && u.fragment === fragment && isString(u.deviceId) && layout.is(u);
  const validate = (row: Row, context: t.Context): t.Validation<O> => {
    if (row[0] !== template) return failure(row, context, `not a ${template} row`);
    const deviceId = row[1];
    if (deviceId === undefined || deviceId === "") return failure(row, context, "missing device id");
    const payload = layout.decode(row.slice(2));
    if (E.isLeft(payload)) return failure(row, context, payload.left);
    return t.success({ template, fragment, deviceId, ...payload.right } as O);
  };
  const encode = (op: O): Row => [template, op.deviceId, ...layout.encode(op)];
  return {
    codec: new t.Type<O, Row, Row>(`${template} ${fragment}`, is, validate, encode),
    spec: {
      id: template,
      direction: "downstream",
      name: fragment,
      fields: ["deviceId", ...layout.fields],
      topic: "s/ds",
    },
  };
};

const firmwareFields = { name: required, version: required, url: required };
const softwareChange = record<SoftwareChange>({
  name: required,
  version: text,
  url: text,
  action: softwareAction,
});
const typedSoftwareChange = record<TypedSoftwareChange>({
  name: required,
  version: text,
  softwareType: text,
  url: text,
  action: softwareAction,
});

/** The operation table, in template-id order. */
const OPERATIONS = {
  "510": operation<RestartOperation>("510", "c8y_Restart", record({})),
  "511": operation<CommandOperation>("511", "c8y_Command", record({ text })),
  "513": operation<ConfigurationOperation>("513", "c8y_Configuration", record({ config: text })),
  "515": operation<FirmwareOperation>(
    "515",
    "c8y_Firmware",
    withConstants(record(firmwareFields), { isPatch: false as const }),
  ),
  "516": operation<SoftwareListOperation>(
    "516",
    "c8y_SoftwareList",
    repeated("software", record<SoftwareListItem>({ name: required, version: text, url: text })),
  ),
  "517": operation<MeasurementRequestOperation>(
    "517",
    "c8y_MeasurementRequestOperation",
    record({ requestName: text }),
  ),
  "518": operation<RelayOperation>("518", "c8y_Relay", record({ relayState })),
  "519": operation<RelayArrayOperation>(
    "519",
    "c8y_RelayArray",
    values("relayStates", "relayState", relayState),
  ),
  "520": operation<UploadConfigFileOperation>("520", "c8y_UploadConfigFile", record({})),
  "521": operation<DownloadConfigFileOperation>("521", "c8y_DownloadConfigFile", record({ url: required })),
  "522": operation<LogfileRequestOperation>(
    "522",
    "c8y_LogfileRequest",
    record({
      logFile: required,
      dateFrom: text,
      dateTo: text,
      searchText: text,
      maximumLines: integer(0, Number.MAX_SAFE_INTEGER),
    }),
  ),
  "523": operation<CommunicationModeOperation>(
    "523",
    "c8y_CommunicationMode",
    record({ mode: oneOf<CommunicationMode>(["SMS", "IP"]) }),
  ),
  "524": operation<TypedDownloadConfigFileOperation>(
    "524",
    "c8y_DownloadConfigFile",
    record({ url: required, type: required }),
  ),
  "525": operation<FirmwarePatchOperation>(
    "525",
    "c8y_Firmware",
    withConstants(record({ ...firmwareFields, dependency: text }), { isPatch: true as const }),
  ),
  "526": operation<TypedUploadConfigFileOperation>("526", "c8y_UploadConfigFile", record({ type: required })),
  "527": operation<DeviceProfileOperation>("527", "c8y_DeviceProfile", deviceProfile(softwareChange)),
  "528": operation<SoftwareUpdateOperation>(
    "528",
    "c8y_SoftwareUpdate",
    repeated("software", softwareChange),
  ),
  "529": operation<TypedSoftwareUpdateOperation>(
    "529",
    "c8y_SoftwareUpdate",
    repeated("software", typedSoftwareChange),
  ),
  "530": operation<RemoteAccessConnectOperation>(
    "530",
    "c8y_RemoteAccessConnect",
    record({ hostname: required, port: integer(1, 65535), connectionKey: required }),
  ),
  "531": operation<TypedDeviceProfileOperation>(
    "531",
    "c8y_DeviceProfile",
    deviceProfile(typedSoftwareChange),
  ),
  "532": operation<ParameterUpdateOperation>(
    "532",
    "c8y_ParameterUpdate",
    repeated("parameters", record<ParameterChange>({ path: required, type: text, value: text })),
  ),
} as const;

type OperationCodecs = { readonly [K in keyof typeof OPERATIONS]: (typeof OPERATIONS)[K]["codec"] };

// Answer lines: no device id, values directly after the template id.

interface AnswerEntry<A> {
  readonly codec: RowCodec<A>;
  readonly spec: TemplateSpec;
}

const answer = <A extends { readonly kind: string }>(
  id: string,
  kind: A["kind"],
  layout: Layout<Omit<A, "kind">>,
): AnswerEntry<A> => ({
  codec: new t.Type<A, Row, Row>(
    `${id} ${kind}`,
    (u): u is A => isObject(u) && u.kind === kind && layout.is(u),
    (row, context) => {
      if (row[0] !== id) return failure(row, context, `not a ${id} row`);
      const payload = layout.decode(row.slice(1));
      return E.isLeft(payload)
        ? failure(row, context, payload.left)
        : t.success({ kind, ...payload.right } as A);
    },
    (a) => [id, ...layout.encode(a)],
  ),
  spec: { id, direction: "downstream", name: kind, fields: layout.fields, topic: "s/ds" },
});

/** Lists of ids: empty entries name nothing and are dropped (a bare `106` = no children). */
const idList = <K extends string>(key: K, name: string): Layout<{ readonly [k in K]: readonly string[] }> => {
  const list = values(key, name, text);
  return {
    ...list,
    decode: (fields) => list.decode(fields.filter((f) => f !== "")),
    is: (u): u is { readonly [k in K]: readonly string[] } => list.is(u) && u[key].every((id) => id !== ""),
  };
};

const ANSWERS = {
  "106": answer<ChildListMessage>("106", "child-list", idList("children", "childId")),
  "124": answer<ManagedObjectIdMessage>("124", "managed-object-id", record({ id: required })),
  "601": answer<PlatformVersionMessage>("601", "platform-version", record({ version: required })),
  "603": answer<TemplateIdsMessage>("603", "template-ids", idList("ids", "templateId")),
} as const;

type AnswerCodecs = { readonly [K in keyof typeof ANSWERS]: (typeof ANSWERS)[K]["codec"] };

const codecsOf = <T extends Readonly<Record<string, { readonly codec: unknown }>>>(table: T) =>
  Object.fromEntries(Object.entries(table).map(([id, entry]) => [id, entry.codec])) as {
    readonly [K in keyof T]: T[K]["codec"];
  };

/** Codecs of the operation templates 510–532, keyed by template id. */
export const OPERATION_CODECS: OperationCodecs = codecsOf(OPERATIONS);

/** Codecs of every static downstream template (operations and answers), keyed by template id. */
export const DOWNSTREAM_CODECS: OperationCodecs & AnswerCodecs = {
  ...codecsOf(ANSWERS),
  ...OPERATION_CODECS,
};

/** Builds the `s/ds` row the platform would send for `op` (for the simulator). */
export const encodeOperation = (op: Operation): Row =>
  // OPERATION_CODECS is keyed by `template`, so this is the codec of exactly op's member type.
  (OPERATION_CODECS[op.template] as t.Encoder<Operation, Row>).encode(op);

/** Catalogue entries for every `s/ds` template, in template-id order. */
export const DOWNSTREAM_SPECS: readonly TemplateSpec[] = [
  ...Object.values(ANSWERS).map((entry) => entry.spec),
  ...Object.values(OPERATIONS).map((entry) => entry.spec),
].sort((a, b) => Number(a.id) - Number(b.id));

// ---------------------------------------------------------------------------------------------
// Entry point

// Looked up by an untrusted id, hence the widening to plain records (and Object.hasOwn below).
const answerDecoders: Readonly<Record<string, t.Decoder<Row, DownstreamMessage>>> = codecsOf(ANSWERS);
const operationDecoders: Readonly<Record<string, t.Decoder<Row, Operation>>> = OPERATION_CODECS;

const reasonOf = (errors: t.Errors): string =>
  errors.map((e) => e.message ?? "invalid").join("; ") || "invalid";

/** Classifies and decodes one `s/ds` row. Total: unknown or broken rows become values, not errors. */
export const decodeDownstreamRow = (row: Row): DownstreamMessage => {
  const templateId = row[0] ?? "";
  const answerDecoder = Object.hasOwn(answerDecoders, templateId) ? answerDecoders[templateId] : undefined;
  if (answerDecoder !== undefined) {
    const decoded = answerDecoder.decode(row);
    return E.isRight(decoded)
      ? decoded.right
      : { kind: "malformed", templateId, raw: row, reason: reasonOf(decoded.left) };
  }
  const operationDecoder = Object.hasOwn(operationDecoders, templateId)
    ? operationDecoders[templateId]
    : undefined;
  if (operationDecoder === undefined) return { kind: "unsupported", templateId, raw: row };
  const decoded = operationDecoder.decode(row);
  if (E.isRight(decoded)) return { kind: "operation", operation: decoded.right };
  const reason = reasonOf(decoded.left);
  const deviceId = row[1];
  return deviceId === undefined || deviceId === ""
    ? { kind: "malformed", templateId, raw: row, reason }
    : { kind: "malformed", templateId, raw: row, reason, deviceId };
};
