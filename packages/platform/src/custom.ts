/**
 * SmartREST 2.0 custom template collections (spec §6): registration and existence checks on
 * `s/ut/<X-ID>` (answers `20` / `41` on `s/dt`), request templates used on `s/uc/<X-ID>`, and
 * response templates for request results (operations are rendered in operations.ts).
 *
 * Request templates: POST MEASUREMENT, POST EVENT, POST ALARM, PUT ALARM (the open alarm of
 * that type), PUT OPERATION (the oldest EXECUTING, then PENDING, operation of that fragment),
 * and INVENTORY GET/POST/PUT (inventorytemplates.ts). Answers of `s/ud` (the ClientId's default
 * collection) go to `s/dd` instead of `s/dc/<X-ID>`.
 *
 * Decisions:
 * - A collection is created atomically: any bad line refuses the whole publish with
 *   `41,<X-ID>,<reason>` on `s/e` (texts from spec §4.9's 41 list). An existing collection is
 *   never modified (`41,<X-ID>,Cannot create templates for already existing template object`).
 * - Values: fixed values are validated at creation; values left empty are supplied by each
 *   message in template order (mandatory first, then custom; FLAG values are never supplied).
 *   More values than empty slots → 45 `Wrong number of arguments`; fewer → the rest are empty.
 *   Empty DATE = server time; other empty values are left out. A value that does not parse as
 *   its type → 45 `Value is not a <TYPE>: <value>`.
 * - Unknown collection → 41 (reference: the message id); unknown message id → 40.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  serializeRow,
  TEMPLATE_EXISTS_CODEC,
  TEMPLATE_MISSING_CODEC,
  TOPIC_TEMPLATE_STATUS,
  type Row,
} from "@c8ylink/core";
import { addEvent, addMeasurement, openAlarm, raiseAlarm, replaceAlarm } from "./data.js";
import {
  ErrorCode,
  NO_CUSTOM_TEMPLATE,
  reportError,
  rowError,
  WRONG_ARGUMENT_COUNT,
  type RowError,
} from "./errors.js";
import { ensureRoot, resolveTarget } from "./inventory.js";
import { assoc, isDecimalText, type Json, type JsonObject, lookup, pathSegments, setPath } from "./json.js";
import type {
  Alarm,
  AlarmSeverity,
  AlarmStatus,
  ManagedObject,
  Measurement,
  OperationStatus,
  PlatformEvent,
  ProcessingMode,
  RequestApi,
  RequestMethod,
  RequestTemplate,
  ResponseTemplate,
  Session,
  TemplateCollection,
  TemplateValue,
  ValueType,
} from "./model.js";
import { executeInventory } from "./inventorytemplates.js";
import { operationJson, updateOperationByFragment } from "./operations.js";
import { responseRows } from "./responses.js";
import { isIsoTimestamp, isoFromMs } from "./time.js";
import { deliverRow, newId, type Tx } from "./tx.js";

// ---------------------------------------------------------------------------------------------
// Collection definition (lines 10 and 11)

const METHODS: readonly RequestMethod[] = ["GET", "PUT", "POST"];
const APIS: readonly RequestApi[] = ["INVENTORY", "MEASUREMENT", "ALARM", "EVENT", "OPERATION"];
const VALUE_TYPES: readonly ValueType[] = [
  "STRING",
  "DATE",
  "NUMBER",
  "INTEGER",
  "UNSIGNED",
  "FLAG",
  "SEVERITY",
  "ALARMSTATUS",
  "OPERATIONSTATUS",
];

/** Mandatory values per supported (method, api), with their types (spec §6.2). */
const MANDATORY: Readonly<Record<string, readonly (readonly [string, ValueType])[]>> = {
  "POST MEASUREMENT": [
    ["type", "STRING"],
    ["time", "DATE"],
  ],
  "POST EVENT": [
    ["type", "STRING"],
    ["text", "STRING"],
    ["time", "DATE"],
  ],
  "POST ALARM": [
    ["type", "STRING"],
    ["text", "STRING"],
    ["status", "ALARMSTATUS"],
    ["severity", "SEVERITY"],
    ["time", "DATE"],
  ],
  "POST INVENTORY": [["externalIdType", "STRING"]],
  "GET INVENTORY": [
    ["byId", "STRING"],
    ["externalIdType", "STRING"],
  ],
  "PUT INVENTORY": [
    ["byId", "STRING"],
    ["externalIdType", "STRING"],
  ],
  "PUT ALARM": [["type", "STRING"]],
  "PUT OPERATION": [["fragment", "STRING"]],
};

const BAD_REQUEST = "Bad request template definition";
const BAD_RESPONSE = "Bad response template definition";

