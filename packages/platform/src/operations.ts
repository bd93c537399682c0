/**
 * Operations (spec §4.5, §4.7, §4.8, §7): creation by an admin, delivery to the owning agent
 * (static templates on `s/ds`, response templates on `s/dc/<X-ID>`, JSON on
 * `devicecontrol/notifications` — see notifications.ts), re-delivery on 500, and the status
 * templates 501–507 with their side effects.
 *
 * Decisions:
 * - An operation is delivered to the nearest agent at or above its device, and only to that
 *   agent's live session; a disconnected agent gets it on its next `500` (spec §7.2 evidence:
 *   pending operations are not pushed on reconnect).
 * - Static rendering: every fragment with a static template produces its line (c8y_Firmware with
 *   `isPatch` → 525; c8y_SoftwareUpdate → 529 when the device declares
 *   c8y_SupportedSoftwareTypes, else 528; c8y_DeviceProfile → 527, plus 531 when any software
 *   item has a `softwareType`; c8y_UploadConfigFile / c8y_DownloadConfigFile with `type` → 526 /
 *   524; c8y_ParameterUpdate → 532 with the leaves of each fragment F that has a
 *   `c8y_ParameterUpdate_F` marker, typed `b`/`n`/`s`). A fragment whose content does not fit its
 *   template (checked with the core codec's `is`) is not rendered. Operations with no static
 *   and no response template are stored but not pushed (spec gap 12).
 * - 501–503 act on the oldest operation of that fragment in the preceding state, 504–506 on the
 *   operation with that id, whatever its fragments and however it was delivered (static line,
 *   response template, JSON or not at all); both only for the device the topic addresses
 *   (spec §4.5: the operation must have the caller as source), so a child's operation is
 *   reported on `s/us/<child>`. An id of an operation outside the client's device tree reads as
 *   unknown (`Operation <id> not found`); one of another device inside the tree names the
 *   topic to use. 507 fails the
 *   addressed device's EXECUTING operations (of the fragment, if given).
 * - 503/506 parameters: §4.7's side effects, plus `c8y_UploadConfigFile.file` = the first
 *   parameter (the snapshot's event binary URL; a spec gap, modelled like `c8y_LogfileRequest`).
 * - Nothing to act on (no such PENDING/EXECUTING operation, unknown id, id of another device,
 *   or an operation already final) → `41,<template id>,<text>` on `s/e`. 41 rather than 45:
 *   the row itself is well-formed, the state does not match, and 45 stays reserved for rows
 *   that do not fit their template. Repeating the transition that already happened (504 on
 *   EXECUTING, 505 on FAILED, 506 on SUCCESSFUL — a QoS 1 redelivery) is a silent no-op.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  encodeOperation,
  OPERATION_CODECS,
  TOPIC_STATIC_DOWN,
  type Operation,
  type OperationTemplateId,
  type Row,
  type UpstreamMessage,
} from "@c8ylink/core";
import { ErrorCode, reportError, rowError } from "./errors.js";
import { agentOf, byExternalId, isWithin, managedObject, type RowContext, setFragment } from "./inventory.js";
import { assoc, isJsonObject, type Json, type JsonObject, lookup, toJson } from "./json.js";
import type {
  AdminCreateOperation,
  ManagedObject,
  OperationStatus,
  PlatformState,
  Session,
  StoredOperation,
} from "./model.js";
import { responseRows } from "./responses.js";
import { notifyOperation } from "./notifications.js";
import { isoFromMs } from "./time.js";
import { deliverRow, emit, liveSession, newId, type Tx } from "./tx.js";

// ---------------------------------------------------------------------------------------------
// Rendering to static lines

/** Text fields: strings as is, numbers and booleans spelled out, anything else empty. */
const str = (u: Json | undefined): string =>
  typeof u === "string" ? u : typeof u === "number" || typeof u === "boolean" ? String(u) : "";

/** Numeric fields: numbers as is, numeric strings converted (anything else fails the codec). */
const num = (u: Json | undefined): unknown => (typeof u === "string" && u.trim() !== "" ? Number(u) : u);

const objects = (u: Json | undefined): JsonObject[] =>
  Array.isArray(u) ? (u as readonly Json[]).filter(isJsonObject) : [];

const field = (o: Json | undefined, key: string): Json | undefined =>
  isJsonObject(o) ? lookup(o, key) : undefined;

