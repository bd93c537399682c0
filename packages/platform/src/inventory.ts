/**
 * Inventory: managed objects, their `c8y_Serial` identities and hierarchy, and the inventory
 * templates 100–150 (spec §4.1, §2.3).
 *
 * Decisions:
 * - Devices created over SmartREST get `c8y_IsDevice` and the agent marker
 *   `com_cumulocity_model_Agent` (FRAG-device-info); children get `c8y_IsDevice` only (unless
 *   101's marker field is `false`), so their operations are routed to the nearest agent above.
 * - A publish's target is the ClientId's device (`s/us`) or the external id named by the topic
 *   (`s/us/<xid>`). An unknown root is created on its first valid row (with 100's name/type when
 *   that row is 100); an unknown `<xid>` becomes a first-level child of the root; a known `<xid>`
 *   is accepted at any depth but only inside the session's own device tree.
 * - 101/102 for an external id that already exists do not move it: 101 is a no-op, 102 updates
 *   the service's name, type and status (agents re-send 102 to report status).
 * - Fragments written by 110/111/115/… replace the whole fragment and contain only the fields
 *   that were sent (an empty field means "not set").
 */
import * as E from "fp-ts/lib/Either.js";
import { DOWNSTREAM_CODECS, TOPIC_STATIC_DOWN, type UpstreamMessage, type UpstreamOf } from "@c8ylink/core";
import { assoc, definedOnly, dissoc, type Json, type JsonObject, lookup } from "./json.js";
import type { ManagedObject, PlatformState, ProcessingMode, Session } from "./model.js";
import { isoFromMs } from "./time.js";
import { deliverRow, newId, type Tx } from "./tx.js";

export const AGENT_MARKER = "com_cumulocity_model_Agent";
export const DEVICE_MARKER = "c8y_IsDevice";

// ---------------------------------------------------------------------------------------------
// Lookup

export const managedObject = (s: PlatformState, id: string): ManagedObject | undefined =>
  s.managedObjects.get(id);

/** Every managed object in id order (= creation order: ids come from one counter). */
export const managedObjectsInOrder = (s: PlatformState): ManagedObject[] => s.managedObjects.values();

export const byExternalId = (s: PlatformState, externalId: string): ManagedObject | undefined => {
  const id = s.identities.get(externalId);
  return id === undefined ? undefined : managedObject(s, id);
};

/** Ancestors of `id`, nearest first (cycle-safe). */
export const ancestors = (s: PlatformState, id: string): ManagedObject[] => {
  const out: ManagedObject[] = [];
  const seen = new Set<string>([id]);
  for (let mo = managedObject(s, id); mo?.parentId != null && !seen.has(mo.parentId);) {
    seen.add(mo.parentId);
    mo = managedObject(s, mo.parentId);
    if (mo !== undefined) out.push(mo);
  }
  return out;
};

export const isWithin = (s: PlatformState, rootId: string, id: string): boolean =>
  id === rootId || ancestors(s, id).some((mo) => mo.id === rootId);

/** `id` and everything below it (children and additions), parents first. */
export const subtree = (s: PlatformState, id: string): ManagedObject[] => {
  const out: ManagedObject[] = [];
  const seen = new Set<string>();
  const visit = (moId: string) => {
    const mo = managedObject(s, moId);
    if (mo === undefined || seen.has(moId)) return;
    seen.add(moId);
    out.push(mo);
    [...mo.childDevices, ...mo.childAdditions].forEach(visit);
  };
  visit(id);
  return out;
};

/** Where operations for `mo` are delivered: the nearest ancestor-or-self agent, else the root. */
export const agentOf = (s: PlatformState, mo: ManagedObject): ManagedObject => {
  const chain = [mo, ...ancestors(s, mo.id)];
  return chain.find((m) => lookup(m.fragments, AGENT_MARKER) !== undefined) ?? chain[chain.length - 1] ?? mo;
};

// ---------------------------------------------------------------------------------------------
// Changes

export const putManagedObject = (tx: Tx, mo: ManagedObject): void => {
  tx.s = { ...tx.s, managedObjects: tx.s.managedObjects.set(mo.id, mo) };
};

/** Replaces `mo`'s fragments through `change` (and stamps lastUpdated). */
export const updateFragments = (tx: Tx, mo: ManagedObject, change: (f: JsonObject) => JsonObject): void => {
  const current = managedObject(tx.s, mo.id) ?? mo;
  putManagedObject(tx, { ...current, fragments: change(current.fragments), lastUpdatedMs: tx.now });
};

export const setFragment = (tx: Tx, mo: ManagedObject, name: string, value: Json): void =>
  updateFragments(tx, mo, (f) => assoc(f, name, value));

export const removeFragments = (tx: Tx, mo: ManagedObject, names: readonly string[]): void =>
  updateFragments(tx, mo, (f) => names.reduce<JsonObject>((acc, name) => dissoc(acc, name), f));

interface NewObject {
  readonly externalId: string;
  readonly name: string;
  readonly type: string;
  readonly kind: ManagedObject["kind"];
  readonly parentId: string | null;
  readonly fragments: JsonObject;
  readonly owner: string;
}

