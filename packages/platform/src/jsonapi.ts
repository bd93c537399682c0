/**
 * JSON via MQTT, the data side (spec §2.7): `<api>/<resource>/<action>[/<id>]` topics with REST
 * bodies, optionally prefixed `t/`, `q/`, `c/` for the processing mode, and errors as JSON on
 * `error`.
 *
 * What the model does with each topic (the rest of the spec's table is recognised and answered
 * with a `notSupported` error on `error`, never stored and never a disconnection):
 * - `measurement/measurements/create`, `event/events/create`, `alarm/alarms/create`: one item,
 *   stored like its SmartREST equivalent (alarms de-duplicate per (source, type), data.ts);
 *   `…/createBulk`: `{"measurements"|"events"|"alarms": [...]}`, all items or none.
 * - `inventory/managedObjects/update/<id>`: `<id>` is the external id (`c8y_Serial`, what
 *   thin-edge sends) or else the internal id, inside the session's own device tree. Top-level
 *   members replace the fragment of that name, `null` removes it, `name`/`type` set those
 *   fields, read-only members (`id`, `owner`, `childDevices`, …) are ignored; `{}` is a
 *   heartbeat.
 *
 * Decisions:
 * - `source` is always the ClientId's device (spec §2.7); `externalSource {externalId, type}`
 *   (thin-edge practice) targets an existing device of the session's tree instead. JSON is an
 *   add-on to SmartREST: nothing is auto-created, so publishing before the device exists is
 *   an error.
 * - Mandatory fields as in REST: `type`, `time` (measurements), plus `text` (events), plus
 *   `severity`, `text` (alarms); `time` must be ISO-8601. Missing ones are reported together,
 *   alphabetically: `Following mandatory fields should be included: severity,text,time`.
 * - Every other member is a fragment. Stored items count as a heartbeat (spec §9).
 * - Errors: `{"error":"<domain>/<kind>","message":…,"messageId":<packet id>}` on `error`,
 *   recorded in `errors` (channel `error`, code = the HTTP status REST would answer). A QoS 0
 *   publish has no packet id, so its errors carry no `messageId`. The connection stays open.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, formatProblems, isIsoTimestamp, refine } from "@c8ylink/core";
import { addEvent, addMeasurement, raiseAlarm } from "./data.js";
import { heartbeat } from "./availability.js";
import { byExternalId, isWithin, managedObject, putManagedObject } from "./inventory.js";
import { assoc, dissoc, isJsonObject, type Json, type JsonObject, lookup, toJson } from "./json.js";
import type { ClientPublish, ManagedObject, ProcessingMode, Session } from "./model.js";
import { emit, type Tx } from "./tx.js";

export const TOPIC_JSON_ERRORS = "error";

// ---------------------------------------------------------------------------------------------
// Topics

type Resource = "measurements" | "events" | "alarms" | "managedObjects";

export interface JsonTopic {
  readonly mode: ProcessingMode;
  readonly resource: Resource;
  /** The action level as sent (`create`, `createBulk`, `update`, `delete`, or anything else). */
  readonly action: string;
  /** The level after the action (`update/<id>`), if any. */
  readonly resourceId: string | undefined;
  /**
   * Not `<api>/<resource>/<action>[/<id>]` with one of the four actions (e.g. an unknown action,
   * or `inventory/managedObjects/{id}/childDevices/create`).
   */
  readonly unusual: boolean;
}

const APIS: Readonly<Record<string, Resource>> = {
  "measurement/measurements": "measurements",
  "event/events": "events",
  "alarm/alarms": "alarms",
  "inventory/managedObjects": "managedObjects",
};
const ACTIONS: readonly string[] = ["create", "createBulk", "update", "delete"];
const MODES: Readonly<Record<string, ProcessingMode>> = { t: "transient", q: "quiescent", c: "cep" };

/** The JSON via MQTT topic `topic` names, or undefined when it is not one (SmartREST, unknown). */
export const parseJsonTopic = (topic: string): JsonTopic | undefined => {
  const levels = topic.split("/");
  const mode = MODES[levels[0] ?? ""];
  const rest = mode === undefined ? levels : levels.slice(1);
  const resource = APIS[`${rest[0] ?? ""}/${rest[1] ?? ""}`];
  if (resource === undefined) return undefined;
  const action = rest[2] ?? "";
  return {
    mode: mode ?? "persistent",
    resource,
    action,
    resourceId: rest[3],
    unusual: !ACTIONS.includes(action) || rest.length > 4,
  };
};

