/**
 * Measurements, events and alarms (spec §4.2–4.4, §9) — shared by static templates (2xx–4xx)
 * and custom request templates (POST MEASUREMENT/EVENT/ALARM, PUT ALARM).
 *
 * Decisions:
 * - Processing modes (spec §2.4): `t/` (transient) data is not stored; `c/` (CEP) measurements
 *   and events are not stored (the mode applies to measurements and events only, so CEP alarms
 *   are stored); `q/` (quiescent) data is stored like persistent data. The mode is recorded on
 *   each stored item: whoever forwards real-time notifications (the simulated tenant's web view)
 *   skips quiescent items (`notifiesRealtime`). A data row in any mode is still a heartbeat.
 *   The option `storeAllModes` stores everything (the behaviour before §2.4 was modelled).
 * - Admin acknowledge/clear address one alarm by id: ACTIVE → ACKNOWLEDGED, ACTIVE or
 *   ACKNOWLEDGED → CLEARED; anything else (unknown id, already CLEARED) is refused.
 * - Alarms: at most one ACTIVE-or-ACKNOWLEDGED alarm per (source, type). Raising it again only
 *   increments `count` and moves `time` (the platform's de-duplication; other changes such as
 *   a new severity or text are ignored). 305/306/307 address that alarm (ACTIVE first, then
 *   ACKNOWLEDGED); when none exists they do nothing (agents clear alarms blindly at boot).
 * - 407 works on the newest event of that type; 408 writes the reported parameter values into
 *   both the event and the device, and with change detection creates no event when every value
 *   is already the device's current one.
 */
import type { UpstreamMessage } from "@c8ylink/core";
import { definedOnly, dissoc, getPath, type Json, type JsonObject, pathSegments, setPath } from "./json.js";
import { type RowContext, managedObject, setFragment, updateFragments } from "./inventory.js";
import type {
  Alarm,
  AlarmSeverity,
  AlarmStatus,
  ManagedObject,
  Measurement,
  PlatformEvent,
  PlatformState,
  ProcessingMode,
} from "./model.js";
import { isoFromMs } from "./time.js";
import { emit, newId, type Tx } from "./tx.js";

interface DataSpec {
  readonly source: ManagedObject;
  readonly type: string;
  readonly time: string | undefined;
  readonly fragments: JsonObject;
  readonly mode: ProcessingMode;
}

type DataKind = "measurement" | "event" | "alarm";

/** Whether data of `kind` sent in `mode` is stored (spec §2.4). */
export const storesData = (storeAllModes: boolean, mode: ProcessingMode, kind: DataKind): boolean => {
  if (storeAllModes) return true;
  switch (mode) {
    case "persistent":
    case "quiescent":
      return true;
    case "transient":
      return false;
    case "cep":
      return kind === "alarm";
  }
};

/** Whether a stored item of this mode is passed to real-time notifications (spec §2.4). */
export const notifiesRealtime = (mode: ProcessingMode): boolean =>
  mode === "persistent" || mode === "transient";

const stored = (tx: Tx, spec: DataSpec, kind: DataKind): boolean =>
  storesData(tx.s.config.storeAllModes, spec.mode, kind);

/** Not stored data keeps no id (it never exists in the platform). */
const base = (tx: Tx, spec: DataSpec, kind: DataKind) => ({
  id: stored(tx, spec, kind) ? newId(tx) : "",
  sourceId: spec.source.id,
  type: spec.type,
  time: spec.time ?? isoFromMs(tx.now),
  fragments: spec.fragments,
  mode: spec.mode,
  createdMs: tx.now,
});

/** Stores the measurement when its mode is stored; returns it either way. */
export const addMeasurement = (tx: Tx, spec: DataSpec): Measurement => {
  // Built before `tx.s` is read: `base` takes an id, which replaces `tx.s` (reading `tx.s` first
  // would put the old counter back and hand the same id out again).
  const measurement: Measurement = base(tx, spec, "measurement");
  if (stored(tx, spec, "measurement")) tx.s = { ...tx.s, measurements: tx.s.measurements.push(measurement) };
  return measurement;
};

/** Stores the event when its mode is stored; returns it either way. */
export const addEvent = (tx: Tx, spec: DataSpec & { readonly text: string }): PlatformEvent => {
  const event: PlatformEvent = { ...base(tx, spec, "event"), text: spec.text };
  if (stored(tx, spec, "event")) tx.s = { ...tx.s, events: tx.s.events.push(event) };
  return event;
};

const sourceTypeKey = (sourceId: string, type: string): string => `${sourceId}/${type}`;

