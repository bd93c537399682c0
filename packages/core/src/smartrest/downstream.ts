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

// ---------------------------------------------------------------------------------------------
// Operation types

export type RelayState = "OPEN" | "CLOSED";
export type SoftwareAction = "install" | "delete";
export type CommunicationMode = "SMS" | "IP";

/** Item of the complete desired software list (516). */
export interface SoftwareListItem {
  readonly name: string;
  readonly version: string;
  readonly url: string;
}

/** Software change without a type (528 legacy software update, 527 device profile). */
export interface SoftwareChange {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly action: SoftwareAction;
}

/** Software change with a software type (529 advanced software update, 531 device profile); type may be empty. */
export interface TypedSoftwareChange {
  readonly name: string;
  readonly version: string;
  readonly softwareType: string;
  readonly url: string;
  readonly action: SoftwareAction;
}

export interface ProfileFirmware {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly isPatch: boolean;
  /** Version a patch applies to; empty when not a patch. */
  readonly dependency: string;
}

export interface ProfileConfiguration {
  readonly url: string;
  readonly type: string;
}

/** One `path, type, value` triple of 532 (`type` as sent, e.g. `b` for Boolean). */
export interface ParameterChange {
  readonly path: string;
  readonly type: string;
  readonly value: string;
}

interface OperationBase<Id extends string, Fragment extends string> {
  readonly template: Id;
  readonly fragment: Fragment;
  /** External id (`c8y_Serial`) of the device or child that must execute the operation. */
  readonly deviceId: string;
}

export type RestartOperation = OperationBase<"510", "c8y_Restart">;
export interface CommandOperation extends OperationBase<"511", "c8y_Command"> {
  readonly text: string;
}
export interface ConfigurationOperation extends OperationBase<"513", "c8y_Configuration"> {
  readonly config: string;
}
export interface FirmwareOperation extends OperationBase<"515", "c8y_Firmware"> {
  readonly name: string;
  readonly version: string;
  /** May be `$PROVIDED`: the device resolves the binary itself. */
  readonly url: string;
  readonly isPatch: false;
}
export interface SoftwareListOperation extends OperationBase<"516", "c8y_SoftwareList"> {
  readonly software: readonly SoftwareListItem[];
}
export interface MeasurementRequestOperation extends OperationBase<"517", "c8y_MeasurementRequestOperation"> {
  readonly requestName: string;
}
export interface RelayOperation extends OperationBase<"518", "c8y_Relay"> {
  readonly relayState: RelayState;
}
export interface RelayArrayOperation extends OperationBase<"519", "c8y_RelayArray"> {
  readonly relayStates: readonly RelayState[];
}
/** Legacy configuration upload (no type). */
export type UploadConfigFileOperation = OperationBase<"520", "c8y_UploadConfigFile">;
/** Legacy configuration download (no type). */
export interface DownloadConfigFileOperation extends OperationBase<"521", "c8y_DownloadConfigFile"> {
  readonly url: string;
}
export interface LogfileRequestOperation extends OperationBase<"522", "c8y_LogfileRequest"> {
  readonly logFile: string;
  /** ISO 8601 as sent (offset may lack the colon). */
  readonly dateFrom: string;
  readonly dateTo: string;
  readonly searchText: string;
  readonly maximumLines: number;
}
export interface CommunicationModeOperation extends OperationBase<"523", "c8y_CommunicationMode"> {
  readonly mode: CommunicationMode;
}
export interface TypedDownloadConfigFileOperation extends OperationBase<"524", "c8y_DownloadConfigFile"> {
  readonly url: string;
  readonly type: string;
}
export interface FirmwarePatchOperation extends OperationBase<"525", "c8y_Firmware"> {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly dependency: string;
  readonly isPatch: true;
}
export interface TypedUploadConfigFileOperation extends OperationBase<"526", "c8y_UploadConfigFile"> {
  readonly type: string;
}
export interface DeviceProfileOperation extends OperationBase<"527", "c8y_DeviceProfile"> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly SoftwareChange[];
  readonly configuration: readonly ProfileConfiguration[];
}
export interface SoftwareUpdateOperation extends OperationBase<"528", "c8y_SoftwareUpdate"> {
  readonly software: readonly SoftwareChange[];
}
export interface TypedSoftwareUpdateOperation extends OperationBase<"529", "c8y_SoftwareUpdate"> {
  readonly software: readonly TypedSoftwareChange[];
}
export interface RemoteAccessConnectOperation extends OperationBase<"530", "c8y_RemoteAccessConnect"> {
  readonly hostname: string;
  readonly port: number;
  readonly connectionKey: string;
}
/** Sent *in addition to* 527 when the profile has typed software (spec §4.8). */
export interface TypedDeviceProfileOperation extends OperationBase<"531", "c8y_DeviceProfile"> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly TypedSoftwareChange[];
  readonly configuration: readonly ProfileConfiguration[];
}
export interface ParameterUpdateOperation extends OperationBase<"532", "c8y_ParameterUpdate"> {
  readonly parameters: readonly ParameterChange[];
}

