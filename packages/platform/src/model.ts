/**
 * The platform model's vocabulary: options, state, inputs and outputs. Everything here is
 * JSON-compatible data, so a state can be logged and snapshotted (`JSON.stringify`); the
 * collections that grow with the tenant are persistent (persistent.ts), so a write shares
 * everything it does not touch, and they serialise as plain arrays and objects.
 * Ids are decimal strings handed out from one counter, like the platform's global ids.
 */
import type { Json, JsonObject } from "./json.js";
import type { PMap, PVec } from "./persistent.js";

// ---------------------------------------------------------------------------------------------
// Options

/** A tenant user that exists from the start (e.g. a device provisioned with a password). */
export interface ProvisionedUser {
  readonly username: string;
  readonly password: string;
}

export interface PlatformOptions {
  /** Tenant id used in credentials (`70,<tenant>,…`) and in `<tenant>/<user>` logins. Default `t100`. */
  readonly tenantId?: string;
  /** Password of `management/devicebootstrap`. Default `bootstrap-secret`. */
  readonly bootstrapPassword?: string;
  /** Users besides the ones created by registration. */
  readonly users?: readonly ProvisionedUser[];
  /** Certificate CNs the tenant trusts (stands in for "a trusted CA with auto-registration"). */
  readonly trustedCertificates?: readonly string[];
  /** Lifetime of `71` tokens. Default 3600 (spec §8.1: 1 h). */
  readonly tokenLifetimeSeconds?: number;
  /**
   * Spec §8.1: "a new token can be requested once half the lifetime has passed". When true, an
   * `s/uat` in the first half of the user's current token's lifetime gets that same token again.
   * Default false in the model (every request gets a fresh token, as the pinned fake worlds
   * expect); the simulated tenant turns it on.
   */
  readonly tokenRenewalAfterHalfLife?: boolean;
  /** Accept a registration as soon as the device polls `s/ucr`. Default false. */
  readonly autoAccept?: boolean;
  /**
   * Refuse (0x80) subscriptions of a device session whose device does not exist yet (spec §2.5).
   * Default false in the model (the c8ylink engine subscribes in the same tick as its `100`, and
   * the pinned fake worlds rely on that); the simulated tenant turns it on by default.
   */
  readonly refuseSubscribeBeforeDevice?: boolean;
  /**
   * Store data of every processing mode, as the model did before spec §2.4 was modelled.
   * Default false: transient (`t/`) data is not stored, CEP (`c/`) measurements and events are
   * not stored, quiescent (`q/`) data is stored (the web view must not notify it).
   */
  readonly storeAllModes?: boolean;
  /**
   * Rate limit of one session's publishes (spec §1.11, "Limit stream requests" / "Limit stream
   * queue"): at most `perSecond` publishes are processed per second of model time, up to
   * `queue` more are counted as queued (still processed: the model has no delay), and the
   * publish after that closes the connection. Default: no limit.
   */
  readonly rateLimit?: RateLimit;
  /** Answer of `600` (`601,<version>`). Default `2025.0.0`. */
  readonly platformVersion?: string;
  /**
   * Grant subscriptions to `devicecontrol/notifications` (operations as JSON, spec §2.7).
   * Default true; false refuses them with 0x80, like a broker without JSON via MQTT, so a
   * device's fallback to static-only operations can be exercised.
   */
  readonly jsonOperations?: boolean;
  /** Seed for generated passwords. Default 1. */
  readonly seed?: number;
  /** First id handed out. Default 1001. */
  readonly firstId?: number;
}

export interface RateLimit {
  readonly perSecond: number;
  readonly queue: number;
}

export interface PlatformConfig {
  readonly tenantId: string;
  readonly bootstrapPassword: string;
  readonly trustedCertificates: readonly string[];
  readonly tokenLifetimeSeconds: number;
  readonly tokenRenewalAfterHalfLife: boolean;
  readonly autoAccept: boolean;
  readonly refuseSubscribeBeforeDevice: boolean;
  readonly platformVersion: string;
  readonly jsonOperations: boolean;
  readonly storeAllModes: boolean;
  readonly rateLimit: RateLimit | null;
}

// ---------------------------------------------------------------------------------------------
// State

