/**
 * Upstream static templates (SmartREST 2.0 built-ins a device publishes on `s/us`), spec §4.1–4.7.
 *
 * One declarative table (`TEMPLATES`) describes every template: its id, a short name and its
 * fields in wire order. Each field descriptor carries its io-ts codec, its validation and its
 * column encoding, so the message types, the boundary codec (`UpstreamMessageCodec`), the encoder
 * (`encodeUpstream`) and the catalogue entries (`UPSTREAM_SPECS`) are all derived from that table
 * and cannot drift apart.
 *
 * Division of labour:
 * - the codecs check *shape* only (JSON-serialisable messages for event logs and application input);
 * - `encodeUpstream` checks *semantics* (mandatory, finite, integer, timestamp, text policy,
 *   list sizes) and returns a `Left<TemplateError>` naming template, field path and reason.
 *   It never throws, even for values that bypassed the codec.
 *
 * Wire decisions:
 * - Numbers are written in plain decimal notation, never with an exponent: `String(1e21)` is
 *   `1e+21` and `String(1e-7)` is `1e-7`, and the spec only ever shows plain numbers. We expand
 *   the shortest round-trip digits that JavaScript produces, so `Number(column) === value`
 *   still holds (-0 is written `0`).
 * - Timestamps must match ISO-8601 `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm|±hhmm)` and be a real
 *   calendar date; no `Date` (the core is pure), the check is a regex plus a days-in-month table.
 * - Trailing empty optional fields are dropped (`100,,` ≡ `100`, spec §4); empty optional fields
 *   in the middle stay as `""`. Mandatory text must be non-empty.
 * - 102 uses the ST-new order (external id, type, name, status), which ST-ref's own example and
 *   thin-edge follow; ST-ref's table order is treated as a doc error (spec §4.1, gap 15).
 * - 140 with an empty list is sent as `140,,,,` (clear the list) — the form thin-edge uses with
 *   production tenants — instead of a bare `140`, whose meaning is not documented.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { invalidTextReason } from "./text.js";
import { templateError, type Row, type TemplateError, type TemplateSpec } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Field descriptors
// ---------------------------------------------------------------------------------------------

/** A refused value: where (`series[2].value`) and why. `encodeUpstream` adds the template id. */
interface Problem {
  readonly field: string;
  readonly reason: string;
}

/** One encoded column. `keep` protects an empty column from trailing trimming (140's clear form). */
interface Cell {
  readonly text: string;
  readonly keep: boolean;
}

/** A scalar value kind: its JSON codec and how a value becomes one column (or why it cannot). */
interface Kind<A> {
  readonly codec: t.Type<A, A, unknown>;
  readonly format: (value: A) => E.Either<string, string>;
}

/**
 * One property of a message (or of a repeating-group item): codec, catalogue label and encoder.
 * `A` is phantom — it only carries the property's TypeScript type into `MessageOf`.
 */
interface Field<A, Optional extends boolean> {
  readonly optional: Optional;
  readonly codec: t.Mixed;
  /** How the field is written in `TemplateSpec.fields`, given its property name. */
  readonly label: (key: string) => string;
  /** Columns for `value`; `value` is `unknown` so values that bypassed the codec are refused, not trusted. */
  readonly encode: (value: unknown, field: string) => E.Either<Problem, readonly Cell[]>;
  readonly _type?: A;
}

type Fields = Readonly<Record<string, Field<unknown, boolean>>>;

type ValueOf<F> = F extends Field<infer A, boolean> ? A : never;
type RequiredKeys<F> = { [K in keyof F]: F[K] extends Field<unknown, false> ? K : never }[keyof F];
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The object type described by a record of fields. Optional properties also accept `undefined`. */
type ObjectOf<F> = Flatten<
  { readonly [K in RequiredKeys<F>]: ValueOf<F[K]> } & {
    readonly [K in Exclude<keyof F, RequiredKeys<F>>]?: ValueOf<F[K]> | undefined;
  }
>;

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

const refuse = (field: string, reason: string): E.Either<Problem, never> => E.left({ field, reason });
const cell = (text: string): Cell => ({ text, keep: false });
/** `push` one by one: `push(...cells)` hits the engine's argument limit on very long lists (a throw). */
const append = (target: Cell[], cells: readonly Cell[]): void => {
  for (const c of cells) target.push(c);
};

