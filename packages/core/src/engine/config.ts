/**
 * Engine configuration: decoded with io-ts at the boundary, refused with a precise path
 * for every problem, then resolved (defaults applied, children ordered) into the
 * `EngineConfig` the reducer reads. Nothing here has side effects.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, type DecodeProblem } from "./decode.js";
import { AuthInput, ConfigInputCodec } from "./config-input.js";

export * from "./config-input.js";

export type AuthConfig =
  | { readonly mode: "bootstrap"; readonly tenant: string; readonly user: string; readonly password: string }
  | { readonly mode: "password"; readonly tenant: string; readonly user: string; readonly password: string }
  | { readonly mode: "certificate" };

export interface ChildConfig {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  /** Parent child id, or undefined for a first-level child of the device. */
  readonly parent: string | undefined;
}

export type OutboxClass = "operation-status" | "alarm" | "event" | "inventory" | "measurement";
/** Priority order: earlier classes are published first and dropped last. */
export const OUTBOX_CLASSES: readonly OutboxClass[] = [
  "operation-status",
  "alarm",
  "event",
  "inventory",
  "measurement",
];

export interface ClassLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/**
 * A response template of a custom collection that renders operations: lines
 * `<messageId>,<target device>,<values…>` on `s/dc/<xid>` are operations of `fragment`.
 * When `operationIdField` names the value holding the platform's operation id, status is
 * reported by id (504/505/506) instead of by fragment (501/502/503).
 */
export interface CustomOperationConfig {
  readonly xid: string;
  readonly messageId: string;
  readonly fragment: string;
  readonly operationIdField?: number;
}

export interface InventoryConfig {
  readonly requiredIntervalMinutes?: number;
  readonly hardware?: { readonly serialNumber?: string; readonly model?: string; readonly revision?: string };
  readonly agent?: {
    readonly name: string;
    readonly version: string;
    readonly url?: string;
    readonly maintainer: string;
  };
  readonly supportedLogs?: readonly string[];
  readonly supportedConfigurations?: readonly string[];
  readonly supportedSoftwareTypes?: readonly string[];
  readonly remoteAccessProtocols?: readonly string[];
}

export interface EngineConfig {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly deviceType: string;
  readonly auth: AuthConfig;
  /** Parents before children, otherwise in configuration order. */
  readonly children: readonly ChildConfig[];
  readonly subscribeErrors: boolean;
  readonly customTemplates: readonly string[];
  /** `s/dc/<X-ID>` response-template lines that are operations (see `CustomOperationConfig`). */
  readonly customOperations: readonly CustomOperationConfig[];
  /** Operation fragments the application handles; declared with 114, others are failed. */
  readonly supportedOperations: readonly string[];
  /**
   * Fragments whose operations survive a restart of the process: one found EXECUTING at the
   * start is handed to the application again (`resumed: true`) instead of being failed; the
   * application's own durable progress decides what runs again (see lifecycle/boot.ts).
   */
  readonly resumableOperations: readonly string[];
  readonly inventory: InventoryConfig;
  readonly keepAliveSeconds: number;
  readonly inflightWindow: number;
  readonly outbox: Readonly<Record<OutboxClass, ClassLimits>>;
  /**
   * Queued rows per outbox class kept in memory (the oldest); the rest stay in storage and
   * are read back as the head drains (`load-outbox`). Operation statuses are never paged.
   */
  readonly outboxMemoryRows: number;
  readonly backoff: {
    readonly floorMs: number;
    readonly capMs: number;
    readonly stableMs: number;
    readonly configErrorDelayMs: number;
  };
  readonly connectTimeoutMs: number;
  readonly bootstrapPollMs: number;
  readonly credentialRejectLimit: number;
  readonly stopDeadlineMs: number;
  /**
   * After every (re)subscription the engine sends `500` and waits until the answer is quiet
   * for this long (at most 5×) before it starts operations or sends id-less statuses:
   * see lifecycle/settling.ts. 0 disables settling.
   */
  readonly settleMs: number;
  /** How long a line of an ended operation is still taken for a stale redelivery. */
  readonly tombstoneMs: number;
  readonly maxOpenOperations: number;
  readonly seed: number;
  /**
   * How operations arrive and are reported. `by-id` (default): as JSON on
   * `devicecontrol/notifications`, journaled by the platform's operation id, status by id
   * (504/505/506) — exact. `static`: id-less `s/ds` lines and 501/502/503 (for brokers without
   * JSON via MQTT); see docs/architecture.md for what that mode cannot guarantee.
   */
  readonly operations: "by-id" | "static";
  /**
   * Ids of finished operations kept durably, so a redelivered id is never executed again:
   * at most `maxCount` ids, each for at most `maxAgeMs` after its terminal status was delivered.
   */
  readonly finishedOperations: { readonly maxCount: number; readonly maxAgeMs: number };
}