export type ProcessingMode = "persistent" | "transient" | "quiescent" | "cep";

/** A device, child device or service. */
export interface ManagedObject {
  readonly id: string;
  /** `c8y_Serial` external id (devices and children created over MQTT always have one). */
  readonly externalId: string;
  readonly name: string;
  readonly type: string;
  /** Child devices hang under `childDevices`, services under `childAdditions`. */
  readonly kind: "device" | "service";
  readonly parentId: string | null;
  readonly childDevices: readonly string[];
  readonly childAdditions: readonly string[];
  /** Everything else: `c8y_IsDevice`, `com_cumulocity_model_Agent`, `c8y_Hardware`, … */
  readonly fragments: JsonObject;
  /** Login that created the object. */
  readonly owner: string;
  readonly creationMs: number;
  readonly lastUpdatedMs: number;
}

interface DataBase {
  readonly id: string;
  /** Managed object id of the source. */
  readonly sourceId: string;
  readonly type: string;
  /** ISO time as sent, or server time (`nowMs`) when absent. */
  readonly time: string;
  readonly fragments: JsonObject;
  /** Processing mode of the topic it arrived on (`s/`, `t/`, `q/`, `c/`), or persistent for admin/custom. */
  readonly mode: ProcessingMode;
  readonly createdMs: number;
}

export type Measurement = DataBase;

export interface PlatformEvent extends DataBase {
  readonly text: string;
}

export type AlarmSeverity = "CRITICAL" | "MAJOR" | "MINOR" | "WARNING";
export type AlarmStatus = "ACTIVE" | "ACKNOWLEDGED" | "CLEARED";

export interface Alarm extends DataBase {
  readonly text: string;
  readonly severity: AlarmSeverity;
  readonly status: AlarmStatus;
  /** How many times it was raised while ACTIVE/ACKNOWLEDGED (de-duplication). */
  readonly count: number;
  readonly firstOccurrenceTime: string;
}

export type OperationStatus = "PENDING" | "EXECUTING" | "SUCCESSFUL" | "FAILED";

/** One status change and what caused it (the SmartREST line, or `admin`). */
export interface OperationTransition {
  readonly status: OperationStatus;
  readonly atMs: number;
  readonly cause: string;
}

export interface StoredOperation {
  readonly id: string;
  /** Managed object id and `c8y_Serial` of the device that must execute it. */
  readonly deviceId: string;
  readonly externalId: string;
  /** The agent it is delivered to (nearest ancestor-or-self with `com_cumulocity_model_Agent`). */
  readonly agentId: string;
  readonly status: OperationStatus;
  readonly description: string;
  /** The operation's fragments (`c8y_Command`, …), updated by side effects of 503/506. */
  readonly fragments: JsonObject;
  readonly failureReason?: string;
  readonly creationMs: number;
  readonly history: readonly OperationTransition[];
  /**
   * How many times it was published on `devicecontrol/notifications`. 0 = not yet forwarded:
   * such a PENDING operation is published when its agent subscribes that topic (spec §2.7).
   */
  readonly notifications: number;
}

export type RegistrationStatus = "WAITING_FOR_CONNECTION" | "PENDING_ACCEPTANCE" | "ACCEPTED" | "BLOCKED";

export interface Registration {
  readonly deviceId: string;
  readonly status: RegistrationStatus;
  readonly history: readonly { readonly status: RegistrationStatus; readonly atMs: number }[];
  readonly polls: number;
  /** Username of the credentials handed out on `s/dcr`, once created. */
  readonly username?: string;
}

export interface User {
  readonly username: string;
  /** Null for certificate users (no password login). */
  readonly password: string | null;
  readonly origin: "provisioned" | "registration" | "certificate";
  /** Device identifier the user was created for (registration / certificate users). */
  readonly deviceId?: string;
  readonly disabled: boolean;
}

export type QoS = 0 | 1 | 2;

/** The will of a CONNECT (spec §1.9): published as if the device sent it when it drops uncleanly. */
export interface Will {
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
}

/**
 * What the broker's TLS layer learned from a client certificate. The model does no
 * cryptography: the broker checks the signature of the leaf against the trusted certificates
 * the model holds and names the one that verified it.
 */