// --- scalar kinds ---------------------------------------------------------------------------

const text: Kind<string> = {
  codec: t.string,
  format: (s) => {
    const why = invalidTextReason(s);
    return why === undefined ? E.right(s) : E.left(why);
  },
};

/** Any finite Number (spec "Number"). */
const decimal: Kind<number> = {
  codec: t.number,
  format: (n) => (Number.isFinite(n) ? E.right(plainDecimal(n)) : E.left(`${n} is not a finite number`)),
};

/** Spec "Integer"; limited to the safe range so the written digits are exact. */
const integer: Kind<number> = {
  codec: t.number,
  format: (n) => {
    const formatted = decimal.format(n);
    if (E.isLeft(formatted)) return formatted;
    return Number.isSafeInteger(n) ? formatted : E.left(`${n} is not an integer (within ±2^53-1)`);
  },
};

const boolean: Kind<boolean> = { codec: t.boolean, format: (b) => E.right(b ? "true" : "false") };

/** ISO-8601 date-time string, validated without `Date` (see header). */
const timestamp: Kind<string> = {
  codec: t.string,
  format: (s) =>
    isIsoTimestamp(s) ? E.right(s) : E.left(`${JSON.stringify(s)} is not an ISO-8601 timestamp`),
};

/** A string enum; membership is the codec's `is`, which `scalar` runs before `format`. */
const oneOf = <L extends string>(...values: readonly [L, ...L[]]): Kind<L> => ({
  codec: t.keyof(Object.fromEntries(values.map((v) => [v, null]))) as unknown as t.Type<L, L, unknown>,
  format: E.right,
});

/**
 * Runs the codec's type test before `format`, so a wrongly typed value is a Left, never a crash.
 * (Written without combinators: this is the per-field hot path of every submission.)
 */
const scalar = <A>(kind: Kind<A>, value: unknown, field: string): E.Either<Problem, string> => {
  if (!kind.codec.is(value)) {
    return refuse(field, `expected ${kind.codec.name}, got ${value === null ? "null" : typeof value}`);
  }
  const formatted = kind.format(value);
  return E.isLeft(formatted) ? refuse(field, formatted.left) : formatted;
};

// --- field constructors ---------------------------------------------------------------------

/** Mandatory scalar ("M" in the spec): present and, once written, non-empty. */
const req = <A>(kind: Kind<A>): Field<A, false> => ({
  optional: false,
  codec: kind.codec,
  label: (key) => key,
  encode: (value, field) => {
    if (value === undefined) return refuse(field, "missing mandatory field");
    const s = scalar(kind, value, field);
    if (E.isLeft(s)) return s;
    return s.right === "" ? refuse(field, "mandatory field must not be empty") : E.right([cell(s.right)]);
  },
});

/** Optional scalar: absent is written as an empty column (dropped again if trailing). */
const opt = <A>(kind: Kind<A>): Field<A, true> => ({
  optional: true,
  codec: kind.codec,
  label: (key) => key,
  encode: (value, field) => {
    if (value === undefined) return E.right([cell("")]);
    const s = scalar(kind, value, field);
    return E.isLeft(s) ? s : E.right([cell(s.right)]);
  },
});

/** `O` is inferred from `optional` only (`NoInfer` on the results keeps the `Fields` context out). */
interface RepeatOptions<O extends boolean> {
  /** Minimum number of entries ("1…" in the spec means 1). */
  readonly min: number;
  /** Whether the whole property may be absent (then it writes nothing). */
  readonly optional?: O;
}

/** Shared body of `list` and `group`: array check, minimum size, per-entry encoding. */
const repeat =
  (
    min: number,
    optional: boolean,
    entry: (value: unknown, field: string) => E.Either<Problem, readonly Cell[]>,
    whenEmpty: readonly Cell[] = [],
  ) =>
  (value: unknown, field: string): E.Either<Problem, readonly Cell[]> => {
    if (value === undefined) return optional ? E.right([]) : refuse(field, "missing mandatory field");
    if (!Array.isArray(value)) return refuse(field, `expected an array, got ${typeof value}`);
    if (value.length < min) return refuse(field, `needs at least ${min} entr${min === 1 ? "y" : "ies"}`);
    if (value.length === 0) return E.right(whenEmpty);
    const cells: Cell[] = [];
    for (const [i, item] of value.entries()) {
      const encoded = entry(item, `${field}[${i}]`);
      if (E.isLeft(encoded)) return encoded;
      append(cells, encoded.right);
    }
    return E.right(cells);
  };

