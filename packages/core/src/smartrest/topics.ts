/**
 * Every MQTT topic c8ylink publishes to or subscribes on, built and parsed in one place
 * (spec §2.1–§2.3, §3.1, §6.1, §8.1), plus the MQTT ClientId (spec §1.3).
 *
 * Identifiers that end up inside a topic or the ClientId come from users, so they are
 * validated once and then carried as branded strings (`DeviceId`, `ChildId`, `Xid`).
 * The builders only accept branded values and are therefore total: an invalid topic
 * cannot be built by accident. Parsers go the other way and never throw.
 */
import * as E from "fp-ts/lib/Either.js";
import { invalidTextReason, utf8ByteLength } from "./text.js";

// ---------------------------------------------------------------------------------------------
// Processing modes

/** Processing mode of an upstream message (spec §2.4); it is the first topic level. */
export type ProcessingMode = "persistent" | "transient" | "quiescent" | "cep";

export const PROCESSING_MODES: readonly ProcessingMode[] = ["persistent", "transient", "quiescent", "cep"];

const MODE_PREFIX: Readonly<Record<ProcessingMode, string>> = {
  persistent: "s",
  transient: "t",
  quiescent: "q",
  cep: "c",
};

const modeOfPrefix = (prefix: string): ProcessingMode | undefined =>
  PROCESSING_MODES.find((mode) => MODE_PREFIX[mode] === prefix);

// ---------------------------------------------------------------------------------------------
// Fixed topics

/** Static templates downstream: operations and answers (106, 124, 5xx, 601, 603). */
export const TOPIC_STATIC_DOWN = "s/ds";
/** Operations as JSON, each with the platform's operation id (spec §2.7). */
export const TOPIC_OPERATION_NOTIFICATIONS = "devicecontrol/notifications";
/** Error / debug lines for this client's publishes (spec §2.6). */
export const TOPIC_ERRORS = "s/e";
/** Answers to template-collection registration / existence checks (`20`, `41`). */
export const TOPIC_TEMPLATE_STATUS = "s/dt";
/** Bootstrap: empty publish = "ready for credentials". */
export const TOPIC_CREDENTIALS_UP = "s/ucr";
/** Bootstrap: `70,<tenant>,<user>,<password>`. */
export const TOPIC_CREDENTIALS_DOWN = "s/dcr";
/** Empty publish = "send me a JWT" (certificate sessions). */
export const TOPIC_TOKEN_UP = "s/uat";
/** `71,<jwt>`. */
export const TOPIC_TOKEN_DOWN = "s/dat";

// ---------------------------------------------------------------------------------------------
// Identifier validation

declare const childIdBrand: unique symbol;
declare const deviceIdBrand: unique symbol;
declare const xidBrand: unique symbol;

/** An external id usable as one topic level (`s/us/<child>`). May contain `:` (thin-edge style ids do). */
export type ChildId = string & { readonly [childIdBrand]: true };
/**
 * A root device identifier usable in the ClientId. Stricter than `ChildId` (no `:`), so every
 * `DeviceId` is also a valid `ChildId`.
 */
export type DeviceId = ChildId & { readonly [deviceIdBrand]: true };
/** A SmartREST 2.0 template collection id (X-ID). */
export type Xid = string & { readonly [xidBrand]: true };

export interface IdError {
  readonly kind: "id-invalid";
  readonly what: "device id" | "child id" | "X-ID";
  readonly value: string;
  readonly reason: string;
}

/**
 * Upper bound for every identifier, in UTF-8 bytes. The core broker documents no limit; 128 is
 * the MQTT Service's ClientId cap (spec §1.7) and far above real serials, so it only catches
 * garbage (a whole file pasted as a serial) before it reaches a topic or a CSV field.
 */
export const MAX_ID_BYTES = 128;

/** Reason shared by all identifiers, or undefined when `value` is a well-formed topic level. */
const topicLevelProblem = (value: string): string | undefined => {
  if (value.length === 0) return "empty";
  if (utf8ByteLength(value) > MAX_ID_BYTES) return `longer than ${MAX_ID_BYTES} UTF-8 bytes`;
  // `/` would add a topic level; `+` and `#` are MQTT wildcards and illegal in published topics.
  for (const c of ["/", "+", "#"]) if (value.includes(c)) return `contains '${c}'`;
  // Control characters (also TAB/LF/CR, which are fine in free text but not in ids) and lone surrogates.
  const text = invalidTextReason(value);
  if (text !== undefined) return text;
  const ws = /[\t\n\r]/.exec(value);
  if (ws !== null) return `control character at index ${ws.index}`;
  if (/[\u0080-\u009f]/.test(value)) return "contains a C1 control character";
  return undefined;
};

