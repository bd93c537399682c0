/**
 * The platform model's entry points: `initialPlatform(options)` and
 * `platformStep(state, input) → { state, outputs }`.
 *
 * The step is pure and total: the input state is never mutated, the same (state, input) always
 * gives the same result, and no input makes it throw — an input that does not even have the
 * documented shape (e.g. parsed from a log) is answered with an `invalid-input` output and
 * leaves the state unchanged.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, formatProblems } from "@c8ylink/core";
import { createOperation } from "./operations.js";
import type {
  PlatformInput,
  PlatformOptions,
  PlatformOutput,
  PlatformState,
  StepResult,
  User,
} from "./model.js";
import { checkAvailability } from "./availability.js";
import { PMap, PVec } from "./persistent.js";
import { adminRemoveCertificate, adminTrustCertificate } from "./certificates.js";
import { adminSetAlarmStatus } from "./data.js";
import { publish } from "./publish.js";
import { adminAccept, adminBlock, adminDeleteDevice, adminRegister } from "./registration.js";
import { adminRefuseNextConnect, connect, subscribe, unsubscribe } from "./sessions.js";
import { clientDisconnect } from "./will.js";
import { adminCreateEvent, adminReserveId, adminSetEventBinary } from "./rest.js";
import type { Tx } from "./tx.js";

export const initialPlatform = (options: PlatformOptions = {}): PlatformState => {
  const users = PMap.from<User>(
    (options.users ?? []).map(({ username, password }) => [
      username,
      { username, password, origin: "provisioned", disabled: false },
    ]),
  );
  return {
    config: {
      tenantId: options.tenantId ?? "t100",
      bootstrapPassword: options.bootstrapPassword ?? "bootstrap-secret",
      trustedCertificates: [...(options.trustedCertificates ?? [])],
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
      tokenRenewalAfterHalfLife: options.tokenRenewalAfterHalfLife ?? false,
      autoAccept: options.autoAccept ?? false,
      refuseSubscribeBeforeDevice: options.refuseSubscribeBeforeDevice ?? false,
      platformVersion: options.platformVersion ?? "2025.0.0",
      jsonOperations: options.jsonOperations ?? true,
      storeAllModes: options.storeAllModes ?? false,
      rateLimit: options.rateLimit ?? null,
    },
    nextId: options.firstId ?? 1001,
    seed: options.seed ?? 1,
    managedObjects: PMap.empty(),
    identities: PMap.empty(),
    users,
    registrations: PMap.empty(),
    sessions: PMap.empty(),
    liveSessions: PMap.empty(),
    measurements: PVec.empty(),
    events: PVec.empty(),
    alarms: PVec.empty(),
    alarmsBySourceType: PMap.empty(),
    operations: [],
    collections: {},
    errors: PVec.empty(),
    connectionLog: PVec.empty(),
    certificates: {},
    tokens: PMap.empty(),
    refuseNextConnect: {},
  };
};

// ---------------------------------------------------------------------------------------------
// Input shapes (checked at the boundary so that handlers can trust field types)

const at = { nowMs: t.number };
const nullableString = t.union([t.string, t.null]);
const WillCodec = t.type({ topic: t.string, payload: t.string, qos: t.number });
const withDevice = <L extends string>(type: L) =>
  t.type({ type: t.literal(type), ...at, deviceId: t.string });

export const PlatformInputCodec = t.union([
  t.intersection([
    t.type({
      type: t.literal("client-connect"),
      ...at,
      clientKey: t.string,
      clientId: t.string,
      username: nullableString,
      password: nullableString,
      certificateCn: nullableString,
    }),
    t.partial({
      protocolLevel: t.number,
      will: WillCodec,
      certificate: t.type({
        cn: t.string,
        issuerFingerprint: nullableString,
        validFromMs: t.number,
        validToMs: t.number,
      }),
    }),
  ]),
  t.type({
    type: t.literal("client-subscribe"),
    ...at,
    clientKey: t.string,
    topics: t.array(t.type({ topic: t.string, qos: t.number })),
  }),
  t.type({ type: t.literal("client-unsubscribe"), ...at, clientKey: t.string, topics: t.array(t.string) }),
  t.intersection([
    t.type({
      type: t.literal("client-publish"),
      ...at,
      clientKey: t.string,
      topic: t.string,
      payload: t.string,
      qos: t.number,
    }),
    t.partial({ payloadBytes: t.number, messageId: t.number }),
  ]),
  t.intersection([
    t.type({ type: t.literal("client-disconnect"), ...at, clientKey: t.string }),
    t.partial({ clean: t.boolean }),
  ]),
  t.type({ type: t.literal("clock-tick"), ...at }),
  t.type({ type: t.literal("admin-acknowledge-alarm"), ...at, alarmId: t.string }),
  t.type({ type: t.literal("admin-clear-alarm"), ...at, alarmId: t.string }),
  t.type({
    type: t.literal("admin-refuse-next-connect"),
    ...at,
    deviceId: t.string,
    code: t.union([t.literal(3), t.literal(5)]),
  }),
  t.type({
    type: t.literal("admin-trust-certificate"),
    ...at,
    certificate: t.type({
      fingerprint: t.string,
      name: t.string,
      subject: t.string,
      status: t.union([t.literal("ENABLED"), t.literal("DISABLED")]),
      autoRegistration: t.boolean,
      notAfterMs: t.number,
      pem: t.string,
    }),
  }),
  t.type({ type: t.literal("admin-remove-certificate"), ...at, fingerprint: t.string }),
  t.intersection([
    t.type({
      type: t.literal("admin-create-event"),
      ...at,
      sourceId: t.string,
      eventType: t.string,
      text: t.string,
    }),
    t.partial({ time: t.string, fragments: t.UnknownRecord }),
  ]),
  t.type({
    type: t.literal("admin-set-event-binary"),
    ...at,
    eventId: t.string,
    binary: t.union([t.null, t.type({ name: t.string, type: t.string, length: t.number })]),
  }),
  t.type({ type: t.literal("admin-reserve-id"), ...at }),
  withDevice("admin-register"),
  withDevice("admin-accept"),
  withDevice("admin-block"),
  withDevice("admin-delete-device"),
  t.intersection([
    t.type({
      type: t.literal("admin-create-operation"),
      ...at,
      deviceId: t.string,
      fragments: t.UnknownRecord,
    }),
    t.partial({ description: t.string }),
  ]),
]);

const dispatch = (tx: Tx, input: PlatformInput): void => {
  switch (input.type) {
    case "client-connect":
      return connect(tx, input);
    case "client-subscribe":
      return subscribe(tx, input);
    case "client-unsubscribe":
      return unsubscribe(tx, input);
    case "client-publish":
      return publish(tx, input);
    case "client-disconnect":
      return clientDisconnect(tx, input);
    case "clock-tick":
      return checkAvailability(tx);
    case "admin-acknowledge-alarm":
      return adminSetAlarmStatus(tx, input.alarmId, "ACKNOWLEDGED");
    case "admin-clear-alarm":
      return adminSetAlarmStatus(tx, input.alarmId, "CLEARED");
    case "admin-refuse-next-connect":
      return adminRefuseNextConnect(tx, input.deviceId, input.code);
    case "admin-trust-certificate":
      return adminTrustCertificate(tx, input.certificate);
    case "admin-remove-certificate":
      return adminRemoveCertificate(tx, input.fingerprint);
    case "admin-register":
      return adminRegister(tx, input.deviceId);
    case "admin-accept":
      return adminAccept(tx, input.deviceId);
    case "admin-block":
      return adminBlock(tx, input.deviceId);
    case "admin-delete-device":
      return adminDeleteDevice(tx, input.deviceId);
    case "admin-create-operation":
      return createOperation(tx, input);
    case "admin-create-event":
      return adminCreateEvent(tx, input);
    case "admin-set-event-binary":
      return adminSetEventBinary(tx, input);
    case "admin-reserve-id":
      return adminReserveId(tx, input);
  }
};

export const platformStep = (state: PlatformState, input: PlatformInput): StepResult => {
  const checked = decode(PlatformInputCodec, input);
  if (E.isLeft(checked)) {
    const output: PlatformOutput = { type: "invalid-input", reason: formatProblems(checked.left) };
    return { state, outputs: [output] };
  }
  const tx: Tx = { s: state, now: input.nowMs, out: [] };
  dispatch(tx, input);
  return { state: tx.s, outputs: tx.out };
};