const ENUMS: Partial<Record<ValueType, readonly string[]>> = {
  SEVERITY: ["CRITICAL", "MAJOR", "MINOR", "WARNING"],
  ALARMSTATUS: ["ACTIVE", "ACKNOWLEDGED", "CLEARED"],
  OPERATIONSTATUS: ["PENDING", "EXECUTING", "SUCCESSFUL", "FAILED"],
};

/** A value as its type; `undefined` = left out. Left: the text of a 45 line. */
const convert = (type: ValueType, raw: string, nowMs: number): E.Either<string, Json | undefined> => {
  const bad = E.left(`Value is not a ${type}: ${raw}`);
  if (type === "FLAG") return E.right({});
  if (type === "DATE")
    return raw === "" ? E.right(isoFromMs(nowMs)) : isIsoTimestamp(raw) ? E.right(raw) : bad;
  if (raw === "") return E.right(undefined);
  switch (type) {
    case "STRING":
      return E.right(raw);
    case "NUMBER":
      return isDecimalText(raw) && Number.isFinite(Number(raw)) ? E.right(Number(raw)) : bad;
    case "INTEGER":
    case "UNSIGNED": {
      const ok = (type === "INTEGER" ? /^[+-]?\d+$/ : /^\d+$/).test(raw) && Number.isSafeInteger(Number(raw));
      return ok ? E.right(Number(raw)) : bad;
    }
    default: {
      const upper = raw.toUpperCase();
      return ENUMS[type]?.includes(upper) === true ? E.right(upper) : bad;
    }
  }
};

const parseRequest = (row: Row): E.Either<string, RequestTemplate> => {
  const [, msgId = "", method = "", api = "", response = "", ...values] = row;
  const mandatoryTypes = lookup(MANDATORY, `${method} ${api}`);
  if (
    msgId === "" ||
    !METHODS.some((m) => m === method) ||
    !APIS.some((a) => a === api) ||
    mandatoryTypes === undefined
  )
    return E.left(BAD_REQUEST);
  if (!["", "true", "false"].includes(response)) return E.left(BAD_REQUEST);
  const mandatory = mandatoryTypes.map(([path, type], i) => ({ path, type, value: values[i] ?? "" }));
  const rest = values.slice(mandatoryTypes.length);
  const custom: TemplateValue[] = [];
  for (let i = 0; i < rest.length; i += 3) {
    const [path = "", type = "", value = ""] = rest.slice(i, i + 3);
    if (path === "" && type === "" && value === "") continue;
    const valueType = type === "" ? "STRING" : VALUE_TYPES.find((t) => t === type);
    if (valueType === undefined) return E.left(`Bad value type: ${type}`);
    if (path === "") return E.left(BAD_REQUEST);
    custom.push({ path, type: valueType, value });
  }
  for (const v of [...mandatory, ...custom])
    if (v.value !== "" && E.isLeft(convert(v.type, v.value, 0))) return E.left(`Bad value type: ${v.value}`);
  return E.right({
    msgId,
    method: method as RequestMethod,
    api: api as RequestApi,
    response: response === "" ? method === "GET" : response === "true",
    mandatory,
    custom,
  });
};

const parseResponse = (row: Row): E.Either<string, ResponseTemplate> => {
  const [, msgId = "", base = "", condition = "", ...rest] = row;
  const patterns = rest.filter((p) => p !== "");
  if (msgId === "" || patterns.length === 0) return E.left(BAD_RESPONSE);
  if ([base, condition, ...patterns].some((p) => p.includes("?")))
    return E.left("Using Filters (?) in JsonPath is not allowed for SmartRest");
  return E.right({ msgId, base, condition, patterns });
};

const unique = (ids: readonly string[]) => new Set(ids).size === ids.length;

/** Lines 10/11 → the collection's templates (all or nothing). */
const parseCollection = (
  rows: readonly Row[],
): E.Either<string, Pick<TemplateCollection, "requests" | "responses">> => {
  const requests: RequestTemplate[] = [];
  const responses: ResponseTemplate[] = [];
  for (const row of rows) {
    if (row[0] === "10") {
      const parsed = parseRequest(row);
      if (E.isLeft(parsed)) return parsed;
      requests.push(parsed.right);
    } else if (row[0] === "11") {
      const parsed = parseResponse(row);
      if (E.isLeft(parsed)) return parsed;
      responses.push(parsed.right);
    } else return E.left("Not a valid message identifier for template creation");
  }
  if (!unique(requests.map((r) => r.msgId)) || !unique(responses.map((r) => r.msgId)))
    return E.left("Duplicate message identifiers are not allowed");
  return E.right({ requests, responses });
};