/** A trailing list of scalars, e.g. 107's fragment names; catalogued as `(label)*`. */
const list = <A, O extends boolean = false>(
  itemLabel: string,
  item: Field<A, boolean>,
  options: RepeatOptions<O>,
): Field<readonly A[], NoInfer<O>> => ({
  optional: (options.optional ?? false) as O,
  codec: t.readonlyArray(item.codec),
  label: () => `(${itemLabel})*`,
  encode: repeat(options.min, options.optional ?? false, item.encode),
});

/** A repeating group of objects, e.g. 116's `(name, version, url)*`. */
const group = <F extends Fields, O extends boolean = false>(
  fields: F,
  options: RepeatOptions<O> & {
    /** Write an empty list as one blank entry (kept, not trimmed) — 140's documented clear form. */
    readonly emptyAsBlankEntry?: boolean;
  },
): Field<readonly ObjectOf<F>[], NoInfer<O>> => ({
  optional: (options.optional ?? false) as O,
  codec: t.readonlyArray(objectCodec(fields)),
  label: () => `(${Object.keys(fields).join(", ")})*`,
  encode: repeat(
    options.min,
    options.optional ?? false,
    (item, field) =>
      isRecord(item) ? encodeFields(fields, item, `${field}.`) : refuse(field, "expected an object"),
    options.emptyAsBlankEntry === true ? Object.keys(fields).map(() => ({ text: "", keep: true })) : [],
  ),
});

/** Exact io-ts codec for an object described by `fields` (unknown properties are stripped). */
const objectCodec = (fields: Fields, base: t.Props = {}, name?: string): t.Mixed => {
  const required: Record<string, t.Mixed> = { ...base };
  const optional: Record<string, t.Mixed> = {};
  for (const [key, field] of Object.entries(fields))
    (field.optional ? optional : required)[key] = field.codec;
  return t.exact(t.intersection([t.type(required), t.partial(optional)]), name);
};

/** Columns of all `fields` of `value`, in declaration order (= wire order); first problem wins. */
const encodeFields = (
  fields: Fields,
  value: Readonly<Record<string, unknown>>,
  prefix: string,
): E.Either<Problem, readonly Cell[]> => {
  const cells: Cell[] = [];
  for (const key in fields) {
    const field = fields[key]!;
    const encoded = field.encode(value[key], prefix + key);
    if (E.isLeft(encoded)) return encoded;
    append(cells, encoded.right);
  }
  return E.right(cells);
};

// ---------------------------------------------------------------------------------------------
// The template table
// ---------------------------------------------------------------------------------------------

interface TemplateDef<Id extends string = string, F extends Fields = Fields> {
  readonly id: Id;
  /** Short name for docs and the catalogue; equals the `Upstream` constructor name where one exists. */
  readonly name: string;
  /** In wire order. */
  readonly fields: F;
  readonly codec: t.Mixed;
  /** A cross-field rule the per-field checks cannot express (210: rssi or ber). */
  readonly check?: (msg: Readonly<Record<string, unknown>>) => Problem | undefined;
}

const template = <const Id extends string, F extends Fields>(
  id: Id,
  name: string,
  fields: F,
  check?: TemplateDef["check"],
): TemplateDef<Id, F> => ({
  id,
  name,
  fields,
  codec: objectCodec(fields, { template: t.literal(id) }, `${id} ${name}`),
  ...(check === undefined ? {} : { check }),
});

type MessageOf<D> =
  D extends TemplateDef<infer Id, infer F> ? Flatten<{ readonly template: Id } & ObjectOf<F>> : never;

/** Alarms 301–304: the severity is in the template id. */
const alarmFields = {
  /** Alarm type (M); a device has at most one active alarm per type. */
  type: req(text),
  /** Alarm text; platform default `Alarm of type <type> raised`. */
  text: opt(text),
  time: opt(timestamp),
};