const softwareChange = (i: JsonObject) => ({
  name: str(lookup(i, "name")),
  version: str(lookup(i, "version")),
  url: str(lookup(i, "url")),
  action: lookup(i, "action"),
});
const typedSoftwareChange = (i: JsonObject) => ({
  ...softwareChange(i),
  softwareType: str(lookup(i, "softwareType")),
});

const profile = (f: Json, typed: boolean) => {
  const fw = field(f, "firmware");
  const firmware = isJsonObject(fw)
    ? {
        firmware: {
          name: str(lookup(fw, "name")),
          version: str(lookup(fw, "version")),
          url: str(lookup(fw, "url")),
          isPatch: lookup(fw, "isPatch") === true,
          dependency: str(lookup(fw, "dependency")),
        },
      }
    : {};
  return {
    ...firmware,
    software: objects(field(f, "software")).map(typed ? typedSoftwareChange : softwareChange),
    configuration: objects(field(f, "configuration")).map((c) => ({
      url: str(lookup(c, "url")),
      type: str(lookup(c, "type")),
    })),
  };
};

/** 532's parameters: the leaves of `value`, as `path, type, value` (`b` Boolean, `n` Number, `s` otherwise). */
const parameterLeaves = (prefix: string, value: Json): { path: string; type: string; value: string }[] => {
  if (isJsonObject(value))
    return Object.keys(value).flatMap((k) => parameterLeaves(`${prefix}.${k}`, lookup(value, k) ?? null));
  const type = typeof value === "boolean" ? "b" : typeof value === "number" ? "n" : "s";
  return [{ path: prefix, type, value: str(value) }];
};

type Rendering = readonly [OperationTemplateId, Record<string, unknown>];

/**
 * Static templates per operation fragment, in template order: given the fragment's value (and
 * the operation and target device for the cross-fragment cases), the templates it maps to and
 * their payloads, before validation.
 */
const RENDERERS: Readonly<
  Record<
    string,
    (value: Json, op: StoredOperation, device: ManagedObject | undefined) => readonly Rendering[]
  >
> = {
  c8y_Restart: () => [["510", {}]],
  c8y_Command: (v) => [["511", { text: str(field(v, "text")) }]],
  c8y_Configuration: (v) => [["513", { config: str(field(v, "config")) }]],
  c8y_Firmware: (v) => {
    const common = {
      name: str(field(v, "name")),
      version: str(field(v, "version")),
      url: str(field(v, "url")),
    };
    return field(v, "isPatch") === true
      ? [["525", { ...common, dependency: str(field(v, "dependency")), isPatch: true }]]
      : [["515", { ...common, isPatch: false }]];
  },
  c8y_SoftwareList: (v) => [
    [
      "516",
      {
        software: objects(v).map((i) => ({
          name: str(lookup(i, "name")),
          version: str(lookup(i, "version")),
          url: str(lookup(i, "url")),
        })),
      },
    ],
  ],
  c8y_MeasurementRequestOperation: (v) => [["517", { requestName: str(field(v, "requestName")) }]],
  c8y_Relay: (v) => [["518", { relayState: field(v, "relayState") }]],
  c8y_RelayArray: (v) => [["519", { relayStates: v }]],
  c8y_UploadConfigFile: (v) => {
    const type = field(v, "type");
    return [type === undefined ? ["520", {}] : ["526", { type: str(type) }]];
  },
  c8y_DownloadConfigFile: (v) => {
    const type = field(v, "type");
    const url = str(field(v, "url"));
    return [type === undefined ? ["521", { url }] : ["524", { url, type: str(type) }]];
  },
  c8y_LogfileRequest: (v) => [
    [
      "522",
      {
        logFile: str(field(v, "logFile")),
        dateFrom: str(field(v, "dateFrom")),
        dateTo: str(field(v, "dateTo")),
        searchText: str(field(v, "searchText")),
        maximumLines: num(field(v, "maximumLines")),
      },
    ],
  ],
  c8y_CommunicationMode: (v) => [["523", { mode: field(v, "mode") }]],
  c8y_DeviceProfile: (v) => {
    const typed = objects(field(v, "software")).some((i) => lookup(i, "softwareType") !== undefined);
    return typed
      ? [
          ["527", profile(v, false)],
          ["531", profile(v, true)],
        ]
      : [["527", profile(v, false)]];
  },
  c8y_SoftwareUpdate: (v, _op, device) => {
    const advanced =
      device !== undefined && lookup(device.fragments, "c8y_SupportedSoftwareTypes") !== undefined;
    return [
      advanced
        ? ["529", { software: objects(v).map(typedSoftwareChange) }]
        : ["528", { software: objects(v).map(softwareChange) }],
    ];
  },
  c8y_RemoteAccessConnect: (v) => [
    [
      "530",
      {
        hostname: str(field(v, "hostname")),
        port: num(field(v, "port")),
        connectionKey: str(field(v, "connectionKey")),
      },
    ],
  ],
  c8y_ParameterUpdate: (_v, op) => {
    const marker = "c8y_ParameterUpdate_";
    const parameters = Object.keys(op.fragments)
      .filter((k) => k.startsWith(marker) && k.length > marker.length)
      .flatMap((k) => {
        const name = k.slice(marker.length);
        const value = lookup(op.fragments, name);
        return value === undefined ? [] : parameterLeaves(name, value);
      });
    return [["532", { parameters }]];
  },
};