/** `s/ut/<X-ID>`: no rows = existence check, otherwise create. */
export const handleTemplatePublish = (
  tx: Tx,
  session: Session,
  topic: string,
  xid: string,
  rows: readonly Row[],
): void => {
  const existing = lookup(tx.s.collections, xid);
  const fail = (text: string) =>
    reportError(tx, session, topic, rowError(ErrorCode.templateError, xid, text));
  if (rows.length === 0) {
    const answer =
      existing === undefined
        ? TEMPLATE_MISSING_CODEC.encode({ kind: "template-missing", xid })
        : TEMPLATE_EXISTS_CODEC.encode({ kind: "template-exists", xid, collectionId: existing.id });
    deliverRow(tx, session, TOPIC_TEMPLATE_STATUS, answer);
    return;
  }
  if (existing !== undefined) return fail("Cannot create templates for already existing template object");
  const parsed = parseCollection(rows);
  if (E.isLeft(parsed)) return fail(parsed.left);
  const collection: TemplateCollection = { xid, id: newId(tx), ...parsed.right, creationMs: tx.now };
  tx.s = { ...tx.s, collections: assoc(tx.s.collections, xid, collection) };
  deliverRow(
    tx,
    session,
    TOPIC_TEMPLATE_STATUS,
    TEMPLATE_EXISTS_CODEC.encode({ kind: "template-exists", xid, collectionId: collection.id }),
  );
};

// ---------------------------------------------------------------------------------------------
// Using request templates

interface Filled {
  /** Mandatory values by name. */
  readonly mandatory: Readonly<Record<string, Json | undefined>>;
  /** Custom values as (path segments, value). */
  readonly custom: readonly { readonly path: readonly string[]; readonly value: Json }[];
}

/** Template values with the message's supplied values in the empty slots. */
const fill = (
  template: RequestTemplate,
  supplied: readonly string[],
  nowMs: number,
): E.Either<string, Filled> => {
  const slots = [...template.mandatory, ...template.custom].filter(
    (v) => v.value === "" && v.type !== "FLAG",
  ).length;
  let end = supplied.length;
  while (end > 0 && supplied[end - 1] === "") end--;
  if (end > slots) return E.left(WRONG_ARGUMENT_COUNT);
  let next = 0;
  const valueOf = (v: TemplateValue) =>
    convert(v.type, v.value !== "" || v.type === "FLAG" ? v.value : (supplied[next++] ?? ""), nowMs);
  const mandatory: Record<string, Json | undefined> = {};
  for (const v of template.mandatory) {
    const value = valueOf(v);
    if (E.isLeft(value)) return value;
    mandatory[v.path] = value.right;
  }
  const custom: { path: readonly string[]; value: Json }[] = [];
  for (const v of template.custom) {
    const value = valueOf(v);
    if (E.isLeft(value)) return value;
    if (value.right !== undefined) custom.push({ path: pathSegments(v.path), value: value.right });
  }
  return E.right({ mandatory, custom });
};

const customFragments = (filled: Filled, start: JsonObject = {}): JsonObject =>
  filled.custom.reduce((acc, c) => setPath(acc, c.path, c.value), start);

const text = (u: Json | undefined): string | undefined => (typeof u === "string" ? u : undefined);

interface RequestContext {
  readonly session: Session;
  readonly topic: string;
  readonly target: ManagedObject;
  readonly mode: ProcessingMode;
  readonly line: string;
}

/** A measurement or event as the REST API shows it (fragments on top), for response templates. */
const restJson = (item: Measurement | PlatformEvent): Json => ({
  ...item.fragments,
  id: item.id,
  type: item.type,
  time: item.time,
  source: { id: item.sourceId },
  ...("text" in item ? { text: item.text } : {}),
});