export const createManagedObject = (tx: Tx, spec: NewObject): ManagedObject => {
  const mo: ManagedObject = {
    id: newId(tx),
    ...spec,
    childDevices: [],
    childAdditions: [],
    creationMs: tx.now,
    lastUpdatedMs: tx.now,
  };
  putManagedObject(tx, mo);
  tx.s = { ...tx.s, identities: tx.s.identities.set(spec.externalId, mo.id) };
  const parent = spec.parentId === null ? undefined : managedObject(tx.s, spec.parentId);
  if (parent !== undefined) {
    putManagedObject(
      tx,
      spec.kind === "service"
        ? { ...parent, childAdditions: [...parent.childAdditions, mo.id] }
        : { ...parent, childDevices: [...parent.childDevices, mo.id] },
    );
  }
  return mo;
};

const defaultName = (externalId: string) => `MQTT Device ${externalId}`;

/** The session's root device, created with `name`/`type` (100's fields) when absent. */
export const ensureRoot = (tx: Tx, session: Session, name?: string, type?: string): ManagedObject =>
  byExternalId(tx.s, session.deviceId) ??
  createManagedObject(tx, {
    externalId: session.deviceId,
    name: name ?? defaultName(session.deviceId),
    type: type ?? "c8y_MQTTDevice",
    kind: "device",
    parentId: null,
    fragments: { [DEVICE_MARKER]: {}, [AGENT_MARKER]: {} },
    owner: session.username,
  });

const createChild = (
  tx: Tx,
  parent: ManagedObject,
  externalId: string,
  owner: string,
  name?: string,
  type?: string,
  isDevice = true,
): ManagedObject =>
  createManagedObject(tx, {
    externalId,
    name: name ?? defaultName(externalId),
    type: type ?? "c8y_MQTTChildDevice",
    kind: "device",
    parentId: parent.id,
    fragments: isDevice ? { [DEVICE_MARKER]: {} } : {},
    owner,
  });

/**
 * The device a row is about (see header), given the session's `root` (created on demand).
 * Left: the topic names an object outside the session's tree.
 */
export const resolveTarget = (
  tx: Tx,
  session: Session,
  child: string | undefined,
  root: ManagedObject = ensureRoot(tx, session),
): E.Either<string, ManagedObject> => {
  if (child === undefined) return E.right(root);
  const existing = byExternalId(tx.s, child);
  if (existing === undefined) return E.right(createChild(tx, root, child, session.username));
  return isWithin(tx.s, root.id, existing.id)
    ? E.right(existing)
    : E.left(`${child} does not belong to device ${session.deviceId}`);
};

// ---------------------------------------------------------------------------------------------
// Templates 100–150

/** The context a row handler works in. */
export interface RowContext {
  readonly session: Session;
  /** Topic of the publish (errors are recorded against it). */
  readonly topic: string;
  readonly target: ManagedObject;
  /** The row as received, re-serialized (recorded as the cause of operation transitions). */
  readonly line: string;
  readonly mode: ProcessingMode;
}

/** List fragments (143, 150): an empty list removes the fragment (spec §4.1). */
const setOrRemoveList = (tx: Tx, mo: ManagedObject, name: string, items: readonly string[]): void =>
  items.length === 0 ? removeFragments(tx, mo, [name]) : setFragment(tx, mo, name, [...items]);

type SoftwareItem = JsonObject & { readonly name?: Json; readonly version?: Json };
const sameSoftware = (a: SoftwareItem, b: { name: string; version: string }) =>
  a.name === b.name && a.version === b.version;
const advancedItem = (i: UpstreamOf<"140">["software"][number]): JsonObject =>
  definedOnly({ name: i.name, version: i.version, softwareType: i.type, url: i.url });
const softwareList = (mo: ManagedObject): SoftwareItem[] => {
  const list = lookup(mo.fragments, "c8y_SoftwareList");
  return Array.isArray(list)
    ? (list as readonly Json[]).filter(
        (i): i is SoftwareItem => typeof i === "object" && i !== null && !Array.isArray(i),
      )
    : [];
};