export interface PresentedCertificate {
  /** Common Name of the leaf certificate. */
  readonly cn: string;
  /** SHA-256 fingerprint (`AA:BB:…`) of the trusted certificate that signed the leaf; null = none did. */
  readonly issuerFingerprint: string | null;
  readonly validFromMs: number;
  readonly validToMs: number;
}

/** A CA (or intermediate) certificate uploaded to the tenant (spec §8.2). */
export interface TrustedCertificate {
  /** SHA-256 fingerprint, as computed by the broker layer. */
  readonly fingerprint: string;
  readonly name: string;
  readonly subject: string;
  readonly status: "ENABLED" | "DISABLED";
  readonly autoRegistration: boolean;
  readonly notAfterMs: number;
  /** The PEM as uploaded (the broker layer verifies device certificates against it). */
  readonly pem: string;
  readonly addedMs: number;
}
export interface Session {
  readonly clientKey: string;
  readonly clientId: string;
  /** The ClientId's device identifier. */
  readonly deviceId: string;
  readonly kind: "device" | "bootstrap";
  readonly auth: "password" | "certificate";
  /** Login without tenant prefix. */
  readonly username: string;
  readonly subscriptions: Readonly<Record<string, QoS>>;
  readonly connectedMs: number;
  /** Default X-ID from the ClientId (`d:<id>:<X-ID>`) for `s/ud` / `s/dd` (spec §1.3, §6.1). */
  readonly defaultXid?: string;
  readonly will?: Will;
  /** Rate-limit window: its start (whole seconds of model time) and publishes counted in it. */
  readonly rateWindow?: { readonly second: number; readonly count: number };
}

export type ValueType =
  | "STRING"
  | "DATE"
  | "NUMBER"
  | "INTEGER"
  | "UNSIGNED"
  | "FLAG"
  | "SEVERITY"
  | "ALARMSTATUS"
  | "OPERATIONSTATUS";

/** A `(path, type, value)` triple of a request template; an empty `value` must be supplied per message. */
export interface TemplateValue {
  readonly path: string;
  readonly type: ValueType;
  readonly value: string;
}

export type RequestMethod = "GET" | "PUT" | "POST";
export type RequestApi = "INVENTORY" | "MEASUREMENT" | "ALARM" | "EVENT" | "OPERATION";

/** Line 10 of a collection (spec §6.2). */
export interface RequestTemplate {
  readonly msgId: string;
  readonly method: RequestMethod;
  readonly api: RequestApi;
  readonly response: boolean;
  /** Mandatory values in template order (their paths are the fixed property names). */
  readonly mandatory: readonly TemplateValue[];
  readonly custom: readonly TemplateValue[];
}

/** Line 11 of a collection (spec §6.3). */
export interface ResponseTemplate {
  readonly msgId: string;
  readonly base: string;
  readonly condition: string;
  readonly patterns: readonly string[];
}

export interface TemplateCollection {
  readonly xid: string;
  /** Managed object id of the collection (`20,<X-ID>,<id>`). */
  readonly id: string;
  readonly requests: readonly RequestTemplate[];
  readonly responses: readonly ResponseTemplate[];
  readonly creationMs: number;
}

/**
 * An error the platform produced for a client's publish, whether or not the client subscribed
 * the error topic: an `s/e` line for SmartREST, a JSON document on `error` for JSON via MQTT.
 */
export interface ErrorRecord {
  readonly atMs: number;
  readonly clientKey: string;
  readonly deviceId: string;
  /** Topic of the publish that caused it. */
  readonly topic: string;
  /** Where it was (or would have been) delivered. */
  readonly channel: "s/e" | "error";
  /** SmartREST code (§4.9) on `s/e`; the HTTP status the REST API would answer on `error`. */
  readonly code: number;
  /** The `s/e` line or the JSON document. */
  readonly line: string;
  readonly delivered: boolean;
}

export interface ConnectionLogEntry {
  readonly atMs: number;
  readonly clientKey: string;
  readonly clientId: string;
  readonly event: "connected" | "refused" | "disconnected" | "dropped";
  /** CONNACK code for connected / refused. */
  readonly code?: number;
  readonly reason?: string;
}