export const DEFAULT_OUTBOX: Readonly<Record<OutboxClass, ClassLimits>> = {
  "operation-status": { maxMessages: 10_000, maxBytes: 16 * 1024 * 1024 },
  alarm: { maxMessages: 10_000, maxBytes: 8 * 1024 * 1024 },
  event: { maxMessages: 50_000, maxBytes: 32 * 1024 * 1024 },
  inventory: { maxMessages: 10_000, maxBytes: 8 * 1024 * 1024 },
  measurement: { maxMessages: 1_000_000, maxBytes: 256 * 1024 * 1024 },
};

/*
 * Defaults a configuration that omits a part resolves to, shared by every engine of a process
 * (the core never mutates its configuration): a fleet of engines in one process would otherwise
 * hold a copy of each per engine, about 600 bytes. Objects are not frozen: V8 spreads a frozen
 * object into a larger, slower shape.
 */
const NONE: readonly never[] = Object.freeze([]);
const NO_INVENTORY: EngineConfig["inventory"] = {};
const DEFAULT_BACKOFF: EngineConfig["backoff"] = {
  floorMs: 1_000,
  capMs: 300_000,
  stableMs: 60_000,
  configErrorDelayMs: 60_000,
};
const DEFAULT_FINISHED_OPERATIONS: EngineConfig["finishedOperations"] = {
  maxCount: 1_000,
  maxAgeMs: 30 * 24 * 3_600_000,
};

/** Orders children parents-first (stable), refusing unknown parents, duplicates and cycles. */
const orderChildren = (
  deviceId: string,
  children: readonly ChildConfig[],
): E.Either<DecodeProblem[], ChildConfig[]> => {
  const problems: DecodeProblem[] = [];
  const byId = new Map<string, ChildConfig>();
  children.forEach((child, i) => {
    if (child.id === deviceId)
      problems.push({ path: `children.${i}.id`, message: "must differ from deviceId" });
    else if (byId.has(child.id))
      problems.push({ path: `children.${i}.id`, message: `duplicate child id "${child.id}"` });
    else byId.set(child.id, child);
  });
  children.forEach((child, i) => {
    if (child.parent !== undefined && child.parent !== deviceId && !byId.has(child.parent)) {
      problems.push({ path: `children.${i}.parent`, message: `unknown parent "${child.parent}"` });
    }
  });
  if (problems.length > 0) return E.left(problems);
  const ordered: ChildConfig[] = [];
  const placed = new Set<string>();
  // Repeatedly place every child whose parent is placed; a pass that places nothing means a cycle.
  let remaining = [...byId.values()];
  while (remaining.length > 0) {
    const next = remaining.filter((c) => !(c.parent === undefined || placed.has(c.parent)));
    const ready = remaining.filter((c) => c.parent === undefined || placed.has(c.parent));
    if (ready.length === 0) {
      return E.left([
        { path: "children", message: `parent cycle among ${next.map((c) => `"${c.id}"`).join(", ")}` },
      ]);
    }
    for (const c of ready) {
      ordered.push(c);
      placed.add(c.id);
    }
    remaining = next;
  }
  return E.right(ordered);
};

/**
 * Splits a user written as `<tenant>/<user>` (Cumulocity's docs write the bootstrap user as
 * `management/devicebootstrap`): the engine itself joins tenant and user, so the prefix
 * must not be sent twice. A prefix that contradicts the configured tenant is refused.
 */
const splitTenantPrefix = (
  path: string,
  user: string,
  tenant: string | undefined,
  tenantKey: string,
): E.Either<DecodeProblem, { tenant: string | undefined; user: string }> => {
  const slash = user.indexOf("/");
  if (slash < 0) return E.right({ tenant, user });
  const prefix = user.slice(0, slash);
  const rest = user.slice(slash + 1);
  if (prefix === "" || rest === "" || rest.includes("/"))
    return E.left({ path, message: `must be "<user>" or "<tenant>/<user>" (got ${JSON.stringify(user)})` });
  if (tenant !== undefined && tenant !== prefix)
    return E.left({
      path,
      message: `names tenant "${prefix}" but ${tenantKey} is "${tenant}": write the user without the tenant`,
    });
  return E.right({ tenant: prefix, user: rest });
};