// ---------------------------------------------------------------------------------------------
// Errors

interface JsonError {
  /** HTTP status the REST API would answer (recorded as the error's code). */
  readonly status: number;
  readonly error: string;
  readonly message: string;
}

const validation = (message: string): JsonError => ({
  status: 422,
  error: "undefined/validationError",
  message,
});
const notFound = (domain: string, message: string): JsonError => ({
  status: 404,
  error: `${domain}/notFound`,
  message,
});

const reportJsonError = (tx: Tx, session: Session, input: ClientPublish, problem: JsonError): void => {
  const document: JsonObject = {
    error: problem.error,
    message: problem.message,
    ...(input.messageId === undefined ? {} : { messageId: input.messageId }),
  };
  const line = JSON.stringify(document);
  const qos = lookup(session.subscriptions, TOPIC_JSON_ERRORS);
  if (qos !== undefined)
    emit(tx, { type: "deliver", clientKey: session.clientKey, topic: TOPIC_JSON_ERRORS, payload: line, qos });
  const record = {
    atMs: tx.now,
    clientKey: session.clientKey,
    deviceId: session.deviceId,
    topic: input.topic,
    channel: "error" as const,
    code: problem.status,
    line,
    delivered: qos !== undefined,
  };
  tx.s = { ...tx.s, errors: tx.s.errors.push(record) };
};

// ---------------------------------------------------------------------------------------------
// Bodies

const IsoTime = refine(t.string, "ISO-8601 timestamp", (s) =>
  isIsoTimestamp(s) ? undefined : `"${s}" is not an ISO-8601 timestamp`,
);
const NonEmpty = refine(t.string, "non-empty string", (s) => (s === "" ? "must not be empty" : undefined));
const Severity = t.keyof({ CRITICAL: null, MAJOR: null, MINOR: null, WARNING: null });
const AlarmStatusCodec = t.keyof({ ACTIVE: null, ACKNOWLEDGED: null, CLEARED: null });
const ExternalSource = t.intersection([
  t.type({ externalId: NonEmpty }),
  t.partial({ type: t.literal("c8y_Serial") }),
]);
const common = { type: NonEmpty, time: IsoTime };
const optional = t.partial({ externalSource: ExternalSource });

const MeasurementBody = t.intersection([t.type(common), optional]);
const EventBody = t.intersection([t.type({ ...common, text: t.string }), optional]);
const AlarmBody = t.intersection([
  t.type({ ...common, text: t.string, severity: Severity }),
  t.partial({ status: AlarmStatusCodec }),
  optional,
]);

type DataResource = "measurements" | "events" | "alarms";

const MANDATORY: Readonly<Record<DataResource, readonly string[]>> = {
  measurements: ["time", "type"],
  events: ["text", "time", "type"],
  alarms: ["severity", "text", "time", "type"],
};

/** Members that are not fragments (REST's own fields, or ignored). */
const NOT_FRAGMENTS: ReadonlySet<string> = new Set([
  "id",
  "self",
  "source",
  "type",
  "time",
  "text",
  "severity",
  "status",
  "count",
  "creationTime",
  "lastUpdated",
  "firstOccurrenceTime",
  "externalSource",
]);

const fragmentsOf = (body: JsonObject): JsonObject =>
  Object.keys(body)
    .filter((k) => !NOT_FRAGMENTS.has(k))
    .reduce<JsonObject>((acc, k) => assoc(acc, k, lookup(body, k) ?? null), {});

type Item =
  | { readonly kind: "measurements"; readonly body: t.TypeOf<typeof MeasurementBody> }
  | { readonly kind: "events"; readonly body: t.TypeOf<typeof EventBody> }
  | { readonly kind: "alarms"; readonly body: t.TypeOf<typeof AlarmBody> };

interface DecodedItem {
  readonly item: Item;
  readonly fragments: JsonObject;
}