export interface PlatformState {
  readonly config: PlatformConfig;
  readonly nextId: number;
  /** Generator state for passwords; advances with every password handed out. */
  readonly seed: number;
  /** Managed object id → object. */
  readonly managedObjects: PMap<ManagedObject>;
  /** `c8y_Serial` value → managed object id. */
  readonly identities: PMap<string>;
  readonly users: PMap<User>;
  readonly registrations: PMap<Registration>;
  readonly sessions: PMap<Session>;
  /** Device identifier → client key of its live session (at most one, spec §1.3). */
  readonly liveSessions: PMap<string>;
  readonly measurements: PVec<Measurement>;
  readonly events: PVec<PlatformEvent>;
  readonly alarms: PVec<Alarm>;
  /** `<source id>/<type>` → positions in `alarms` of every alarm of that source and type. */
  readonly alarmsBySourceType: PMap<readonly number[]>;
  /** In creation order (= "oldest first"). */
  readonly operations: readonly StoredOperation[];
  readonly collections: Readonly<Record<string, TemplateCollection>>;
  readonly errors: PVec<ErrorRecord>;
  readonly connectionLog: PVec<ConnectionLogEntry>;
  /** Trusted certificates by fingerprint (uploaded by `admin-trust-certificate`). */
  readonly certificates: Readonly<Record<string, TrustedCertificate>>;
  /** Username → the last `71` token handed out and when (for `tokenRenewalAfterHalfLife`). */
  readonly tokens: PMap<{ readonly token: string; readonly issuedMs: number }>;
  /** Device identifier → CONNACK code its next CONNECT gets once (`admin-refuse-next-connect`). */
  readonly refuseNextConnect: Readonly<Record<string, 3 | 5>>;
}

// ---------------------------------------------------------------------------------------------
// Inputs

interface At {
  readonly nowMs: number;
}

export interface ClientConnect extends At {
  readonly type: "client-connect";
  readonly clientKey: string;
  readonly clientId: string;
  readonly username: string | null;
  readonly password: string | null;
  /** CN of the leaf certificate presented in the TLS handshake, if any. */
  readonly certificateCn: string | null;
  /** MQTT protocol level: 3 (3.1) or 4 (3.1.1, default). */
  readonly protocolLevel?: number;
  /** The CONNECT's will, if any. */
  readonly will?: Will;
  /**
   * The certificate the TLS layer checked against the trusted certificates. When present it
   * decides instead of `certificateCn` + the `trustedCertificates` option.
   */
  readonly certificate?: PresentedCertificate;
}

export interface TopicRequest {
  readonly topic: string;
  readonly qos: number;
}

export interface ClientSubscribe extends At {
  readonly type: "client-subscribe";
  readonly clientKey: string;
  readonly topics: readonly TopicRequest[];
}

export interface ClientUnsubscribe extends At {
  readonly type: "client-unsubscribe";
  readonly clientKey: string;
  readonly topics: readonly string[];
}

export interface ClientPublish extends At {
  readonly type: "client-publish";
  readonly clientKey: string;
  readonly topic: string;
  readonly payload: string;
  readonly qos: number;
  /** Payload size as received; defaults to the UTF-8 length of `payload`. */
  readonly payloadBytes?: number;
  /** MQTT packet identifier (QoS 1/2); JSON via MQTT errors name it as `messageId` (spec §2.7). */
  readonly messageId?: number;
}

export interface ClientDisconnect extends At {
  readonly type: "client-disconnect";
  readonly clientKey: string;
  /**
   * The client sent DISCONNECT (default true). False = the connection was lost: the session's
   * will is processed (spec §1.9).
   */
  readonly clean?: boolean;
}

/** Time passes: availability is checked (spec §9). The broker layer sends it periodically. */
export interface ClockTick extends At {
  readonly type: "clock-tick";
}

