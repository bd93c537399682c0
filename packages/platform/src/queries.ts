/**
 * Read-only views of a platform state, for tests and tools. Devices and data are addressed by
 * external id (`c8y_Serial`), the way a test talks about them; views resolve internal ids to
 * external ids where that helps.
 */
import { byExternalId, managedObject, managedObjectsInOrder } from "./inventory.js";
import { lookup } from "./json.js";
import type { PVec } from "./persistent.js";
import type {
  Alarm,
  ConnectionLogEntry,
  ErrorRecord,
  JsonObject,
  ManagedObject,
  Measurement,
  OperationStatus,
  PlatformEvent,
  PlatformState,
  Registration,
  Session,
  StoredOperation,
  TemplateCollection,
} from "./model.js";

export interface DeviceView {
  readonly id: string;
  readonly externalId: string;
  readonly name: string;
  readonly type: string;
  readonly kind: ManagedObject["kind"];
  /** External id of the parent, null for a root device. */
  readonly parent: string | null;
  /** External ids of the child devices / services. */
  readonly children: readonly string[];
  readonly services: readonly string[];
  readonly fragments: JsonObject;
  readonly owner: string;
}

const externalIds = (s: PlatformState, ids: readonly string[]): string[] =>
  ids.flatMap((id) => managedObject(s, id)?.externalId ?? []);

const view = (s: PlatformState, mo: ManagedObject): DeviceView => ({
  id: mo.id,
  externalId: mo.externalId,
  name: mo.name,
  type: mo.type,
  kind: mo.kind,
  parent: mo.parentId === null ? null : (managedObject(s, mo.parentId)?.externalId ?? null),
  children: externalIds(s, mo.childDevices),
  services: externalIds(s, mo.childAdditions),
  fragments: mo.fragments,
  owner: mo.owner,
});

/** All managed objects (devices, children, services), in creation order. */
export const listDevices = (s: PlatformState): DeviceView[] =>
  managedObjectsInOrder(s).map((mo) => view(s, mo));

export const findDevice = (s: PlatformState, externalId: string): DeviceView | undefined => {
  const mo = byExternalId(s, externalId);
  return mo === undefined ? undefined : view(s, mo);
};

/** Items whose source is `externalId` (all items when omitted). */
const from = <T extends { readonly sourceId: string }>(
  s: PlatformState,
  items: PVec<T>,
  externalId?: string,
): T[] => {
  if (externalId === undefined) return items.toArray();
  const id = s.identities.get(externalId);
  return items.toArray().filter((i) => i.sourceId === id);
};

export const listMeasurements = (s: PlatformState, externalId?: string): Measurement[] =>
  from(s, s.measurements, externalId);
export const listEvents = (s: PlatformState, externalId?: string): PlatformEvent[] =>
  from(s, s.events, externalId);
export const listAlarms = (s: PlatformState, externalId?: string): Alarm[] => from(s, s.alarms, externalId);

export interface OperationFilter {
  /** External id of the target device. */
  readonly deviceId?: string;
  readonly status?: OperationStatus;
  readonly fragment?: string;
}

/** Operations oldest first, each with its full status history. */
export const listOperations = (s: PlatformState, filter: OperationFilter = {}): StoredOperation[] =>
  s.operations.filter(
    (op) =>
      (filter.deviceId === undefined || op.externalId === filter.deviceId) &&
      (filter.status === undefined || op.status === filter.status) &&
      (filter.fragment === undefined || Object.hasOwn(op.fragments, filter.fragment)),
  );

export const findOperation = (s: PlatformState, id: string): StoredOperation | undefined =>
  s.operations.find((op) => op.id === id);

export const listRegistrations = (s: PlatformState): Registration[] => s.registrations.values();
export const findRegistration = (s: PlatformState, deviceId: string): Registration | undefined =>
  s.registrations.get(deviceId);

/** `s/e` lines produced (delivered or not), optionally for one client. */
export const listErrors = (s: PlatformState, clientKey?: string): ErrorRecord[] =>
  s.errors.toArray().filter((e) => clientKey === undefined || e.clientKey === clientKey);

export const connectionLog = (s: PlatformState): readonly ConnectionLogEntry[] => s.connectionLog.toArray();

export const listSessions = (s: PlatformState): Session[] => s.sessions.values();

export const findCollection = (s: PlatformState, xid: string): TemplateCollection | undefined =>
  lookup(s.collections, xid);