/** Applies one request; Right carries the JSON of the result (for response templates), if any. */
const execute = (
  tx: Tx,
  ctx: RequestContext,
  template: RequestTemplate,
  filled: Filled,
): E.Either<RowError, Json | undefined> => {
  const invalid = (message: string) => E.left(rowError(ErrorCode.invalidArguments, template.msgId, message));
  const m = (name: string) => lookup(filled.mandatory, name);
  const required = (name: string): E.Either<RowError, string> => {
    const value = text(m(name));
    return value === undefined ? invalid(`Missing mandatory value: ${name}`) : E.right(value);
  };
  const source = ctx.target;
  const time = text(m("time"));
  switch (`${template.method} ${template.api}`) {
    case "POST MEASUREMENT": {
      const type = required("type");
      if (E.isLeft(type)) return type;
      const fragments = customFragments(filled);
      return E.right(
        restJson(addMeasurement(tx, { source, type: type.right, time, fragments, mode: ctx.mode })),
      );
    }
    case "POST EVENT": {
      const type = required("type");
      if (E.isLeft(type)) return type;
      const eventText = required("text");
      if (E.isLeft(eventText)) return eventText;
      const event = addEvent(tx, {
        source,
        type: type.right,
        time,
        fragments: customFragments(filled),
        mode: ctx.mode,
        text: eventText.right,
      });
      return E.right(restJson(event));
    }
    case "POST ALARM": {
      const type = required("type");
      if (E.isLeft(type)) return type;
      const severity = required("severity");
      if (E.isLeft(severity)) return severity;
      raiseAlarm(tx, {
        source,
        type: type.right,
        time,
        fragments: customFragments(filled),
        mode: ctx.mode,
        severity: severity.right as AlarmSeverity,
        text: text(m("text")),
        status: (text(m("status")) ?? "ACTIVE") as AlarmStatus,
      });
      return E.right(openAlarm(tx.s, source.id, type.right) as Json | undefined);
    }
    case "PUT ALARM": {
      const type = required("type");
      if (E.isLeft(type)) return type;
      const open = openAlarm(tx.s, source.id, type.right);
      if (open === undefined) return E.right(undefined);
      // `status`, `severity` and `text` are alarm properties; any other path is a fragment.
      let updated: Alarm = open;
      for (const { path, value } of filled.custom) {
        const key = path.join(".");
        if (key === "status" && ENUMS.ALARMSTATUS?.includes(String(value)) === true)
          updated = { ...updated, status: value as AlarmStatus };
        else if (key === "severity" && ENUMS.SEVERITY?.includes(String(value)) === true)
          updated = { ...updated, severity: value as AlarmSeverity };
        else if (key === "text" && typeof value === "string") updated = { ...updated, text: value };
        else updated = { ...updated, fragments: setPath(updated.fragments, path, value) };
      }
      replaceAlarm(tx, updated);
      return E.right(updated as unknown as Json);
    }
    case "PUT OPERATION": {
      const fragment = required("fragment");
      if (E.isLeft(fragment)) return fragment;
      const status = filled.custom.find((c) => c.path.join(".") === "status")?.value;
      const reason = filled.custom.find((c) => c.path.join(".") === "failureReason")?.value;
      const others = filled.custom.filter((c) => !["status", "failureReason"].includes(c.path.join(".")));
      const updated = updateOperationByFragment(tx, {
        deviceId: source.id,
        fragment: fragment.right,
        status: typeof status === "string" ? (status as OperationStatus) : undefined,
        failureReason: text(reason),
        fragments: (f) => others.reduce((acc, c) => setPath(acc, c.path, c.value), f),
        cause: ctx.line,
      });
      if (E.isLeft(updated)) return E.left(rowError(ErrorCode.templateError, template.msgId, updated.left));
      return E.right(operationJson(updated.right));
    }
    default:
      return E.left(
        rowError(
          ErrorCode.templateError,
          template.msgId,
          "Request template not supported by the platform model",
        ),
      );
  }
};

/** `s/uc/<X-ID>[/<child>]`: every row is one request. */
export const handleCustomPublish = (
  tx: Tx,
  session: Session,
  topic: string,
  xid: string,
  child: string | undefined,
  mode: ProcessingMode,
  rows: readonly Row[],
  downTopic: string = `s/dc/${xid}`,
): void => {
  for (const row of rows) {
    const msgId = row[0] ?? "";
    const report = (error: RowError) => reportError(tx, session, topic, error);
    const collection = lookup(tx.s.collections, xid);
    if (collection === undefined) {
      report(rowError(ErrorCode.templateError, msgId, `Template collection ${xid} does not exist`));
      continue;
    }
    const template = collection.requests.find((r) => r.msgId === msgId);
    if (template === undefined) {
      report(rowError(ErrorCode.unknownTemplate, msgId, NO_CUSTOM_TEMPLATE));
      continue;
    }
    if (template.api === "INVENTORY") {
      const customOnly: RequestTemplate = { ...template, mandatory: [] };
      const result = executeInventory(tx, session, template, row.slice(1), (supplied) =>
        E.map((f: Filled) => f.custom)(fill(customOnly, supplied, tx.now)),
      );
      if (E.isLeft(result)) report(result.left);
      else if (template.response && result.right !== undefined)
        for (const answer of responseRows(collection.responses, result.right))
          deliverRow(tx, session, downTopic, answer);
      continue;
    }
    const filled = fill(template, row.slice(1), tx.now);
    if (E.isLeft(filled)) {
      report(rowError(ErrorCode.invalidArguments, msgId, filled.left));
      continue;
    }
    const target = resolveTarget(tx, session, child, ensureRoot(tx, session));
    if (E.isLeft(target)) {
      report(rowError(ErrorCode.templateError, msgId, target.left));
      continue;
    }
    const result = execute(
      tx,
      { session, topic, target: target.right, mode, line: serializeRow(row) },
      template,
      filled.right,
    );
    if (E.isLeft(result)) report(result.left);
    else if (template.response && result.right !== undefined)
      for (const answer of responseRows(collection.responses, result.right))
        deliverRow(tx, session, downTopic, answer);
  }
};