/** Every alarm of (source, type) with its position in `alarms`, oldest first. */
const alarmsOf = (s: PlatformState, sourceId: string, type: string): { alarm: Alarm; at: number }[] =>
  (s.alarmsBySourceType.get(sourceTypeKey(sourceId, type)) ?? []).map((at) => ({
    alarm: s.alarms.get(at) as Alarm,
    at,
  }));

/** The open alarm of (source, type): ACTIVE first, then ACKNOWLEDGED. */
export const openAlarm = (s: PlatformState, sourceId: string, type: string): Alarm | undefined => {
  const ofType = alarmsOf(s, sourceId, type).map(({ alarm }) => alarm);
  return ofType.find((a) => a.status === "ACTIVE") ?? ofType.find((a) => a.status === "ACKNOWLEDGED");
};

/** Puts `alarm` (same id, source and type as a stored one) in place of the stored one. */
export const replaceAlarm = (tx: Tx, alarm: Alarm): void => {
  const found = alarmsOf(tx.s, alarm.sourceId, alarm.type).find((a) => a.alarm.id === alarm.id);
  if (found !== undefined) tx.s = { ...tx.s, alarms: tx.s.alarms.set(found.at, alarm) };
};

const appendAlarm = (tx: Tx, alarm: Alarm): void => {
  const key = sourceTypeKey(alarm.sourceId, alarm.type);
  const positions = tx.s.alarmsBySourceType.get(key) ?? [];
  tx.s = {
    ...tx.s,
    alarms: tx.s.alarms.push(alarm),
    alarmsBySourceType: tx.s.alarmsBySourceType.set(key, [...positions, tx.s.alarms.length]),
  };
};

export const raiseAlarm = (
  tx: Tx,
  spec: DataSpec & {
    readonly severity: AlarmSeverity;
    readonly text?: string | undefined;
    readonly status?: AlarmStatus;
  },
): void => {
  if (!stored(tx, spec, "alarm")) return;
  const time = spec.time ?? isoFromMs(tx.now);
  const open = openAlarm(tx.s, spec.source.id, spec.type);
  if (open !== undefined && spec.status !== "CLEARED") {
    replaceAlarm(tx, { ...open, count: open.count + 1, time });
    return;
  }
  const alarm: Alarm = {
    ...base(tx, spec, "alarm"),
    time,
    text: spec.text ?? `Alarm of type ${spec.type} raised`,
    severity: spec.severity,
    status: spec.status ?? "ACTIVE",
    count: 1,
    firstOccurrenceTime: time,
  };
  appendAlarm(tx, alarm);
};

export const adminResult = (tx: Tx, ok: boolean, detail: string): void =>
  emit(tx, { type: "admin-result", ok, detail });

/** `admin-acknowledge-alarm` / `admin-clear-alarm`. */
export const adminSetAlarmStatus = (tx: Tx, alarmId: string, status: "ACKNOWLEDGED" | "CLEARED"): void => {
  const alarm = tx.s.alarms.toArray().find((a) => a.id === alarmId);
  if (alarm === undefined) return adminResult(tx, false, `unknown alarm ${alarmId}`);
  const allowed = status === "CLEARED" ? alarm.status !== "CLEARED" : alarm.status === "ACTIVE";
  if (!allowed) return adminResult(tx, false, `alarm ${alarmId} is ${alarm.status}`);
  replaceAlarm(tx, { ...alarm, status });
  adminResult(tx, true, `alarm ${alarmId} ${status === "CLEARED" ? "cleared" : "acknowledged"}`);
};

const SEVERITY: Readonly<Record<string, AlarmSeverity>> = {
  "301": "CRITICAL",
  "302": "MAJOR",
  "303": "MINOR",
  "304": "WARNING",
};

const quantity = (value: number, unit?: string): JsonObject =>
  unit === undefined ? { value } : { value, unit };