const decodeItem = (kind: DataResource, raw: Json): E.Either<JsonError, DecodedItem> => {
  if (!isJsonObject(raw)) return E.left(validation("The body must be a JSON object"));
  const missing = MANDATORY[kind].filter((k) => lookup(raw, k) === undefined || lookup(raw, k) === null);
  if (missing.length > 0)
    return E.left(validation(`Following mandatory fields should be included: ${missing.join(",")}`));
  const fail = (problems: Parameters<typeof formatProblems>[0]) =>
    E.left<JsonError, DecodedItem>(validation(formatProblems(problems).replace(/\n/g, "; ")));
  const fragments = fragmentsOf(raw);
  switch (kind) {
    case "measurements": {
      const body = decode(MeasurementBody, raw);
      return E.isLeft(body) ? fail(body.left) : E.right({ item: { kind, body: body.right }, fragments });
    }
    case "events": {
      const body = decode(EventBody, raw);
      return E.isLeft(body) ? fail(body.left) : E.right({ item: { kind, body: body.right }, fragments });
    }
    case "alarms": {
      const body = decode(AlarmBody, raw);
      return E.isLeft(body) ? fail(body.left) : E.right({ item: { kind, body: body.right }, fragments });
    }
  }
};

/** `{"<resource>": [...]}` of createBulk → its items, all decoded or the first problem. */
const decodeBulk = (kind: DataResource, raw: Json): E.Either<JsonError, DecodedItem[]> => {
  const list = isJsonObject(raw) ? lookup(raw, kind) : undefined;
  if (!Array.isArray(list))
    return E.left(validation(`The body must be an object with the array "${kind}" (createBulk)`));
  const items: DecodedItem[] = [];
  for (const [i, entry] of (list as readonly Json[]).entries()) {
    const decoded = decodeItem(kind, entry);
    if (E.isLeft(decoded))
      return E.left({ ...decoded.left, message: `${kind}[${i}]: ${decoded.left.message}` });
    items.push(decoded.right);
  }
  return E.right(items);
};

// ---------------------------------------------------------------------------------------------
// Applying

const rootOf = (tx: Tx, session: Session): E.Either<JsonError, ManagedObject> => {
  const root = byExternalId(tx.s, session.deviceId);
  return root === undefined
    ? E.left(
        notFound(
          "inventory",
          `Device ${session.deviceId} does not exist: JSON via MQTT is an add-on, create the device with SmartREST first`,
        ),
      )
    : E.right(root);
};

/** A device of the session's tree by external id. */
const inTree = (tx: Tx, root: ManagedObject, externalId: string): E.Either<JsonError, ManagedObject> => {
  const mo = byExternalId(tx.s, externalId);
  return mo !== undefined && isWithin(tx.s, root.id, mo.id)
    ? E.right(mo)
    : E.left(
        notFound(
          "identity",
          `External id ${externalId} (c8y_Serial) not found in the tree of ${root.externalId}`,
        ),
      );
};

const sourceOf = (tx: Tx, root: ManagedObject, item: Item): E.Either<JsonError, ManagedObject> => {
  const external = item.body.externalSource;
  return external === undefined ? E.right(root) : inTree(tx, root, external.externalId);
};

const store = (tx: Tx, source: ManagedObject, mode: ProcessingMode, decoded: DecodedItem): void => {
  const { item, fragments } = decoded;
  const spec = { source, type: item.body.type, time: item.body.time, fragments, mode };
  switch (item.kind) {
    case "measurements":
      addMeasurement(tx, spec);
      return;
    case "events":
      addEvent(tx, { ...spec, text: item.body.text });
      return;
    case "alarms":
      return raiseAlarm(tx, {
        ...spec,
        severity: item.body.severity,
        text: item.body.text,
        ...(item.body.status === undefined ? {} : { status: item.body.status }),
      });
  }
};