const checked = <B extends string>(what: IdError["what"], value: string, problem: string | undefined) =>
  problem === undefined
    ? E.right(value as B)
    : E.left<IdError, B>({ kind: "id-invalid", what, value, reason: `${what} ${problem}` });

/**
 * Root device identifier (the ClientId's `deviceIdentifier`, becomes the `c8y_Serial` external id):
 * non-empty, ≤ MAX_ID_BYTES, no `/ + #` (topic syntax), no `:` (ClientId separator, spec §1.3),
 * no control characters or lone surrogates.
 */
export const validateDeviceId = (id: string): E.Either<IdError, DeviceId> =>
  checked<DeviceId>(
    "device id",
    id,
    topicLevelProblem(id) ?? (id.includes(":") ? "contains ':'" : undefined),
  );

/** Child / service external id used as a topic level: like a device id, but `:` is allowed. */
export const validateChildId = (id: string): E.Either<IdError, ChildId> =>
  checked<ChildId>("child id", id, topicLevelProblem(id));

/**
 * X-ID: a topic level, and also refused with `:` because it can be the ClientId's third part
 * (`d:<id>:<xid>`), where `:` is the separator.
 */
export const validateXid = (xid: string): E.Either<IdError, Xid> =>
  checked<Xid>("X-ID", xid, topicLevelProblem(xid) ?? (xid.includes(":") ? "contains ':'" : undefined));

// ---------------------------------------------------------------------------------------------
// Builders (total: they only take validated ids)

const withChild = (topic: string, child: ChildId | undefined): string =>
  child === undefined ? topic : `${topic}/${child}`;

/** Static templates upstream: `s/us`, `t/us`, `q/us`, `c/us`, plus `/<child>` for a child or service. */
/** Built once: `staticUp` runs per submitted row, and the topic stays with the row in the outbox. */
const STATIC_UP = Object.fromEntries(
  Object.entries(MODE_PREFIX).map(([mode, prefix]) => [mode, `${prefix}/us`]),
) as Record<ProcessingMode, string>;

export const staticUp = (mode: ProcessingMode, child?: ChildId): string => withChild(STATIC_UP[mode], child);

/** Custom (SmartREST 2.0 collection) messages upstream: `s/uc/<X-ID>[/<child>]`. */
export const customUp = (xid: Xid, mode: ProcessingMode, child?: ChildId): string =>
  withChild(`${MODE_PREFIX[mode]}/uc/${xid}`, child);

/** Template-collection registration or existence check: `s/ut/<X-ID>`. */
export const templateUp = (xid: Xid): string => `s/ut/${xid}`;

/** Responses / operations rendered by the collection's response templates: `s/dc/<X-ID>`. */
export const customDown = (xid: Xid): string => `s/dc/${xid}`;

/** ClientId `d:<id>` or, with a default collection, `d:<id>:<xid>` (the `d:` is then mandatory). */
export const clientId = (deviceId: DeviceId, defaultXid?: Xid): string =>
  defaultXid === undefined ? `d:${deviceId}` : `d:${deviceId}:${defaultXid}`;

export interface ParsedClientId {
  readonly deviceId: DeviceId;
  readonly defaultXid?: Xid;
}

/**
 * Inverse of `clientId`, also accepting a bare identifier (spec §1.3: `mySerial`, `d:mySerial`,
 * `d:mySerial:myTemplate`). Only connection type `d` is documented; anything else is refused.
 */
export const parseClientId = (value: string): E.Either<IdError, ParsedClientId> => {
  const parts = value.split(":");
  if (parts.length === 1) return E.map((deviceId: DeviceId) => ({ deviceId }))(validateDeviceId(value));
  const [type, id = "", xid] = parts;
  if (type !== "d" || parts.length > 3) {
    return E.left({ kind: "id-invalid", what: "device id", value, reason: "ClientId is not d:<id>[:<xid>]" });
  }
  const device = validateDeviceId(id);
  if (E.isLeft(device)) return device;
  if (xid === undefined) return E.right({ deviceId: device.right });
  return E.map((defaultXid: Xid) => ({ deviceId: device.right, defaultXid }))(validateXid(xid));
};

// ---------------------------------------------------------------------------------------------
// Upstream topic parsing (used by the platform simulator)

/** What an upstream topic means; `upTopic` builds it and `parseUpTopic` reads it back. */
export type UpTopic =
  | { readonly type: "static"; readonly mode: ProcessingMode; readonly child?: ChildId }
  | { readonly type: "custom"; readonly mode: ProcessingMode; readonly xid: Xid; readonly child?: ChildId }
  | { readonly type: "template"; readonly xid: Xid }
  | { readonly type: "credentials" }
  | { readonly type: "token" };

export interface TopicError {
  readonly kind: "topic-invalid";
  readonly topic: string;
  readonly reason: string;
}