/** Location events 401/402 (all optional). */
const locationFields = {
  latitude: opt(decimal),
  longitude: opt(decimal),
  altitude: opt(decimal),
  accuracy: opt(decimal),
  time: opt(timestamp),
};

/** Advanced software item (140/141); `type` and `url` optional. */
const advancedSoftwareItem = { name: req(text), version: req(text), type: opt(text), url: opt(text) };

/** Free parameters after 503/506's fragment / operation id (side effects per spec §4.7); may be empty. */
const statusParameters = list("parameter", opt(text), { min: 0, optional: true });

/** Trailing name lists of 114/118/119/143/150: may be empty (clears), entries must not be. */
const names = (itemLabel: string) => list(itemLabel, req(text), { min: 0 });

/**
 * Every upstream static template, in id order. `time` fields are optional ISO-8601 timestamps
 * (server time when absent). Field comments paraphrase spec §4; "M" = mandatory.
 */
const TEMPLATES = [
  // --- 4.1 Inventory (1xx) ---
  template("100", "createDevice", {
    /** Default `MQTT Device <serialNumber>`. */
    name: opt(text),
    /** Default `c8y_MQTTDevice`. */
    type: opt(text),
  }),
  template("101", "createChildDevice", {
    /** Unique child id (M), becomes the child's `c8y_Serial` external id. */
    childId: req(text),
    name: opt(text),
    /** Default `c8y_MQTTChildDevice`. */
    type: opt(text),
    /** `false`: no `c8y_IsDevice` marker (default `true`; field only in ST-new). */
    isDevice: opt(boolean),
  }),
  template("102", "createService", {
    /** All M; order per ST-new / thin-edge (see header). */
    externalId: req(text),
    /** e.g. `systemd`. */
    serviceType: req(text),
    name: req(text),
    /** `up`, `down`, `unknown` or custom. */
    status: req(text),
  }),
  /** Status of the service addressed by the topic (`s/us/<serviceXid>`). */
  template("104", "serviceStatus", { status: req(text) }),
  /** Answered by `106` on `s/ds`. */
  template("105", "getChildDevices", {}),
  template("107", "removeDeviceFragments", { fragments: list("fragment", req(text), { min: 1 }) }),
  /** `c8y_Hardware`. */
  template("110", "hardware", { serialNumber: opt(text), model: opt(text), revision: opt(text) }),
  /** `c8y_Mobile`. */
  template("111", "mobile", {
    imei: opt(text),
    iccid: opt(text),
    imsi: opt(text),
    mcc: opt(text),
    mnc: opt(text),
    lac: opt(text),
    cellId: opt(text),
  }),
  template("112", "position", {
    latitude: opt(decimal),
    longitude: opt(decimal),
    altitude: opt(decimal),
    /** Integer. */
    accuracy: opt(integer),
  }),
  /** `c8y_Configuration` text. */
  template("113", "configuration", { configuration: opt(text) }),
  /** Replaces `c8y_SupportedOperations` entirely; an empty list clears it. */
  template("114", "supportedOperations", { operations: names("operation") }),
  /** Installed `c8y_Firmware`. */
  template("115", "firmware", { name: opt(text), version: opt(text), url: opt(text) }),
  /** Replaces the legacy `c8y_SoftwareList`. */
  template("116", "softwareList", {
    software: group({ name: opt(text), version: opt(text), url: opt(text) }, { min: 0 }),
  }),
  /** `c8y_RequiredAvailability.responseInterval` in minutes (Integer; ≤ 0 = maintenance). */
  template("117", "requiredAvailability", { interval: opt(integer) }),
  template("118", "supportedLogs", { logTypes: names("logType") }),
  template("119", "supportedConfigurations", { configTypes: names("configType") }),
  /** Currently installed typed configuration (`c8y_Configuration_<type>`). */
  template("120", "currentConfiguration", {
    type: req(text),
    url: req(text),
    /** Default: the config type. */
    fileName: opt(text),
    /** Applied time; default now. */
    time: opt(timestamp),
  }),
  /** `c8y_Profile` state. */
  template("121", "profileState", {
    executed: req(boolean),
    /** Default: the oldest EXECUTING device-profile operation. */
    profileId: opt(text),
  }),
  /** `c8y_Agent`: note the optional url sits between mandatory fields. */
  template("122", "agent", { name: req(text), version: req(text), url: opt(text), maintainer: req(text) }),
  /** Answered by `124,<id>` on `s/ds`. */
  template("123", "getInternalId", {}),
  /** Explicit availability heartbeat. */
  template("125", "heartbeat", {}),
  /** Overwrites the advanced software list; an empty list clears it (`140,,,,`). */
  template("140", "advancedSoftwareList", {
    software: group(advancedSoftwareItem, { min: 0, emptyAsBlankEntry: true }),
  }),
  template("141", "appendAdvancedSoftware", { software: group(advancedSoftwareItem, { min: 1 }) }),
  template("142", "removeAdvancedSoftware", {
    software: group({ name: req(text), version: req(text) }, { min: 1 }),
  }),
  /** `c8y_SupportedSoftwareTypes`; an empty list removes the fragment. */
  template("143", "supportedSoftwareTypes", { softwareTypes: names("softwareType") }),
  /** `c8y_RemoteAccessSupportedProtocols`: `SSH`, `TELNET`, `VNC`, `PASSTHROUGH` (any case). */
  template("150", "remoteAccessProtocols", { protocols: names("protocol") }),

  // --- 4.2 Measurements (2xx) ---
  template("200", "measurement", {
    fragment: req(text),
    series: req(text),
    value: req(decimal),
    unit: opt(text),
    time: opt(timestamp),
  }),
  template("201", "measurements", {
    /** Measurement type (M). */
    type: req(text),
    time: opt(timestamp),
    series: group(
      { fragment: req(text), series: req(text), value: req(decimal), unit: opt(text) },
      { min: 1 },
    ),
  }),
  /** `c8y_SignalStrength`: rssi or ber (or both) must be given. */
  template("210", "signalStrength", { rssi: opt(decimal), ber: opt(decimal), time: opt(timestamp) }, (m) =>
    m["rssi"] === undefined && m["ber"] === undefined
      ? { field: "rssi", reason: "rssi or ber is required" }
      : undefined,
  ),
  /** `c8y_TemperatureMeasurement`. */
  template("211", "temperature", { temperature: req(decimal), time: opt(timestamp) }),
  /** `c8y_Battery`. */
  template("212", "battery", { battery: req(decimal), time: opt(timestamp) }),

  // --- 4.3 Alarms (3xx) ---
  template("301", "criticalAlarm", alarmFields),
  template("302", "majorAlarm", alarmFields),
  template("303", "minorAlarm", alarmFields),
  template("304", "warningAlarm", alarmFields),
  /** Changes the severity of the active alarm of that type. */
  template("305", "alarmSeverity", {
    type: req(text),
    severity: req(oneOf("CRITICAL", "MAJOR", "MINOR", "WARNING")),
  }),
  template("306", "clearAlarm", { type: req(text) }),
  template("307", "removeAlarmFragments", {
    type: req(text),
    fragments: list("fragment", req(text), { min: 1 }),
  }),

  // --- 4.4 Events (4xx) ---
  template("400", "event", { type: req(text), text: req(text), time: opt(timestamp) }),
  /** Location-update event with `c8y_Position`. */
  template("401", "locationEvent", locationFields),
  /** Same event, and also updates the device's `c8y_Position`. */
  template("402", "locationUpdate", locationFields),
  template("407", "removeEventFragments", {
    type: req(text),
    fragments: list("fragment", req(text), { min: 0, optional: true }),
  }),
  /** `c8y_ParameterUpdate` events. */
  template("408", "parameterUpdate", {
    /** Default `Parameter '<fragment>' was updated`. */
    text: opt(text),
    time: opt(timestamp),
    /** Only create the event if the state is not already known (default false). */
    changeDetect: opt(boolean),
    /** `type` e.g. `BOOLEAN`; `value` default null. */
    parameters: group({ path: req(text), type: req(text), value: opt(text) }, { min: 1 }),
  }),

  // --- 4.5 Operation status (5xx) ---
  /** (Re)send all PENDING operations of the agent. */
  template("500", "getPendingOperations", {}),
  /** Oldest PENDING operation with this fragment → EXECUTING. */
  template("501", "operationExecuting", { fragment: req(text) }),
  /** Oldest EXECUTING operation with this fragment → FAILED. */
  template("502", "operationFailed", { fragment: req(text), reason: opt(text) }),
  /** Oldest EXECUTING operation with this fragment → SUCCESSFUL (parameters: spec §4.7). */
  template("503", "operationSuccessful", { fragment: req(text), parameters: statusParameters }),
  template("504", "operationExecutingById", { operationId: req(text) }),
  template("505", "operationFailedById", { operationId: req(text), reason: opt(text) }),
  template("506", "operationSuccessfulById", { operationId: req(text), parameters: statusParameters }),
  /** All EXECUTING operations (of this fragment; empty = all) → FAILED, for crash cleanup. */
  template("507", "failExecutingOperations", { fragment: opt(text), reason: opt(text) }),

  // --- 4.6 Platform capabilities (6xx) ---
  /** Answered by `601,<version>`. */
  template("600", "getPlatformVersion", {}),
  /** Answered by `603,<ids…>`. */
  template("602", "getTemplateIds", {}),
] as const;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Any upstream static-template message, discriminated by `template` (the id, e.g. `"200"`). */
export type UpstreamMessage = MessageOf<(typeof TEMPLATES)[number]>;
export type UpstreamTemplateId = UpstreamMessage["template"];
/** The message type of one template, e.g. `UpstreamOf<"200">`. */
export type UpstreamOf<Id extends UpstreamTemplateId> = Extract<UpstreamMessage, { readonly template: Id }>;
export type AlarmSeverity = UpstreamOf<"305">["severity"];