const resolveAuth = (auth: t.TypeOf<typeof AuthInput>): E.Either<DecodeProblem, AuthConfig> => {
  switch (auth.mode) {
    case "bootstrap": {
      const split = splitTenantPrefix(
        "auth.bootstrapUser",
        auth.bootstrapUser ?? "devicebootstrap",
        auth.bootstrapTenant,
        "auth.bootstrapTenant",
      );
      if (E.isLeft(split)) return split;
      return E.right({
        mode: "bootstrap",
        tenant: split.right.tenant ?? "management",
        user: split.right.user,
        password: auth.bootstrapPassword,
      });
    }
    case "password": {
      const split = splitTenantPrefix("auth.user", auth.user, auth.tenant, "auth.tenant");
      if (E.isLeft(split)) return split;
      return E.right({
        mode: "password",
        tenant: auth.tenant,
        user: split.right.user,
        password: auth.password,
      });
    }
    case "certificate":
      return E.right({ mode: "certificate" });
  }
};

/** Decodes and resolves a configuration; every problem is reported with its path. */
export const decodeConfig = (input: unknown): E.Either<DecodeProblem[], EngineConfig> => {
  const decoded = decode(ConfigInputCodec, input);
  if (E.isLeft(decoded)) return decoded;
  const c = decoded.right;
  const problems: DecodeProblem[] = [];
  const backoff =
    c.backoff === undefined
      ? DEFAULT_BACKOFF
      : {
          floorMs: c.backoff.floorMs ?? DEFAULT_BACKOFF.floorMs,
          capMs: c.backoff.capMs ?? DEFAULT_BACKOFF.capMs,
          stableMs: c.backoff.stableMs ?? DEFAULT_BACKOFF.stableMs,
          configErrorDelayMs: c.backoff.configErrorDelayMs ?? DEFAULT_BACKOFF.configErrorDelayMs,
        };
  if (backoff.capMs < backoff.floorMs)
    problems.push({ path: "backoff.capMs", message: "must be ≥ backoff.floorMs" });
  const customTemplates = c.customTemplates ?? NONE;
  (c.customOperations ?? []).forEach((op, i) => {
    if (!customTemplates.includes(op.xid)) {
      problems.push({
        path: `customOperations.${i}.xid`,
        message: `"${op.xid}" is not in customTemplates (not subscribed)`,
      });
    }
  });
  const children = (c.children ?? []).map((child) => ({
    id: child.id,
    name: child.name ?? child.id,
    type: child.type ?? "c8y_MQTTChildDevice",
    parent: child.parent === c.deviceId ? undefined : child.parent,
  }));
  const ordered = orderChildren(c.deviceId, children);
  if (E.isLeft(ordered)) problems.push(...ordered.left);
  const auth = resolveAuth(c.auth);
  if (E.isLeft(auth)) problems.push(auth.left);
  if (problems.length > 0 || E.isLeft(ordered) || E.isLeft(auth)) return E.left(problems);
  const outbox =
    c.outbox === undefined
      ? DEFAULT_OUTBOX
      : (Object.fromEntries(
          OUTBOX_CLASSES.map((k) => [k, { ...DEFAULT_OUTBOX[k], ...(c.outbox?.[k] ?? {}) }]),
        ) as Record<OutboxClass, ClassLimits>);
  return E.right({
    deviceId: c.deviceId,
    deviceName: c.device?.name ?? c.deviceId,
    deviceType: c.device?.type ?? "c8y_MQTTDevice",
    auth: auth.right,
    children: ordered.right.length === 0 ? NONE : ordered.right,
    subscribeErrors: c.subscribeErrors ?? true,
    customTemplates,
    customOperations: c.customOperations ?? NONE,
    supportedOperations: c.supportedOperations ?? NONE,
    resumableOperations: c.resumableOperations ?? NONE,
    inventory: c.inventory ?? NO_INVENTORY,
    keepAliveSeconds: c.keepAliveSeconds ?? 60,
    inflightWindow: c.inflightWindow ?? 100,
    outbox,
    outboxMemoryRows: c.outboxMemoryRows ?? 10_000,
    backoff,
    connectTimeoutMs: c.connectTimeoutMs ?? 30_000,
    bootstrapPollMs: c.bootstrapPollMs ?? 5_000,
    credentialRejectLimit: c.credentialRejectLimit ?? 3,
    stopDeadlineMs: c.stopDeadlineMs ?? 10_000,
    settleMs: c.settleMs ?? 5_000,
    tombstoneMs: c.tombstoneMs ?? 60_000,
    maxOpenOperations: c.maxOpenOperations ?? 1_000,
    seed: (c.seed ?? 1) >>> 0,
    operations: c.operations ?? "by-id",
    finishedOperations:
      c.finishedOperations === undefined
        ? DEFAULT_FINISHED_OPERATIONS
        : {
            maxCount: c.finishedOperations.maxCount ?? DEFAULT_FINISHED_OPERATIONS.maxCount,
            maxAgeMs: c.finishedOperations.maxAgeMs ?? DEFAULT_FINISHED_OPERATIONS.maxAgeMs,
          },
  });
};