/** Builds any upstream topic from its description. */
export const upTopic = (up: UpTopic): string => {
  switch (up.type) {
    case "static":
      return staticUp(up.mode, up.child);
    case "custom":
      return customUp(up.xid, up.mode, up.child);
    case "template":
      return templateUp(up.xid);
    case "credentials":
      return TOPIC_CREDENTIALS_UP;
    case "token":
      return TOPIC_TOKEN_UP;
  }
};

/**
 * Reads an upstream topic. Credentials, token and template topics exist only in the `s/`
 * (persistent) form; `s/ud`, SmartREST 1.0 (`s/ul`) and JSON topics are not handled by c8ylink
 * and are refused like any other unknown topic.
 */
export const parseUpTopic = (topic: string): E.Either<TopicError, UpTopic> => {
  const fail = (reason: string) => E.left<TopicError, UpTopic>({ kind: "topic-invalid", topic, reason });
  const levels = topic.split("/");
  const [prefix = "", kind = "", ...rest] = levels;
  const mode = modeOfPrefix(prefix);
  if (mode === undefined) return fail(`unknown processing-mode prefix '${prefix}'`);
  const persistentOnly = (up: UpTopic): E.Either<TopicError, UpTopic> =>
    mode === "persistent" ? E.right(up) : fail(`'${kind}' topics exist only with prefix 's'`);
  const child = (level: string | undefined): E.Either<TopicError, ChildId | undefined> =>
    level === undefined
      ? E.right(undefined)
      : E.mapLeft((e: IdError) => ({ kind: "topic-invalid" as const, topic, reason: e.reason }))(
          validateChildId(level),
        );
  const xidOf = (level: string | undefined): E.Either<TopicError, Xid> =>
    E.mapLeft((e: IdError) => ({ kind: "topic-invalid" as const, topic, reason: e.reason }))(
      validateXid(level ?? ""),
    );

  switch (kind) {
    case "us": {
      if (rest.length > 1) return fail("more than one child level");
      const c = child(rest[0]);
      if (E.isLeft(c)) return c;
      return E.right(
        c.right === undefined ? { type: "static", mode } : { type: "static", mode, child: c.right },
      );
    }
    case "uc": {
      if (rest.length === 0) return fail("missing X-ID");
      if (rest.length > 2) return fail("more than one child level");
      const x = xidOf(rest[0]);
      if (E.isLeft(x)) return x;
      const c = child(rest[1]);
      if (E.isLeft(c)) return c;
      return E.right(
        c.right === undefined
          ? { type: "custom", mode, xid: x.right }
          : { type: "custom", mode, xid: x.right, child: c.right },
      );
    }
    case "ut": {
      if (rest.length !== 1) return fail("expected s/ut/<X-ID>");
      const x = xidOf(rest[0]);
      if (E.isLeft(x)) return x;
      return persistentOnly({ type: "template", xid: x.right });
    }
    case "ucr":
      return rest.length === 0
        ? persistentOnly({ type: "credentials" })
        : fail("unexpected levels after ucr");
    case "uat":
      return rest.length === 0 ? persistentOnly({ type: "token" }) : fail("unexpected levels after uat");
    default:
      return fail(`unknown upstream topic type '${kind}'`);
  }
};

// ---------------------------------------------------------------------------------------------
// Downstream routing

/** Which handler an incoming (platform → device) message belongs to. */
export type DownTopic =
  | { readonly kind: "static" }
  | { readonly kind: "custom"; readonly xid: Xid }
  | { readonly kind: "error" }
  | { readonly kind: "credentials" }
  | { readonly kind: "token" }
  | { readonly kind: "template-status" }
  /** `devicecontrol/notifications`: operations as JSON, with their ids (spec §2.7). */
  | { readonly kind: "operations-json" }
  | { readonly kind: "unknown" };

/** Routes an incoming topic; anything not subscribed by c8ylink (or malformed) is `unknown`. */
export const classifyDownTopic = (topic: string): DownTopic => {
  switch (topic) {
    case TOPIC_STATIC_DOWN:
      return { kind: "static" };
    case TOPIC_ERRORS:
      return { kind: "error" };
    case TOPIC_CREDENTIALS_DOWN:
      return { kind: "credentials" };
    case TOPIC_TOKEN_DOWN:
      return { kind: "token" };
    case TOPIC_TEMPLATE_STATUS:
      return { kind: "template-status" };
    case TOPIC_OPERATION_NOTIFICATIONS:
      return { kind: "operations-json" };
  }
  const prefix = "s/dc/";
  if (topic.startsWith(prefix)) {
    const xid = validateXid(topic.slice(prefix.length));
    if (E.isRight(xid)) return { kind: "custom", xid: xid.right };
  }
  return { kind: "unknown" };
};