/** Template ids in ascending order. */
export const UPSTREAM_TEMPLATE_IDS: readonly UpstreamTemplateId[] = TEMPLATES.map((d) => d.id);

const BY_ID: ReadonlyMap<string, TemplateDef> = new Map(
  TEMPLATES.map((d): [string, TemplateDef] => [d.id, d]),
);

/** Per-template codecs (exact: unknown properties are stripped). */
export const UPSTREAM_CODECS = Object.fromEntries(TEMPLATES.map((d) => [d.id, d.codec])) as unknown as {
  readonly [Id in UpstreamTemplateId]: t.Type<UpstreamOf<Id>, UpstreamOf<Id>, unknown>;
};

/**
 * Boundary codec for application-submitted or logged messages. Checks shape only; run
 * `encodeUpstream` for the semantic checks. Dispatches on `template` (io-ts tagged union).
 */
export const UpstreamMessageCodec = t.union(
  TEMPLATES.map((d) => d.codec) as unknown as [t.Mixed, t.Mixed, ...t.Mixed[]],
  "UpstreamMessage",
) as unknown as t.Type<UpstreamMessage, UpstreamMessage, unknown>;

/** Catalogue entries, one per template, fields in wire order. */
export const UPSTREAM_SPECS: readonly TemplateSpec[] = TEMPLATES.map((d) => ({
  id: d.id,
  direction: "upstream",
  name: d.name,
  fields: Object.entries(d.fields).map(([key, field]) => field.label(key)),
  topic: "s/us",
}));

