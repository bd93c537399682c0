/**
 * INVENTORY request templates of SmartREST 2.0 collections (spec §6.2): GET, POST and PUT.
 *
 * Arguments of a publish (spec §6.2's examples), after the message id:
 * - GET / PUT with `byId = true`: `<internal id>`, then (PUT) the empty custom values.
 * - GET / PUT with `byId = false`: `<external id>` when the template fixes `externalIdType`,
 *   else `<type>,<external id>`; then (PUT) the empty custom values.
 * - POST: `<external id>` when the template fixes `externalIdType`, else `<external id>,<type>`
 *   (value first, spec §6.2); then the empty custom values. An empty external id creates no
 *   external id.
 *
 * Decisions:
 * - External ids of type `c8y_Serial` are the model's device identities; other types are kept
 *   as `<type>:<value>` (device identifiers cannot contain `:`, spec §1.3), which is also the
 *   object's `externalId` in the admin views.
 * - A session sees the objects of its device tree and the objects its user created (owner);
 *   others answer like unknown ones: `41,<msgId>,Managed object … not found`.
 * - Custom values `name` and `type` set the object's name and type; other paths are
 *   fragments. POST creates a plain managed object (no `c8y_IsDevice` unless a FLAG adds it),
 *   owned by the session's user, without a parent.
 * - The result (for response templates) is the object as JSON: `id`, `name`, `type`, `owner`
 *   and its fragments.
 */
import * as E from "fp-ts/lib/Either.js";
import { ErrorCode, rowError, type RowError } from "./errors.js";
import { byExternalId, createManagedObject, isWithin, managedObject, putManagedObject } from "./inventory.js";
import { type Json, type JsonObject, setPath } from "./json.js";
import type { ManagedObject, RequestTemplate, Session } from "./model.js";
import type { Tx } from "./tx.js";

const SERIAL = "c8y_Serial";

/** The identity key of an external id (see header). */
export const identityKey = (type: string, value: string): string =>
  type === SERIAL ? value : `${type}:${value}`;

/** A managed object as the JSON response templates read. */
export const managedObjectJson = (mo: ManagedObject): Json => ({
  ...mo.fragments,
  id: mo.id,
  name: mo.name,
  type: mo.type,
  owner: mo.owner,
});

/** The typed custom values of a request, filled in by the caller (custom.ts). */
export interface CustomValue {
  readonly path: readonly string[];
  readonly value: Json;
}

export type FillCustom = (supplied: readonly string[]) => E.Either<string, readonly CustomValue[]>;

const visible = (tx: Tx, session: Session, mo: ManagedObject): boolean => {
  const root = byExternalId(tx.s, session.deviceId);
  return mo.owner === session.username || (root !== undefined && isWithin(tx.s, root.id, mo.id));
};

const withValues = (mo: ManagedObject, values: readonly CustomValue[]): ManagedObject =>
  values.reduce<ManagedObject>((acc, { path, value }) => {
    const key = path.join(".");
    if (key === "name" && typeof value === "string") return { ...acc, name: value };
    if (key === "type" && typeof value === "string") return { ...acc, type: value };
    return { ...acc, fragments: setPath(acc.fragments, path, value) as JsonObject };
  }, mo);

/** Applies one INVENTORY request; Right carries the object's JSON. */
export const executeInventory = (
  tx: Tx,
  session: Session,
  template: RequestTemplate,
  supplied: readonly string[],
  fillCustom: FillCustom,
): E.Either<RowError, Json | undefined> => {
  const fail = (code: number, text: string) => E.left(rowError(code, template.msgId, text));
  const fixed = (name: string) => template.mandatory.find((v) => v.path === name)?.value ?? "";
  const fixedType = fixed("externalIdType");

  if (template.method === "POST") {
    const [value = "", ...afterValue] = supplied;
    const type = fixedType !== "" ? fixedType : (afterValue[0] ?? "");
    const rest = fixedType !== "" ? afterValue : afterValue.slice(1);
    if (value !== "" && type === "")
      return fail(ErrorCode.invalidArguments, "Missing mandatory value: externalIdType");
    const custom = fillCustom(rest);
    if (E.isLeft(custom)) return fail(ErrorCode.invalidArguments, custom.left);
    const key = value === "" ? "" : identityKey(type, value);
    if (key !== "" && tx.s.identities.get(key) !== undefined)
      return fail(ErrorCode.templateError, `External id ${type}/${value} already exists`);
    const created = createManagedObject(tx, {
      externalId: key,
      name: "",
      type: "",
      kind: "device",
      parentId: null,
      fragments: {},
      owner: session.username,
    });
    if (key === "") tx.s = { ...tx.s, identities: tx.s.identities.delete("") };
    const mo = withValues(created, custom.right);
    putManagedObject(tx, mo);
    return E.right(managedObjectJson(mo));
  }

  // GET / PUT
  const byId = fixed("byId");
  if (byId !== "true" && byId !== "false")
    return fail(ErrorCode.templateError, `byId must be true or false, not "${byId}"`);
  let id: string | undefined;
  let rest: readonly string[];
  let what: string;
  if (byId === "true") {
    what = supplied[0] ?? "";
    id = managedObject(tx.s, what)?.id;
    rest = supplied.slice(1);
  } else {
    const type = fixedType !== "" ? fixedType : (supplied[0] ?? "");
    const value = (fixedType !== "" ? supplied[0] : supplied[1]) ?? "";
    rest = supplied.slice(fixedType !== "" ? 1 : 2);
    what = `${type}/${value}`;
    id = tx.s.identities.get(identityKey(type, value));
  }
  const mo = id === undefined ? undefined : managedObject(tx.s, id);
  if (mo === undefined || !visible(tx, session, mo))
    return fail(ErrorCode.templateError, `Managed object ${what} not found`);
  if (template.method === "GET") return E.right(managedObjectJson(mo));
  const custom = fillCustom(rest);
  if (E.isLeft(custom)) return fail(ErrorCode.invalidArguments, custom.left);
  const updated = { ...withValues(mo, custom.right), lastUpdatedMs: tx.now };
  putManagedObject(tx, updated);
  return E.right(managedObjectJson(updated));
};