/** The `s/ds` lines of `op` (empty when no fragment has a static template it fits). */
export const staticRows = (s: PlatformState, op: StoredOperation): Row[] =>
  Object.entries(RENDERERS).flatMap(([fragment, render]) => {
    const value = lookup(op.fragments, fragment);
    if (value === undefined) return [];
    return render(value, op, managedObject(s, op.deviceId)).flatMap(([template, payload]) =>
      validRow(template, { template, fragment, deviceId: op.externalId, ...payload }),
    );
  });

/** The operation's row if it fits its template exactly. `is` checks every field, so
 * `encodeOperation` only ever sees well-typed operations. */
const validRow = (template: OperationTemplateId, operation: unknown): Row[] => {
  const fits = OPERATION_CODECS[template].is as (u: unknown) => u is Operation;
  return fits(operation) ? [encodeOperation(operation)] : [];
};

/** The operation as response templates see it (pattern `deviceId` = internal id, spec §6.3). */
export const operationJson = (op: StoredOperation): JsonObject => {
  const head: JsonObject = {
    id: op.id,
    deviceId: op.deviceId,
    status: op.status,
    description: op.description,
    creationTime: isoFromMs(op.creationMs),
  };
  return Object.keys(op.fragments).reduce<JsonObject>(
    (acc, k) => assoc(acc, k, lookup(op.fragments, k) ?? null),
    head,
  );
};

// ---------------------------------------------------------------------------------------------
// Delivery

/** Sends `op` to the live session of its agent: static lines, custom response lines and JSON. */
export const pushOperation = (tx: Tx, op: StoredOperation, session?: Session): void => {
  const agent = managedObject(tx.s, op.agentId);
  const target = session ?? (agent === undefined ? undefined : liveSession(tx.s, agent.externalId));
  if (target === undefined) return;
  for (const row of staticRows(tx.s, op)) deliverRow(tx, target, TOPIC_STATIC_DOWN, row);
  const json = operationJson(op);
  for (const topic of Object.keys(target.subscriptions)) {
    // `s/dd` is the default collection of the ClientId (`d:<id>:<X-ID>`, spec §6.1).
    const xid = topic === "s/dd" ? target.defaultXid : topic.startsWith("s/dc/") ? topic.slice(5) : undefined;
    if (xid === undefined) continue;
    const collection = lookup(tx.s.collections, xid);
    if (collection === undefined) continue;
    for (const row of responseRows(collection.responses, json, op.externalId))
      deliverRow(tx, target, topic, row);
  }
  notifyOperation(tx, target, op);
};

export const createOperation = (tx: Tx, input: AdminCreateOperation): void => {
  const device = typeof input.deviceId === "string" ? byExternalId(tx.s, input.deviceId) : undefined;
  if (device === undefined) {
    emit(tx, { type: "admin-result", ok: false, detail: `unknown device ${String(input.deviceId)}` });
    return;
  }
  const fragments = toJson(input.fragments);
  if (!isJsonObject(fragments) || Object.keys(fragments).length === 0) {
    emit(tx, { type: "admin-result", ok: false, detail: "an operation needs at least one fragment" });
    return;
  }
  const op: StoredOperation = {
    id: newId(tx),
    deviceId: device.id,
    externalId: device.externalId,
    agentId: agentOf(tx.s, device).id,
    status: "PENDING",
    description: typeof input.description === "string" ? input.description : "",
    fragments,
    creationMs: tx.now,
    history: [{ status: "PENDING", atMs: tx.now, cause: "admin-create-operation" }],
    notifications: 0,
  };
  tx.s = { ...tx.s, operations: [...tx.s.operations, op] };
  emit(tx, { type: "admin-result", ok: true, detail: `operation ${op.id} created`, operationId: op.id });
  pushOperation(tx, op);
};

