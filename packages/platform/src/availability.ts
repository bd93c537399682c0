/**
 * Device availability (spec §9): `c8y_Availability`, `c8y_Connection` and the
 * `c8y_UnavailabilityAlarm`.
 *
 * Decisions:
 * - Heartbeats are data rows (2xx–4xx), `125`, JSON data and inventory updates, and the
 *   execution of a last will (spec §1.9). A heartbeat sets `c8y_Availability {lastMessage,
 *   status}` (AVAILABLE, or MAINTENANCE while `c8y_RequiredAvailability.responseInterval ≤ 0`)
 *   and clears an open `c8y_UnavailabilityAlarm` of that device.
 * - Time only passes through inputs: on `clock-tick` every device whose required interval
 *   (minutes, > 0) has elapsed since its last message (or since its creation, without one)
 *   becomes UNAVAILABLE and gets one MAJOR `c8y_UnavailabilityAlarm`. A tick changes nothing
 *   for a device that is already UNAVAILABLE.
 * - `c8y_Connection.status` is CONNECTED while a live session of the device holds a
 *   subscription that can receive operations (`s/ds`, `s/dd`, `s/dc/<X-ID>`,
 *   `devicecontrol/notifications`), DISCONNECTED when that session ends, MAINTENANCE while the
 *   interval is ≤ 0.
 */
import { openAlarm, raiseAlarm, replaceAlarm } from "./data.js";
import { managedObject, managedObjectsInOrder, setFragment } from "./inventory.js";
import { isJsonObject, type Json, lookup } from "./json.js";
import type { ManagedObject } from "./model.js";
import { isoFromMs, msFromIso } from "./time.js";
import type { Tx } from "./tx.js";

export const UNAVAILABILITY_ALARM = "c8y_UnavailabilityAlarm";
export const UNAVAILABILITY_TEXT = "No data received from the device within the required interval.";

/** `<fragment>.<field>` of `mo`, when the fragment is an object. */
const fieldOf = (mo: ManagedObject, fragment: string, field: string): Json | undefined => {
  const value = lookup(mo.fragments, fragment);
  return isJsonObject(value) ? lookup(value, field) : undefined;
};

/** `c8y_RequiredAvailability.responseInterval` in minutes, when it is a number. */
export const requiredIntervalMinutes = (mo: ManagedObject): number | undefined => {
  const interval = fieldOf(mo, "c8y_RequiredAvailability", "responseInterval");
  return typeof interval === "number" && Number.isFinite(interval) ? interval : undefined;
};

const inMaintenance = (mo: ManagedObject): boolean => {
  const interval = requiredIntervalMinutes(mo);
  return interval !== undefined && interval <= 0;
};

const fresh = (tx: Tx, mo: ManagedObject): ManagedObject => managedObject(tx.s, mo.id) ?? mo;

/** `mo` was heard from now. */
export const heartbeat = (tx: Tx, mo: ManagedObject): void => {
  const current = fresh(tx, mo);
  setFragment(tx, current, "c8y_Availability", {
    lastMessage: isoFromMs(tx.now),
    status: inMaintenance(current) ? "MAINTENANCE" : "AVAILABLE",
  });
  const open = openAlarm(tx.s, current.id, UNAVAILABILITY_ALARM);
  if (open !== undefined) replaceAlarm(tx, { ...open, status: "CLEARED" });
};

/** Sets `c8y_Connection.status` of `mo` (MAINTENANCE wins while the interval is ≤ 0). */
export const markConnection = (tx: Tx, mo: ManagedObject, connected: boolean): void => {
  const current = fresh(tx, mo);
  const status = inMaintenance(current) ? "MAINTENANCE" : connected ? "CONNECTED" : "DISCONNECTED";
  const previous = lookup(current.fragments, "c8y_Connection");
  if (previous !== undefined && JSON.stringify(previous) === JSON.stringify({ status })) return;
  setFragment(tx, current, "c8y_Connection", { status });
};

const lastHeardMs = (mo: ManagedObject): number => {
  const last = fieldOf(mo, "c8y_Availability", "lastMessage");
  const parsed = typeof last === "string" ? msFromIso(last) : undefined;
  return parsed ?? mo.creationMs;
};

const availabilityStatus = (mo: ManagedObject): string | undefined => {
  const status = fieldOf(mo, "c8y_Availability", "status");
  return typeof status === "string" ? status : undefined;
};

/** `clock-tick`: devices past their required interval become UNAVAILABLE, with an alarm. */
export const checkAvailability = (tx: Tx): void => {
  // In id order (creation order), as a plain record iterated: alarm ids depend on it.
  for (const mo of managedObjectsInOrder(tx.s)) {
    if (mo.kind !== "device") continue;
    const interval = requiredIntervalMinutes(mo);
    if (interval === undefined || interval <= 0) continue;
    if (availabilityStatus(mo) === "UNAVAILABLE") continue;
    const lastMs = lastHeardMs(mo);
    if (tx.now < lastMs + interval * 60_000) continue;
    const availability = lookup(mo.fragments, "c8y_Availability");
    const base = isJsonObject(availability) ? availability : {};
    setFragment(tx, mo, "c8y_Availability", { ...base, status: "UNAVAILABLE" });
    raiseAlarm(tx, {
      source: fresh(tx, mo),
      type: UNAVAILABILITY_ALARM,
      time: undefined,
      fragments: {},
      mode: "persistent",
      severity: "MAJOR",
      text: UNAVAILABILITY_TEXT,
    });
  }
};