/** One member per operation template (510–532; 512 and 514 do not exist). Discriminant: `template`. */
export type Operation =
  | RestartOperation
  | CommandOperation
  | ConfigurationOperation
  | FirmwareOperation
  | SoftwareListOperation
  | MeasurementRequestOperation
  | RelayOperation
  | RelayArrayOperation
  | UploadConfigFileOperation
  | DownloadConfigFileOperation
  | LogfileRequestOperation
  | CommunicationModeOperation
  | TypedDownloadConfigFileOperation
  | FirmwarePatchOperation
  | TypedUploadConfigFileOperation
  | DeviceProfileOperation
  | SoftwareUpdateOperation
  | TypedSoftwareUpdateOperation
  | RemoteAccessConnectOperation
  | TypedDeviceProfileOperation
  | ParameterUpdateOperation;

export type OperationTemplateId = Operation["template"];

// ---------------------------------------------------------------------------------------------
// Answer lines and the decoded result

export interface ChildListMessage {
  readonly kind: "child-list";
  readonly children: readonly string[];
}
export interface ManagedObjectIdMessage {
  readonly kind: "managed-object-id";
  readonly id: string;
}
export interface PlatformVersionMessage {
  readonly kind: "platform-version";
  readonly version: string;
}
export interface TemplateIdsMessage {
  readonly kind: "template-ids";
  readonly ids: readonly string[];
}

export type DownstreamMessage =
  | { readonly kind: "operation"; readonly operation: Operation }
  | ChildListMessage
  | ManagedObjectIdMessage
  | PlatformVersionMessage
  | TemplateIdsMessage
  /** Template id c8ylink does not know (e.g. 512, or a future template). */
  | { readonly kind: "unsupported"; readonly templateId: string; readonly raw: Row }
  /** Known template id, but the row does not fit it. */
  | {
      readonly kind: "malformed";
      readonly templateId: string;
      readonly raw: Row;
      readonly reason: string;
      /** Target device of a malformed operation row, when its second field is non-empty. */
      readonly deviceId?: string;
    };

// ---------------------------------------------------------------------------------------------
// Columns: one CSV field <-> one typed value

interface Column<V> {
  readonly decode: (raw: string) => E.Either<string, V>;
  readonly encode: (value: V) => string;
  readonly is: (u: unknown) => u is V;
}

const isString = (u: unknown): u is string => typeof u === "string";

/** Any string, empty allowed. */
const text: Column<string> = { decode: E.right, encode: (s) => s, is: isString };

/** A string the operation cannot do without (a name, a url, a host…). */
const required: Column<string> = {
  decode: (raw) => (raw === "" ? E.left("must not be empty") : E.right(raw)),
  encode: (s) => s,
  is: (u): u is string => isString(u) && u !== "",
};