// ---------------------------------------------------------------------------------------------
// Status templates 500–507

const FINAL: readonly OperationStatus[] = ["SUCCESSFUL", "FAILED"];

const transition = (
  tx: Tx,
  op: StoredOperation,
  status: OperationStatus,
  cause: string,
  patch: { readonly fragments?: JsonObject; readonly failureReason?: string | undefined } = {},
): void => {
  const { failureReason, ...rest } = patch;
  const updated: StoredOperation = {
    ...op,
    ...rest,
    ...(failureReason === undefined ? {} : { failureReason }),
    status,
    history: [...op.history, { status, atMs: tx.now, cause }],
  };
  tx.s = { ...tx.s, operations: tx.s.operations.map((o) => (o.id === op.id ? updated : o)) };
};

/** Side effects of SUCCESSFUL with parameters (spec §4.7); returns the operation's new fragments. */
const successEffects = (tx: Tx, op: StoredOperation, params: readonly string[]): JsonObject => {
  let fragments = op.fragments;
  const device = () => managedObject(tx.s, op.deviceId);
  const fragment = (name: string) => lookup(fragments, name);
  const withMember = (name: string, key: string, value: Json) => {
    const current = fragment(name);
    fragments = assoc(fragments, name, assoc(isJsonObject(current) ? current : {}, key, value));
  };
  if (fragment("c8y_Command") !== undefined && params.length > 0)
    withMember("c8y_Command", "result", params.join(","));
  if (fragment("c8y_LogfileRequest") !== undefined && params[0] !== undefined)
    withMember("c8y_LogfileRequest", "file", params[0]);
  // Not in the spec's table (§4.7): devices (thin-edge) report the uploaded snapshot's event
  // binary URL as 503's parameter; kept like the log file's, so a test can read it back.
  if (fragment("c8y_UploadConfigFile") !== undefined && params[0] !== undefined)
    withMember("c8y_UploadConfigFile", "file", params[0]);
  const target = device();
  if (target === undefined) return fragments;
  if (fragment("c8y_RelayArray") !== undefined && params.length > 0)
    setFragment(tx, target, "c8y_RelayArray", [...params]);
  if (fragment("c8y_CommunicationMode") !== undefined)
    setFragment(tx, device() ?? target, "c8y_CommunicationMode", {
      mode: field(fragment("c8y_CommunicationMode"), "mode") ?? null,
    });
  if (fragment("c8y_DownloadConfigFile") !== undefined) {
    const dumpId = field(field(fragment("c8y_DownloadConfigFile"), "c8y_ConfigurationDump"), "id") ?? null;
    setFragment(tx, device() ?? target, "c8y_ConfigurationDump", {
      id: dumpId,
      time: params[0] ?? isoFromMs(tx.now),
    });
  }
  return fragments;
};

const complete = (
  tx: Tx,
  ctx: RowContext,
  op: StoredOperation,
  status: "SUCCESSFUL" | "FAILED",
  extra: readonly string[],
  reason?: string,
) =>
  status === "SUCCESSFUL"
    ? transition(tx, op, status, ctx.line, { fragments: successEffects(tx, op, extra) })
    : transition(tx, op, status, ctx.line, { failureReason: reason });

const oldest = (s: PlatformState, deviceId: string, fragment: string, status: OperationStatus) =>
  s.operations.find(
    (o) => o.deviceId === deviceId && o.status === status && Object.hasOwn(o.fragments, fragment),
  );

type ByIdCheck = E.Either<string, StoredOperation | "already-done">;

/** The addressed device's operation `id`, if it may move to `status` (see header). */
const byId = (s: PlatformState, ctx: RowContext, id: string, status: OperationStatus): ByIdCheck => {
  const op = s.operations.find((o) => o.id === id);
  // The session's own device tree; anything outside it is not revealed.
  const root = s.identities.get(ctx.session.deviceId) ?? ctx.target.id;
  if (op === undefined || !isWithin(s, root, op.deviceId)) return E.left(`Operation ${id} not found`);
  if (op.deviceId !== ctx.target.id)
    return E.left(`Operation ${id} is for device ${op.externalId}: report it on s/us/${op.externalId}`);
  if (op.status === status) return E.right("already-done");
  if (FINAL.includes(op.status)) return E.left(`Operation ${id} is already ${op.status}`);
  if (status === "EXECUTING" && op.status !== "PENDING") return E.left(`Operation ${id} is ${op.status}`);
  return E.right(op);
};