/** Validates `msg` and renders its row (template id first). Never throws. */
export const encodeUpstream = (msg: UpstreamMessage): E.Either<TemplateError, Row> => {
  const def = isRecord(msg) && typeof msg.template === "string" ? BY_ID.get(msg.template) : undefined;
  if (def === undefined) {
    const id = isRecord(msg) && typeof msg.template === "string" ? msg.template : "";
    return E.left(templateError(id, "template", "not an upstream static template id"));
  }
  const cells = encodeFields(def.fields, msg, "");
  const problem = E.isLeft(cells) ? cells.left : def.check?.(msg);
  if (problem !== undefined) return E.left(templateError(def.id, problem.field, problem.reason));
  return E.right([def.id, ...dropTrailingEmpty(E.isRight(cells) ? cells.right : [])]);
};

/** Trailing empty columns are optional fields left out: `100,,` ≡ `100` (spec §4). */
const dropTrailingEmpty = (cells: readonly Cell[]): string[] => {
  let end = cells.length;
  for (let last = cells[end - 1]; last !== undefined && last.text === "" && !last.keep; last = cells[end - 1])
    end--;
  return cells.slice(0, end).map((c) => c.text);
};

// --- smart constructors ---------------------------------------------------------------------

/** Drops `undefined` properties so constructed messages equal their JSON round trip. */
const prune = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * Readable constructors for the common templates. No validation here — `encodeUpstream` validates.
 * Names match `UPSTREAM_SPECS[].name`.
 */