export interface AdminRegister extends At {
  readonly type: "admin-register";
  readonly deviceId: string;
}
export interface AdminAccept extends At {
  readonly type: "admin-accept";
  readonly deviceId: string;
}
export interface AdminBlock extends At {
  readonly type: "admin-block";
  readonly deviceId: string;
}
export interface AdminCreateOperation extends At {
  readonly type: "admin-create-operation";
  /** External id (`c8y_Serial`) of a root device or child. */
  readonly deviceId: string;
  readonly fragments: Readonly<Record<string, unknown>>;
  readonly description?: string;
}
export interface AdminDeleteDevice extends At {
  readonly type: "admin-delete-device";
  readonly deviceId: string;
}
export interface AdminAcknowledgeAlarm extends At {
  readonly type: "admin-acknowledge-alarm";
  readonly alarmId: string;
}
export interface AdminClearAlarm extends At {
  readonly type: "admin-clear-alarm";
  readonly alarmId: string;
}
/** The device's next CONNECT is refused once with `code` (3 server unavailable, 5 not authorised). */
export interface AdminRefuseNextConnect extends At {
  readonly type: "admin-refuse-next-connect";
  readonly deviceId: string;
  readonly code: 3 | 5;
}
export interface AdminTrustCertificate extends At {
  readonly type: "admin-trust-certificate";
  readonly certificate: Omit<TrustedCertificate, "addedMs">;
}
export interface AdminRemoveCertificate extends At {
  readonly type: "admin-remove-certificate";
  readonly fingerprint: string;
}

/**
 * An event created over the REST API (`POST /event/events`); who may create it is checked by the
 * HTTP side (rest.ts `mayWriteFor`) before it reaches the model.
 */
export interface AdminCreateEvent extends At {
  readonly type: "admin-create-event";
  /** Managed object id of the source. */
  readonly sourceId: string;
  readonly eventType: string;
  readonly text: string;
  /** ISO time as sent; server time when absent. */
  readonly time?: string;
  readonly fragments?: Readonly<Record<string, unknown>>;
}
/** The event's binary was attached (or removed): sets its `c8y_IsBinary` fragment. */
export interface AdminSetEventBinary extends At {
  readonly type: "admin-set-event-binary";
  readonly eventId: string;
  readonly binary: { readonly name: string; readonly type: string; readonly length: number } | null;
}
/** Takes an id from the model's counter for an object the REST side keeps (inventory binary, repository entry). */
export interface AdminReserveId extends At {
  readonly type: "admin-reserve-id";
}

export type PlatformInput =
  | ClientConnect
  | ClientSubscribe
  | ClientUnsubscribe
  | ClientPublish
  | ClientDisconnect
  | AdminRegister
  | AdminAccept
  | AdminBlock
  | AdminCreateOperation
  | AdminDeleteDevice
  | AdminAcknowledgeAlarm
  | AdminClearAlarm
  | AdminRefuseNextConnect
  | AdminTrustCertificate
  | AdminRemoveCertificate
  | AdminCreateEvent
  | AdminSetEventBinary
  | AdminReserveId
  | ClockTick;

// ---------------------------------------------------------------------------------------------
// Outputs

/** CONNACK return codes (spec §1.10). */
export type ConnackCode = 0 | 1 | 2 | 3 | 4 | 5;

/** SUBACK failure code. */
export const SUBACK_FAILURE = 0x80;

export type PlatformOutput =
  | { readonly type: "connack"; readonly clientKey: string; readonly code: ConnackCode }
  | { readonly type: "suback"; readonly clientKey: string; readonly granted: readonly number[] }
  | { readonly type: "unsuback"; readonly clientKey: string }
  /** The publish was taken (the broker layer may PUBACK/PUBREC it). */
  | { readonly type: "publish-accepted"; readonly clientKey: string }
  /** A downstream message for this client only, at the QoS it subscribed with. */
  | {
      readonly type: "deliver";
      readonly clientKey: string;
      readonly topic: string;
      readonly payload: string;
      readonly qos: QoS;
    }
  /** The broker must close this client's connection. */
  | { readonly type: "disconnect"; readonly clientKey: string; readonly reason: string }
  /** The input does not have the documented shape; nothing changed. */
  | { readonly type: "invalid-input"; readonly reason: string }
  /** Outcome of an admin input. */
  | {
      readonly type: "admin-result";
      readonly ok: boolean;
      readonly detail: string;
      readonly operationId?: string;
      /** Id of the event or object an `admin-create-event` / `admin-reserve-id` created. */
      readonly objectId?: string;
    };

export interface StepResult {
  readonly state: PlatformState;
  readonly outputs: readonly PlatformOutput[];
}

export type { Json, JsonObject };