/** Decimal digits only (no sign, no exponent), within [min, max]. */
const integer = (min: number, max: number): Column<number> => {
  const inRange = (n: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  return {
    decode: (raw) => {
      const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
      return inRange(n) ? E.right(n) : E.left(`not an integer in [${min}, ${max}]: '${raw}'`);
    },
    encode: (n) => String(n),
    is: (u): u is number => typeof u === "number" && inRange(u),
  };
};

/** A closed set of values; `aliases` are extra spellings accepted on input only. */
const oneOf = <V extends string>(
  values: readonly V[],
  aliases: Readonly<Record<string, V>> = {},
): Column<V> => {
  const is = (u: unknown): u is V => values.some((v) => v === u);
  return {
    decode: (raw) => {
      const value = is(raw) ? raw : Object.hasOwn(aliases, raw) ? aliases[raw] : undefined;
      return value === undefined
        ? E.left(`expected one of ${values.join("/")}, got '${raw}'`)
        : E.right(value);
    },
    encode: (v) => v,
    is,
  };
};

/** `true`/`false` in any case; empty reads as false (an unset flag). */
const flag: Column<boolean> = {
  decode: (raw) => {
    const lower = raw.toLowerCase();
    return lower === "true"
      ? E.right(true)
      : lower === "false" || raw === ""
        ? E.right(false)
        : E.left(`not a boolean: '${raw}'`);
  },
  encode: (b) => String(b),
  is: (u): u is boolean => typeof u === "boolean",
};

/** ST-new's 519 example writes `CLOSE`; every other source writes `CLOSED`. Accept both, emit `CLOSED`. */
const relayState = oneOf<RelayState>(["OPEN", "CLOSED"], { CLOSE: "CLOSED" });
const softwareAction = oneOf<SoftwareAction>(["install", "delete"]);

// ---------------------------------------------------------------------------------------------
// Layouts: the fields after the device id <-> a typed payload

interface Layout<P> {
  /** Field names for the TemplateSpec, in wire order. */
  readonly fields: readonly string[];
  readonly decode: (fields: Row) => E.Either<string, P>;
  readonly encode: (payload: P) => readonly string[];
  readonly is: (u: unknown) => u is P;
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null;

const withoutTrailingEmpty = (fields: Row): Row => {
  let end = fields.length;
  while (end > 0 && fields[end - 1] === "") end--;
  return fields.slice(0, end);
};

type Columns<P> = { readonly [K in keyof P]-?: Column<P[K]> };

/**
 * Fixed, ordered fields. The wire order is the key order of `columns` (string keys keep
 * insertion order in JS), so the table reads like the spec: `record({ name, version, url })`.
 */
const record = <P>(columns: Columns<P>): Layout<P> => {
  const entries = Object.entries(columns) as [string, Column<unknown>][];
  return {
    fields: entries.map(([name]) => name),
    decode: (fields) => {
      if (withoutTrailingEmpty(fields).length > entries.length) {
        return E.left(`expected at most ${entries.length} field(s), got ${fields.length}`);
      }
      const payload: Record<string, unknown> = {};
      for (const [i, [name, column]] of entries.entries()) {
        const value = column.decode(fields[i] ?? "");
        if (E.isLeft(value)) return E.left(`${name}: ${value.left}`);
        payload[name] = value.right;
      }
      return E.right(payload as P);
    },
    encode: (payload) =>
      entries.map(([name, column]) => column.encode((payload as Record<string, unknown>)[name])),
    is: (u): u is P => isObject(u) && entries.every(([name, column]) => column.is(u[name])),
  };
};

/** Adds fields that are implied by the template id and not on the wire (e.g. 525 `isPatch: true`). */
const withConstants = <P, C extends Readonly<Record<string, unknown>>>(
  layout: Layout<P>,
  constants: C,
): Layout<P & C> => ({
  fields: layout.fields,
  decode: (fields) => E.map((p: P) => ({ ...p, ...constants }))(layout.decode(fields)),
  encode: (payload) => layout.encode(payload),
  is: (u): u is P & C =>
    layout.is(u) && isObject(u) && Object.entries(constants).every(([k, v]) => u[k] === v),
});

/**
 * Decodes a repeating section: trailing empty fields are dropped, the rest is cut into groups
 * of `width`, and each group (the last one padded by `decodeItem`) is decoded in turn.
 */
const decodeGroups = <I>(
  label: string,
  width: number,
  decodeItem: (group: Row) => E.Either<string, I>,
  fields: Row,
): E.Either<string, readonly I[]> => {
  const kept = withoutTrailingEmpty(fields);
  const items: I[] = [];
  for (let start = 0; start < kept.length; start += width) {
    const item = decodeItem(kept.slice(start, start + width));
    if (E.isLeft(item)) return E.left(`${label}[${items.length}] ${item.left}`);
    items.push(item.right);
  }
  return E.right(items);
};

const groupField = (names: readonly string[]) => `(${names.join(", ")})*`;

/** The whole remainder is a list of `item` groups, e.g. 516's `(name, version, url)*`. */
const repeated = <K extends string, I>(
  key: K,
  item: Layout<I>,
): Layout<{ readonly [k in K]: readonly I[] }> => ({
  fields: [groupField(item.fields)],
  decode: (fields) =>
    E.map((items: readonly I[]) => ({ [key]: items }) as { readonly [k in K]: readonly I[] })(
      decodeGroups(key, item.fields.length, item.decode, fields),
    ),
  encode: (payload) => payload[key].flatMap(item.encode),
  is: (u): u is { readonly [k in K]: readonly I[] } => isObject(u) && isArrayOf(u[key], item.is),
});

/** The whole remainder is a list of single values, e.g. 519's relay states. */
const values = <K extends string, V>(
  key: K,
  name: string,
  column: Column<V>,
): Layout<{ readonly [k in K]: readonly V[] }> =>
  repeated(key, {
    fields: [name],
    decode: (group) => column.decode(group[0] ?? ""),
    encode: (v: V) => [column.encode(v)],
    is: column.is,
  });

const isArrayOf = <I>(u: unknown, is: (v: unknown) => v is I): u is readonly I[] =>
  Array.isArray(u) && u.every(is);

// Device profile (527, 531): `$FW,name,version,url,isPatch,dependency,$SW,(software…)*,$CONF,(url,type)*`.

const FW = "$FW";
const SW = "$SW";
const CONF = "$CONF";
const SECTION_MARKERS: readonly string[] = [FW, SW, CONF];

const firmwareLayout = record<ProfileFirmware>({
  name: required,
  version: text,
  url: text,
  isPatch: flag,
  dependency: text,
});
const configurationLayout = record<ProfileConfiguration>({ url: required, type: text });

interface Profile<S> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly S[];
  readonly configuration: readonly ProfileConfiguration[];
}

const deviceProfile = <S>(software: Layout<S>): Layout<Profile<S>> => ({
  fields: [
    FW,
    ...firmwareLayout.fields,
    SW,
    groupField(software.fields),
    CONF,
    groupField(configurationLayout.fields),
  ],
  decode: (fields) => {
    // Split into sections by marker. Empty fields before the first marker are tolerated.
    const sections = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const field of fields) {
      if (SECTION_MARKERS.includes(field)) {
        if (sections.has(field)) return E.left(`duplicate ${field} section`);
        current = [];
        sections.set(field, current);
      } else if (current !== undefined) current.push(field);
      else if (field !== "") return E.left(`expected ${FW}, ${SW} or ${CONF} before '${field}'`);
    }
    // "No firmware" may arrive as a bare `$FW`, as empty fields, or without the section at all.
    const fw = sections.get(FW) ?? [];
    let firmware: ProfileFirmware | undefined;
    if (fw.slice(0, 3).some((f) => f !== "")) {
      const decoded = firmwareLayout.decode(fw);
      if (E.isLeft(decoded)) return E.left(`firmware ${decoded.left}`);
      firmware = decoded.right;
    } else if (withoutTrailingEmpty(fw).length > firmwareLayout.fields.length) {
      return E.left(`firmware: expected at most ${firmwareLayout.fields.length} field(s)`);
    }
    const sw = decodeGroups("software", software.fields.length, software.decode, sections.get(SW) ?? []);
    if (E.isLeft(sw)) return sw;
    const conf = decodeGroups(
      "configuration",
      configurationLayout.fields.length,
      configurationLayout.decode,
      sections.get(CONF) ?? [],
    );
    if (E.isLeft(conf)) return conf;
    const rest = { software: sw.right, configuration: conf.right };
    return E.right(firmware === undefined ? rest : { firmware, ...rest });
  },
  // Absent firmware is written as `$FW` plus five empty fields, mirroring a renderer that
  // always emits every column (the 527 example emits the empty dependency).
  encode: (p) => [
    FW,
    ...(p.firmware === undefined ? firmwareLayout.fields.map(() => "") : firmwareLayout.encode(p.firmware)),
    SW,
    ...p.software.flatMap(software.encode),
    CONF,
    ...p.configuration.flatMap(configurationLayout.encode),
  ],
  is: (u): u is Profile<S> =>
    isObject(u) &&
    (!("firmware" in u) || firmwareLayout.is(u.firmware)) &&
    isArrayOf(u.software, software.is) &&
    isArrayOf(u.configuration, configurationLayout.is),
});

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