const createData = (
  tx: Tx,
  session: Session,
  topic: JsonTopic & { readonly resource: DataResource },
  body: Json,
): E.Either<JsonError, void> => {
  const root = rootOf(tx, session);
  if (E.isLeft(root)) return root;
  const decoded =
    topic.action === "createBulk"
      ? decodeBulk(topic.resource, body)
      : E.map((d: DecodedItem) => [d])(decodeItem(topic.resource, body));
  if (E.isLeft(decoded)) return decoded;
  // Resolve every source first, so a bulk is stored completely or not at all.
  const targets: { readonly source: ManagedObject; readonly item: DecodedItem }[] = [];
  for (const item of decoded.right) {
    const source = sourceOf(tx, root.right, item.item);
    if (E.isLeft(source)) return source;
    targets.push({ source: source.right, item });
  }
  for (const { source, item } of targets) {
    store(tx, source, topic.mode, item);
    heartbeat(tx, source);
  }
  return E.right(undefined);
};

/** Managed-object members a device cannot write. */
const READ_ONLY: ReadonlySet<string> = new Set([
  "id",
  "self",
  "owner",
  "creationTime",
  "lastUpdated",
  "childDevices",
  "childAssets",
  "childAdditions",
  "deviceParents",
  "assetParents",
  "additionParents",
]);

const updateInventory = (tx: Tx, session: Session, id: string, body: Json): E.Either<JsonError, void> => {
  const root = rootOf(tx, session);
  if (E.isLeft(root)) return root;
  if (!isJsonObject(body)) return E.left(validation("The body must be a JSON object"));
  const byInternal = managedObject(tx.s, id);
  const target =
    byExternalId(tx.s, id) ??
    (byInternal !== undefined && isWithin(tx.s, root.right.id, id) ? byInternal : undefined);
  if (target === undefined || !isWithin(tx.s, root.right.id, target.id))
    return E.left(
      notFound("inventory", `Managed object ${id} not found in the tree of ${root.right.externalId}`),
    );
  for (const key of ["name", "type"]) {
    const value = lookup(body, key);
    if (value !== undefined && typeof value !== "string")
      return E.left(validation(`${key}: expected a string, got ${JSON.stringify(value)}`));
  }
  const name = lookup(body, "name");
  const type = lookup(body, "type");
  const fragments = Object.keys(body)
    .filter((k) => k !== "name" && k !== "type" && !READ_ONLY.has(k))
    .reduce<JsonObject>((acc, k) => {
      const value = lookup(body, k) ?? null;
      return value === null ? dissoc(acc, k) : assoc(acc, k, value);
    }, target.fragments);
  putManagedObject(tx, {
    ...target,
    ...(typeof name === "string" ? { name } : {}),
    ...(typeof type === "string" ? { type } : {}),
    fragments,
    lastUpdatedMs: tx.now,
  });
  heartbeat(tx, target);
  return E.right(undefined);
};

const notSupported = (topic: JsonTopic, text: string): E.Either<JsonError, void> =>
  E.left({
    status: 405,
    error: "undefined/notSupported",
    message: `${topic.resource} ${topic.action}${topic.resourceId === undefined ? "" : `/${topic.resourceId}`}: ${text}`,
  });

const apply = (tx: Tx, session: Session, topic: JsonTopic, body: Json): E.Either<JsonError, void> => {
  if (topic.unusual) return notSupported(topic, "not modelled by the simulated tenant");
  const { resource, action } = topic;
  switch (resource) {
    case "measurements":
    case "events":
    case "alarms":
      if ((action === "create" || action === "createBulk") && topic.resourceId === undefined)
        return createData(tx, session, { ...topic, resource }, body);
      return notSupported(topic, "not modelled by the simulated tenant (only create and createBulk)");
    case "managedObjects":
      if (action === "update" && topic.resourceId !== undefined && topic.resourceId !== "")
        return updateInventory(tx, session, topic.resourceId, body);
      return notSupported(topic, "not modelled by the simulated tenant (only update/<id>)");
  }
};

/** A publish on a JSON via MQTT topic from a device session (already size- and QoS-checked). */
export const handleJsonPublish = (tx: Tx, session: Session, input: ClientPublish, topic: JsonTopic): void => {
  let body: Json = null;
  if (input.payload.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(input.payload) as unknown;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return reportJsonError(tx, session, input, {
        status: 400,
        error: "undefined/badRequest",
        message: `The body is not JSON: ${reason}`,
      });
    }
    body = toJson(parsed) ?? null;
  }
  const result = apply(tx, session, topic, body);
  if (E.isLeft(result)) reportJsonError(tx, session, input, result.left);
};
