/**
 * The upstream template table (`TEMPLATES`): every static template a device publishes on
 * `s/us`, with its id, name and fields in wire order. Everything in upstream.ts is derived
 * from it.
 */
import * as t from "io-ts";
import {
  text,
  decimal,
  integer,
  boolean,
  timestamp,
  oneOf,
  req,
  opt,
  list,
  group,
  objectCodec,
  type Problem,
  type Fields,
  type Flatten,
  type ObjectOf,
} from "./upstream-fields.js";

// ---------------------------------------------------------------------------------------------
// The template table
// ---------------------------------------------------------------------------------------------

export interface TemplateDef<Id extends string = string, F extends Fields = Fields> {
  readonly id: Id;
  /** Short name for docs and the catalogue; equals the `Upstream` constructor name where one exists. */
  readonly name: string;
  /** In wire order. */
  readonly fields: F;
  readonly codec: t.Mixed;
  /** A cross-field rule the per-field checks cannot express (210: rssi or ber). */
  readonly check?: (msg: Readonly<Record<string, unknown>>) => Problem | undefined;
}

export const template = <const Id extends string, F extends Fields>(
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

export type MessageOf<D> =
  D extends TemplateDef<infer Id, infer F> ? Flatten<{ readonly template: Id } & ObjectOf<F>> : never;

/** Alarms 301–304: the severity is in the template id. */
export const alarmFields = {
  /** Alarm type (M); a device has at most one active alarm per type. */
  type: req(text),
  /** Alarm text; platform default `Alarm of type <type> raised`. */
  text: opt(text),
  time: opt(timestamp),
};

/** Location events 401/402 (all optional). */
export const locationFields = {
  latitude: opt(decimal),
  longitude: opt(decimal),
  altitude: opt(decimal),
  accuracy: opt(decimal),
  time: opt(timestamp),
};

/** Advanced software item (140/141); `type` and `url` optional. */
export const advancedSoftwareItem = { name: req(text), version: req(text), type: opt(text), url: opt(text) };

/** Free parameters after 503/506's fragment / operation id (side effects per spec §4.7); may be empty. */
export const statusParameters = list("parameter", opt(text), { min: 0, optional: true });

/** Trailing name lists of 114/118/119/143/150: may be empty (clears), entries must not be. */
export const names = (itemLabel: string) => list(itemLabel, req(text), { min: 0 });

/**
 * Every upstream static template, in id order. `time` fields are optional ISO-8601 timestamps
 * (server time when absent). Field comments paraphrase spec §4; "M" = mandatory.
 */
export const TEMPLATES = [
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
