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
import { templateError, type Row, type TemplateError, type TemplateSpec } from "./types.js";
import { isRecord, writeFields, type Columns } from "./upstream-fields.js";
import { serializeField } from "./csv.js";
import { TEMPLATES, type TemplateDef, type MessageOf } from "./upstream-templates.js";

export { isIsoTimestamp } from "./upstream-fields.js";

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

/** Codecs whose `is` is their whole decoding: a value they accept decodes to itself. */
const isPlainCodec = (codec: t.Mixed): boolean =>
  codec instanceof t.StringType ||
  codec instanceof t.NumberType ||
  codec instanceof t.BooleanType ||
  codec instanceof t.KeyofType ||
  codec instanceof t.LiteralType;

/**
 * True when `UpstreamMessageCodec.decode(u)` succeeds and gives `u` itself (nothing to strip):
 * the common case of a message read from JSON, checked without the codec's generic walk (no
 * context or result objects per field). For a JSON value (own enumerable keys only); false says
 * nothing: run the codec, which also says why.
 */
export const isExactUpstreamMessage = (u: unknown): u is UpstreamMessage => {
  if (!isRecord(u) || typeof u["template"] !== "string") return false;
  const def = BY_ID.get(u["template"]);
  if (def === undefined) return false;
  for (const key in u) if (key !== "template" && !Object.hasOwn(def.fields, key)) return false;
  for (const key in def.fields) {
    const field = def.fields[key]!;
    const value = u[key];
    if (value === undefined) {
      if (field.optional) continue;
      return false;
    }
    if (isPlainCodec(field.codec)) {
      if (!field.codec.is(value)) return false;
      continue;
    }
    const decoded = field.codec.decode(value);
    if (E.isLeft(decoded) || decoded.right !== value) return false;
  }
  return true;
};

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
  const written = writeRow(msg);
  return Array.isArray(written) ? E.right(written) : E.left(written as TemplateError);
};

/**
 * `serializeRow(encodeUpstream(msg))`, without a second array: the serialized CSV line of a
 * valid message (template id first), or why not. The per-row path of every submission.
 */
export const encodeUpstreamLine = (msg: UpstreamMessage): E.Either<TemplateError, string> => {
  const written = writeRow(msg);
  if (!Array.isArray(written)) return E.left(written as TemplateError);
  // The id and field texts are quoted in place; `join` writes the line as one flat string.
  for (let i = 1; i < written.length; i++) written[i] = serializeField(written[i] as string);
  return E.right(written.join(","));
};

/** The row of a valid message (a fresh array, template id first), or why it is not valid. */
const writeRow = (msg: UpstreamMessage): string[] | TemplateError => {
  const def = isRecord(msg) && typeof msg.template === "string" ? BY_ID.get(msg.template) : undefined;
  if (def === undefined) {
    const id = isRecord(msg) && typeof msg.template === "string" ? msg.template : "";
    return templateError(id, "template", "not an upstream static template id");
  }
  const out: Columns = { texts: [def.id], kept: 1 };
  const problem = writeFields(def.fields, msg, "", out) ?? def.check?.(msg);
  if (problem !== undefined) return templateError(def.id, problem.field, problem.reason);
  // Trailing empty columns are optional fields left out: `100,,` ≡ `100` (spec §4).
  const texts = out.texts;
  let end = texts.length;
  while (end > out.kept && texts[end - 1] === "") end--;
  texts.length = end;
  return texts;
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