/** A PUT OPERATION request (custom templates, spec §6.2). */
export interface OperationUpdate {
  readonly deviceId: string;
  readonly fragment: string;
  readonly status: OperationStatus | undefined;
  readonly failureReason: string | undefined;
  readonly fragments: (current: JsonObject) => JsonObject;
  readonly cause: string;
}

/**
 * Updates the oldest EXECUTING, else PENDING, operation with `fragment` of the device. Left: no
 * such operation, or a status it cannot move to.
 */
export const updateOperationByFragment = (
  tx: Tx,
  update: OperationUpdate,
): E.Either<string, StoredOperation> => {
  const { deviceId, fragment, status } = update;
  const op = oldest(tx.s, deviceId, fragment, "EXECUTING") ?? oldest(tx.s, deviceId, fragment, "PENDING");
  if (op === undefined) return E.left(`No EXECUTING or PENDING operation with fragment ${fragment}`);
  const fragments = update.fragments(op.fragments);
  if (status === undefined || status === op.status) {
    const updated = { ...op, fragments };
    tx.s = { ...tx.s, operations: tx.s.operations.map((o) => (o.id === op.id ? updated : o)) };
    return E.right(updated);
  }
  if (status === "PENDING") return E.left(`Operation ${op.id} cannot go back to PENDING`);
  transition(tx, op, status, update.cause, { fragments, failureReason: update.failureReason });
  return E.right(tx.s.operations.find((o) => o.id === op.id) ?? op);
};

/** Handles 500–507. Returns false when `message` is none of them. */
export const applyOperationStatus = (tx: Tx, ctx: RowContext, message: UpstreamMessage): boolean => {
  const { target } = ctx;
  const fail = (text: string) =>
    reportError(tx, ctx.session, ctx.topic, rowError(ErrorCode.templateError, message.template, text));
  const missing = (status: OperationStatus, fragment: string) =>
    fail(`No ${status} operation with fragment ${fragment} for device ${target.externalId}`);
  const withId = (id: string, status: OperationStatus, apply: (op: StoredOperation) => void) => {
    const found = byId(tx.s, ctx, id, status);
    if (E.isLeft(found)) fail(found.left);
    else if (found.right !== "already-done") apply(found.right);
  };
  switch (message.template) {
    case "500": {
      const agent = agentOf(tx.s, target);
      for (const op of tx.s.operations)
        if (op.status === "PENDING" && op.agentId === agent.id) pushOperation(tx, op, ctx.session);
      return true;
    }
    case "501": {
      const op = oldest(tx.s, target.id, message.fragment, "PENDING");
      if (op === undefined) missing("PENDING", message.fragment);
      else transition(tx, op, "EXECUTING", ctx.line);
      return true;
    }
    case "502": {
      const op = oldest(tx.s, target.id, message.fragment, "EXECUTING");
      if (op === undefined) missing("EXECUTING", message.fragment);
      else complete(tx, ctx, op, "FAILED", [], message.reason);
      return true;
    }
    case "503": {
      const op = oldest(tx.s, target.id, message.fragment, "EXECUTING");
      if (op === undefined) missing("EXECUTING", message.fragment);
      else complete(tx, ctx, op, "SUCCESSFUL", message.parameters ?? []);
      return true;
    }
    case "504":
      withId(message.operationId, "EXECUTING", (op) => transition(tx, op, "EXECUTING", ctx.line));
      return true;
    case "505":
      withId(message.operationId, "FAILED", (op) => complete(tx, ctx, op, "FAILED", [], message.reason));
      return true;
    case "506":
      withId(message.operationId, "SUCCESSFUL", (op) =>
        complete(tx, ctx, op, "SUCCESSFUL", message.parameters ?? []),
      );
      return true;
    case "507": {
      const { fragment, reason } = message;
      const executing = tx.s.operations.filter(
        (o) =>
          o.deviceId === target.id &&
          o.status === "EXECUTING" &&
          (fragment === undefined || Object.hasOwn(o.fragments, fragment)),
      );
      for (const op of executing) complete(tx, ctx, op, "FAILED", [], reason);
      return true;
    }
    default:
      return false;
  }
};