export const Upstream = {
  createDevice: (name?: string, type?: string): UpstreamOf<"100"> => prune({ template: "100", name, type }),
  createChildDevice: (childId: string, name?: string, type?: string, isDevice?: boolean): UpstreamOf<"101"> =>
    prune({ template: "101", childId, name, type, isDevice }),
  createService: (
    externalId: string,
    serviceType: string,
    name: string,
    status: string,
  ): UpstreamOf<"102"> => ({
    template: "102",
    externalId,
    serviceType,
    name,
    status,
  }),
  serviceStatus: (status: string): UpstreamOf<"104"> => ({ template: "104", status }),
  getChildDevices: (): UpstreamOf<"105"> => ({ template: "105" }),
  hardware: (serialNumber?: string, model?: string, revision?: string): UpstreamOf<"110"> =>
    prune({ template: "110", serialNumber, model, revision }),
  supportedOperations: (operations: readonly string[]): UpstreamOf<"114"> => ({
    template: "114",
    operations,
  }),
  firmware: (name?: string, version?: string, url?: string): UpstreamOf<"115"> =>
    prune({ template: "115", name, version, url }),
  requiredAvailability: (interval?: number): UpstreamOf<"117"> => prune({ template: "117", interval }),
  /** Wire order is name, version, url, maintainer; `url` comes last here because it is optional. */
  agent: (name: string, version: string, maintainer: string, url?: string): UpstreamOf<"122"> =>
    prune({ template: "122", name, version, url, maintainer }),
  heartbeat: (): UpstreamOf<"125"> => ({ template: "125" }),
  measurement: (
    fragment: string,
    series: string,
    value: number,
    unit?: string,
    time?: string,
  ): UpstreamOf<"200"> => prune({ template: "200", fragment, series, value, unit, time }),
  /** Wire order is type, time, series; `time` comes last here because it is optional. */
  measurements: (type: string, series: UpstreamOf<"201">["series"], time?: string): UpstreamOf<"201"> =>
    prune({ template: "201", type, time, series }),
  criticalAlarm: (type: string, text?: string, time?: string): UpstreamOf<"301"> =>
    prune({ template: "301", type, text, time }),
  majorAlarm: (type: string, text?: string, time?: string): UpstreamOf<"302"> =>
    prune({ template: "302", type, text, time }),
  minorAlarm: (type: string, text?: string, time?: string): UpstreamOf<"303"> =>
    prune({ template: "303", type, text, time }),
  warningAlarm: (type: string, text?: string, time?: string): UpstreamOf<"304"> =>
    prune({ template: "304", type, text, time }),
  alarmSeverity: (type: string, severity: AlarmSeverity): UpstreamOf<"305"> => ({
    template: "305",
    type,
    severity,
  }),
  clearAlarm: (type: string): UpstreamOf<"306"> => ({ template: "306", type }),
  event: (type: string, text: string, time?: string): UpstreamOf<"400"> =>
    prune({ template: "400", type, text, time }),
  getPendingOperations: (): UpstreamOf<"500"> => ({ template: "500" }),
  operationExecuting: (fragment: string): UpstreamOf<"501"> => ({ template: "501", fragment }),
  operationFailed: (fragment: string, reason?: string): UpstreamOf<"502"> =>
    prune({ template: "502", fragment, reason }),
  operationSuccessful: (fragment: string, parameters?: readonly string[]): UpstreamOf<"503"> =>
    prune({ template: "503", fragment, parameters }),
  operationExecutingById: (operationId: string): UpstreamOf<"504"> => ({ template: "504", operationId }),
  operationFailedById: (operationId: string, reason?: string): UpstreamOf<"505"> =>
    prune({ template: "505", operationId, reason }),
  operationSuccessfulById: (operationId: string, parameters?: readonly string[]): UpstreamOf<"506"> =>
    prune({ template: "506", operationId, parameters }),
  failExecutingOperations: (fragment?: string, reason?: string): UpstreamOf<"507"> =>
    prune({ template: "507", fragment, reason }),
} as const;