/** 408 parameter value by its declared type; absent = null. */
const parameterValue = (type: string, value: string | undefined): Json => {
  if (value === undefined) return null;
  if (type.toUpperCase() === "BOOLEAN" && /^(true|false)$/i.test(value))
    return value.toLowerCase() === "true";
  if (type.toUpperCase() === "NUMBER" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  return value;
};

/** The newest stored event of (source, type) and its position (407 is rare: a scan will do). */
const newestEvent = (
  s: PlatformState,
  sourceId: string,
  type: string,
): { event: PlatformEvent; at: number } | undefined => {
  for (let at = s.events.length - 1; at >= 0; at--) {
    const event = s.events.get(at) as PlatformEvent;
    if (event.sourceId === sourceId && event.type === type) return { event, at };
  }
  return undefined;
};

/** Handles 200–212, 301–307, 400–408. Returns false when `message` is none of them. */
export const applyData = (tx: Tx, ctx: RowContext, message: UpstreamMessage): boolean => {
  const source = ctx.target;
  const data = (type: string, time: string | undefined, fragments: JsonObject): DataSpec => ({
    source,
    type,
    time,
    fragments,
    mode: ctx.mode,
  });
  switch (message.template) {
    case "200":
      addMeasurement(
        tx,
        data(message.fragment, message.time, {
          [message.fragment]: { [message.series]: quantity(message.value, message.unit) },
        }),
      );
      return true;
    case "201": {
      const fragments = message.series.reduce<JsonObject>(
        (acc, s) => setPath(acc, [s.fragment, s.series], quantity(s.value, s.unit)),
        {},
      );
      addMeasurement(tx, data(message.type, message.time, fragments));
      return true;
    }
    case "210": {
      const signal = definedOnly({
        rssi: message.rssi === undefined ? undefined : quantity(message.rssi, "dBm"),
        ber: message.ber === undefined ? undefined : quantity(message.ber, "%"),
      });
      addMeasurement(tx, data("c8y_SignalStrength", message.time, { c8y_SignalStrength: signal }));
      return true;
    }
    case "211":
      addMeasurement(
        tx,
        data("c8y_TemperatureMeasurement", message.time, {
          c8y_TemperatureMeasurement: { T: quantity(message.temperature, "C") },
        }),
      );
      return true;
    case "212":
      addMeasurement(
        tx,
        data("c8y_Battery", message.time, { c8y_Battery: { level: quantity(message.battery, "%") } }),
      );
      return true;
    case "301":
    case "302":
    case "303":
    case "304":
      raiseAlarm(tx, {
        ...data(message.type, message.time, {}),
        severity: SEVERITY[message.template] ?? "MAJOR",
        text: message.text,
      });
      return true;
    case "305": {
      const open = openAlarm(tx.s, source.id, message.type);
      if (open !== undefined) replaceAlarm(tx, { ...open, severity: message.severity });
      return true;
    }
    case "306": {
      const open = openAlarm(tx.s, source.id, message.type);
      if (open !== undefined) replaceAlarm(tx, { ...open, status: "CLEARED" });
      return true;
    }
    case "307": {
      const open = openAlarm(tx.s, source.id, message.type);
      if (open !== undefined)
        replaceAlarm(tx, {
          ...open,
          fragments: message.fragments.reduce<JsonObject>((f, n) => dissoc(f, n), open.fragments),
        });
      return true;
    }
    case "400":
      addEvent(tx, { ...data(message.type, message.time, {}), text: message.text });
      return true;
    case "401":
    case "402": {
      const position = definedOnly({
        lat: message.latitude,
        lng: message.longitude,
        alt: message.altitude,
        accuracy: message.accuracy,
      });
      addEvent(tx, {
        ...data("c8y_LocationUpdate", message.time, { c8y_Position: position }),
        text: "Location updated",
      });
      if (message.template === "402")
        setFragment(tx, managedObject(tx.s, source.id) ?? source, "c8y_Position", position);
      return true;
    }
    case "407": {
      const latest = newestEvent(tx.s, source.id, message.type);
      if (latest !== undefined) {
        const fragments = (message.fragments ?? []).reduce<JsonObject>(
          (f, n) => dissoc(f, n),
          latest.event.fragments,
        );
        tx.s = { ...tx.s, events: tx.s.events.set(latest.at, { ...latest.event, fragments }) };
      }
      return true;
    }
    case "408": {
      const device = managedObject(tx.s, source.id) ?? source;
      const values = message.parameters.map((p) => ({
        path: pathSegments(p.path),
        value: parameterValue(p.type, p.value),
      }));
      const known = values.every(
        (v) => JSON.stringify(getPath(device.fragments, v.path)) === JSON.stringify(v.value),
      );
      updateFragments(tx, device, (f) => values.reduce((acc, v) => setPath(acc, v.path, v.value), f));
      if (message.changeDetect === true && known) return true;
      const fragment = values[0]?.path[0] ?? "";
      addEvent(tx, {
        ...data(
          "c8y_ParameterUpdate",
          message.time,
          values.reduce<JsonObject>((acc, v) => setPath(acc, v.path, v.value), {}),
        ),
        text: message.text ?? `Parameter '${fragment}' was updated`,
      });
      return true;
    }
    default:
      return false;
  }
};