/** Handles 100–150. Returns false when `message` is not an inventory template. */
export const applyInventory = (tx: Tx, ctx: RowContext, message: UpstreamMessage): boolean => {
  const { target } = ctx;
  const mo = () => managedObject(tx.s, target.id) ?? target;
  switch (message.template) {
    case "100": // created (or found) by resolveTarget
    case "125": // heartbeat: the dispatcher stamps availability for 125 and data rows
      return true;
    case "101":
      if (byExternalId(tx.s, message.childId) === undefined)
        createChild(
          tx,
          mo(),
          message.childId,
          ctx.session.username,
          message.name,
          message.type,
          message.isDevice !== false,
        );
      return true;
    case "102": {
      const service = byExternalId(tx.s, message.externalId);
      const fragments = { serviceType: message.serviceType, status: message.status };
      if (service === undefined) {
        createManagedObject(tx, {
          externalId: message.externalId,
          name: message.name,
          type: "c8y_Service",
          kind: "service",
          parentId: target.id,
          fragments,
          owner: ctx.session.username,
        });
      } else {
        putManagedObject(tx, {
          ...service,
          name: message.name,
          fragments: { ...service.fragments, ...fragments },
          lastUpdatedMs: tx.now,
        });
      }
      return true;
    }
    case "104":
      setFragment(tx, mo(), "status", message.status);
      return true;
    case "105": {
      const children = mo().childDevices.flatMap((id) => managedObject(tx.s, id)?.externalId ?? []);
      deliverRow(
        tx,
        ctx.session,
        TOPIC_STATIC_DOWN,
        DOWNSTREAM_CODECS["106"].encode({ kind: "child-list", children }),
      );
      return true;
    }
    case "107":
      removeFragments(tx, mo(), message.fragments);
      return true;
    case "110":
      setFragment(
        tx,
        mo(),
        "c8y_Hardware",
        definedOnly({ serialNumber: message.serialNumber, model: message.model, revision: message.revision }),
      );
      return true;
    case "111": {
      const { template: _, ...mobile } = message;
      setFragment(tx, mo(), "c8y_Mobile", definedOnly(mobile));
      return true;
    }
    case "112":
      setFragment(
        tx,
        mo(),
        "c8y_Position",
        definedOnly({
          lat: message.latitude,
          lng: message.longitude,
          alt: message.altitude,
          accuracy: message.accuracy,
        }),
      );
      return true;
    case "113":
      setFragment(tx, mo(), "c8y_Configuration", definedOnly({ config: message.configuration }));
      return true;
    case "114":
      setFragment(tx, mo(), "c8y_SupportedOperations", [...message.operations]);
      return true;
    case "115":
      setFragment(
        tx,
        mo(),
        "c8y_Firmware",
        definedOnly({ name: message.name, version: message.version, url: message.url }),
      );
      return true;
    case "116":
      setFragment(
        tx,
        mo(),
        "c8y_SoftwareList",
        message.software.map((i) => definedOnly({ name: i.name, version: i.version, url: i.url })),
      );
      return true;
    case "117":
      // Not overwritten once set (a value set in the UI wins, spec §4.1).
      if (lookup(mo().fragments, "c8y_RequiredAvailability") === undefined && message.interval !== undefined)
        setFragment(tx, mo(), "c8y_RequiredAvailability", { responseInterval: message.interval });
      return true;
    case "118":
      setFragment(tx, mo(), "c8y_SupportedLogs", [...message.logTypes]);
      return true;
    case "119":
      setFragment(tx, mo(), "c8y_SupportedConfigurations", [...message.configTypes]);
      return true;
    case "120":
      setFragment(tx, mo(), `c8y_Configuration_${message.type}`, {
        name: message.fileName ?? message.type,
        time: message.time ?? isoFromMs(tx.now),
        type: message.type,
        url: message.url,
      });
      return true;
    case "121": {
      const profileId = message.profileId ?? executingProfileId(tx.s, target.id);
      setFragment(tx, mo(), "c8y_Profile", definedOnly({ profileExecuted: message.executed, profileId }));
      return true;
    }
    case "122":
      setFragment(
        tx,
        mo(),
        "c8y_Agent",
        definedOnly({
          name: message.name,
          version: message.version,
          url: message.url,
          maintainer: message.maintainer,
        }),
      );
      return true;
    case "123":
      deliverRow(
        tx,
        ctx.session,
        TOPIC_STATIC_DOWN,
        DOWNSTREAM_CODECS["124"].encode({ kind: "managed-object-id", id: target.id }),
      );
      return true;
    case "140":
      setFragment(tx, mo(), "c8y_SoftwareList", message.software.map(advancedItem));
      return true;
    case "141": {
      const added = message.software.map(advancedItem);
      const kept = softwareList(mo()).filter((i) => !message.software.some((n) => sameSoftware(i, n)));
      setFragment(tx, mo(), "c8y_SoftwareList", [...kept, ...added]);
      return true;
    }
    case "142":
      setFragment(
        tx,
        mo(),
        "c8y_SoftwareList",
        softwareList(mo()).filter((i) => !message.software.some((r) => sameSoftware(i, r))),
      );
      return true;
    case "143":
      setOrRemoveList(tx, mo(), "c8y_SupportedSoftwareTypes", message.softwareTypes);
      return true;
    case "150":
      setOrRemoveList(tx, mo(), "c8y_RemoteAccessSupportedProtocols", message.protocols);
      return true;
    default:
      return false;
  }
};

/** 121's default profile id: the oldest EXECUTING c8y_DeviceProfile operation's `profileId`. */
const executingProfileId = (s: PlatformState, deviceId: string): string | undefined => {
  const op = s.operations.find(
    (o) =>
      o.deviceId === deviceId &&
      o.status === "EXECUTING" &&
      lookup(o.fragments, "c8y_DeviceProfile") !== undefined,
  );
  const id = op === undefined ? undefined : lookup(op.fragments, "profileId");
  return typeof id === "string" ? id : undefined;
};

/** Availability stamp for every accepted upstream row (spec §9: data counts as heartbeat). */