// --- classification -------------------------------------------------------------------------

/** Send-queue classes; the engine decides their relative priority. */
export type PriorityClass = "operation-status" | "alarm" | "event" | "inventory" | "measurement";

/**
 * Class of a template by its hundreds digit: 5xx operation-status, 3xx alarm, 4xx event,
 * 2xx measurement, 1xx and 6xx inventory. `500` is a request for pending operations, not a
 * status update, but it belongs to the same operation workflow and is classed with it.
 */
export const priorityClassOf = (template: UpstreamTemplateId): PriorityClass => {
  switch (template.charAt(0)) {
    case "5":
      return "operation-status";
    case "3":
      return "alarm";
    case "4":
      return "event";
    case "2":
      return "measurement";
    default:
      return "inventory";
  }
};

const OPERATION_STATUS_IDS = ["501", "502", "503", "504", "505", "506", "507"] as const;

/** 501–507: messages that change the status of operations (not 500, which only asks for them). */
export type OperationStatusMessage = UpstreamOf<(typeof OPERATION_STATUS_IDS)[number]>;

export const isOperationStatus = (msg: UpstreamMessage): msg is OperationStatusMessage =>
  (OPERATION_STATUS_IDS as readonly string[]).includes(msg.template);

/** Which operation(s) a status message acts on (spec §7.1). */
export type OperationSelector =
  /** 501–503: the oldest operation with this fragment (PENDING for 501, EXECUTING for 502/503). */
  | { readonly by: "fragment"; readonly fragment: string }
  /** 504–506: exactly this operation. */
  | { readonly by: "operation-id"; readonly operationId: string }
  /** 507: every EXECUTING operation, optionally only those with `fragment`. */
  | { readonly by: "all-executing"; readonly fragment?: string };

export interface OperationStatusChange {
  readonly status: "EXECUTING" | "FAILED" | "SUCCESSFUL";
  readonly selector: OperationSelector;
}

/** The target status and the operation selector of a 501–507 message. */
export const operationStatusOf = (msg: OperationStatusMessage): OperationStatusChange => {
  switch (msg.template) {
    case "501":
      return { status: "EXECUTING", selector: { by: "fragment", fragment: msg.fragment } };
    case "502":
      return { status: "FAILED", selector: { by: "fragment", fragment: msg.fragment } };
    case "503":
      return { status: "SUCCESSFUL", selector: { by: "fragment", fragment: msg.fragment } };
    case "504":
      return { status: "EXECUTING", selector: { by: "operation-id", operationId: msg.operationId } };
    case "505":
      return { status: "FAILED", selector: { by: "operation-id", operationId: msg.operationId } };
    case "506":
      return { status: "SUCCESSFUL", selector: { by: "operation-id", operationId: msg.operationId } };
    case "507":
      // An empty fragment means "all" (spec §4.5).
      return {
        status: "FAILED",
        selector:
          msg.fragment === undefined || msg.fragment === ""
            ? { by: "all-executing" }
            : { by: "all-executing", fragment: msg.fragment },
      };
  }
};

// --- wire formats ---------------------------------------------------------------------------

/**
 * `n` (finite) in plain decimal notation. JavaScript already prints the shortest round-trip
 * digits; only its exponent forms (|n| ≥ 1e21 or < 1e-6) are expanded here.
 */
const plainDecimal = (n: number): string => {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const [, sign = "", lead = "", rest = "", exponent = "0"] = m;
  const digits = lead + rest;
  const point = 1 + Number(exponent); // position of the decimal point within `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
};

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

/** Strict ISO-8601 date-time with a real calendar date (leap years included); seconds required. */
export const isIsoTimestamp = (s: string): boolean => {
  const m = ISO_TIMESTAMP.exec(s);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return daysInMonth !== undefined && day >= 1 && day <= daysInMonth;
};
