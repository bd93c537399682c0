/**
 * The engine configuration as a user writes it: strict io-ts codecs (an unknown key is refused
 * with the nearest valid one), ids checked as topic levels. `config.ts` resolves it with defaults.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { intRange, refine, strictObject } from "./decode.js";
import { validateChildId, validateDeviceId, validateXid, type IdError } from "../smartrest/topics.js";

const problemOf = <A>(result: E.Either<IdError, A>): string | undefined =>
  E.isLeft(result) ? result.left.reason : undefined;

const DeviceId = refine(t.string, "DeviceId", (id) => problemOf(validateDeviceId(id)));
const ChildId = refine(t.string, "ChildId", (id) => problemOf(validateChildId(id)));
const Xid = refine(t.string, "XId", (xid) => problemOf(validateXid(xid)));
const NonEmpty = refine(t.string, "NonEmptyString", (s) =>
  s.length === 0 ? "must not be empty" : undefined,
);

// Every object of the configuration is strict: an unknown key is refused with the nearest
// valid one, because a misspelt option would otherwise silently keep its default.
const BootstrapAuth = strictObject(
  "BootstrapAuth",
  { mode: t.literal("bootstrap"), bootstrapPassword: NonEmpty },
  { bootstrapTenant: NonEmpty, bootstrapUser: NonEmpty },
);
const PasswordAuth = strictObject(
  "PasswordAuth",
  { mode: t.literal("password"), tenant: NonEmpty, user: NonEmpty, password: NonEmpty },
  {},
);
const CertificateAuth = strictObject("CertificateAuth", { mode: t.literal("certificate") }, {});
type AuthInputType =
  t.TypeOf<typeof BootstrapAuth> | t.TypeOf<typeof PasswordAuth> | t.TypeOf<typeof CertificateAuth>;
/** The codec of each auth mode (the configuration reference is checked against them). */
export const AUTH_MODE_CODECS = {
  bootstrap: BootstrapAuth,
  password: PasswordAuth,
  certificate: CertificateAuth,
} as const;

export const AuthInput = new t.Type<AuthInputType, unknown, unknown>(
  "Auth",
  (u): u is AuthInputType => BootstrapAuth.is(u) || PasswordAuth.is(u) || CertificateAuth.is(u),
  (u, c) => {
    const mode = typeof u === "object" && u !== null ? (u as { mode?: unknown }).mode : undefined;
    switch (mode) {
      case "bootstrap":
        return BootstrapAuth.validate(u, c);
      case "password":
        return PasswordAuth.validate(u, c);
      case "certificate":
        return CertificateAuth.validate(u, c);
      default:
        return t.failure(
          u,
          c,
          `unknown auth mode ${JSON.stringify(mode)}: expected "bootstrap", "password" or "certificate"`,
        );
    }
  },
  (a) => a,
);

const ChildInput = strictObject(
  "Child",
  { id: ChildId },
  { name: t.string, type: t.string, parent: ChildId },
);

const ClassLimit = strictObject(
  "OutboxClassLimit",
  {},
  { maxMessages: intRange("count", 1, 10_000_000), maxBytes: intRange("bytes", 1, 2 ** 40) },
);

const CustomOperationInput = strictObject(
  "CustomOperation",
  { xid: Xid, messageId: NonEmpty, fragment: NonEmpty },
  { operationIdField: intRange("operationIdField", 0, 1000) },
);

const InventoryInput = strictObject(
  "Inventory",
  {},
  {
    requiredIntervalMinutes: refine(t.number, "Integer", (n) =>
      Number.isInteger(n) ? undefined : `must be an integer (got ${n})`,
    ),
    hardware: strictObject("Hardware", {}, { serialNumber: t.string, model: t.string, revision: t.string }),
    agent: strictObject(
      "Agent",
      { name: NonEmpty, version: NonEmpty, maintainer: NonEmpty },
      { url: t.string },
    ),
    supportedLogs: t.readonlyArray(NonEmpty),
    supportedConfigurations: t.readonlyArray(NonEmpty),
    supportedSoftwareTypes: t.readonlyArray(NonEmpty),
    remoteAccessProtocols: t.readonlyArray(NonEmpty),
  },
);

/** The engine configuration as written by a user: see docs/configuration.md. */
export const ConfigInputCodec = strictObject(
  "EngineConfig",
  { deviceId: DeviceId, auth: AuthInput },
  {
    device: strictObject("Device", {}, { name: t.string, type: t.string }),
    children: t.readonlyArray(ChildInput),
    subscribeErrors: t.boolean,
    customTemplates: t.readonlyArray(Xid),
    customOperations: t.readonlyArray(CustomOperationInput),
    supportedOperations: t.readonlyArray(NonEmpty),
    resumableOperations: t.readonlyArray(NonEmpty),
    inventory: InventoryInput,
    keepAliveSeconds: intRange("keepAliveSeconds", 10, 1200),
    inflightWindow: intRange("inflightWindow", 1, 65534),
    outboxMemoryRows: intRange("outboxMemoryRows", 2, 10_000_000),
    outbox: strictObject(
      "Outbox",
      {},
      {
        "operation-status": ClassLimit,
        alarm: ClassLimit,
        event: ClassLimit,
        inventory: ClassLimit,
        measurement: ClassLimit,
      },
    ),
    backoff: strictObject(
      "Backoff",
      {},
      {
        floorMs: intRange("floorMs", 100, 3_600_000),
        capMs: intRange("capMs", 100, 86_400_000),
        stableMs: intRange("stableMs", 0, 86_400_000),
        configErrorDelayMs: intRange("configErrorDelayMs", 1000, 86_400_000),
      },
    ),
    connectTimeoutMs: intRange("connectTimeoutMs", 1000, 600_000),
    bootstrapPollMs: intRange("bootstrapPollMs", 500, 600_000),
    credentialRejectLimit: intRange("credentialRejectLimit", 1, 1000),
    stopDeadlineMs: intRange("stopDeadlineMs", 0, 600_000),
    settleMs: intRange("settleMs", 0, 60_000),
    tombstoneMs: intRange("tombstoneMs", 0, 3_600_000),
    maxOpenOperations: intRange("maxOpenOperations", 1, 100_000),
    seed: intRange("seed", -(2 ** 31), 2 ** 32 - 1),
    operations: t.union([t.literal("by-id"), t.literal("static")]),
    finishedOperations: strictObject(
      "FinishedOperations",
      {},
      {
        maxCount: intRange("finishedOperations.maxCount", 1, 1_000_000),
        maxAgeMs: intRange("finishedOperations.maxAgeMs", 60_000, 365 * 24 * 3_600_000),
      },
    ),
  },
);

/**
 * What `decodeConfig` accepts, as a TypeScript type: an embedding application that writes
 * its configuration as a literal gets a compile error for a misspelt or mistyped option.
 */
export type EngineConfigInput = t.TypeOf<typeof ConfigInputCodec>;
