/**
 * The embedding API: one `Engine` per device connection. It decodes the configuration,
 * wires the core to MQTT.js, storage and the event log through the `Driver`, and turns the
 * core's commands into callbacks and promises for the application.
 *
 * @example
 * ```ts
 * const engine = createEngine({
 *   config: { deviceId: "pump-17", auth: { mode: "password", tenant: "t1", user: "device_pump-17", password: "…" },
 *             supportedOperations: ["c8y_Restart"] },
 *   url: "mqtts://mqtt.eu-latest.cumulocity.com:8883",
 *   stateDir: "/var/lib/pump-17",
 * });
 * engine.handle("c8y_Restart", async () => ({ status: "successful" }));
 * await engine.start();
 * engine.submit({ template: "200", fragment: "c8y_Temperature", series: "T", value: 21.5, unit: "C" });
 * ```
 */
import { randomInt } from "node:crypto";
import * as E from "fp-ts/lib/Either.js";
import {
  EventCodec,
  decodeConfig,
  formatProblems,
  heldCount,
  problemsOf,
  type Command,
  type Counters,
  type EngineConfig,
  type EngineConfigInput,
  type EngineState,
  type Event,
  type OutboxClass,
  type PhaseName,
  type ProcessingMode,
  type BatchRow,
  type Credentials,
  type Report,
  type UpstreamMessage,
  UPSTREAM_CODECS,
} from "@c8ylink/core";
import type * as t from "io-ts";
import type { IClientOptions, MqttClient } from "mqtt";
import type { Clock } from "./clock.js";
import {
  Driver,
  type DriverOptions,
  type EventInput,
  type StepRecorder,
  type ExecuteOperationCommand,
  type InvariantCheck,
  type TlsOptions,
} from "./driver.js";
import { FileStore, type StoreProblem } from "./file-store.js";
import { appended, none } from "./lists.js";
import { SqliteStore } from "./sqlite-store.js";
import { Recorder } from "./recorder.js";
import { copyIfScalarMessage, scalarCodecOf, type ScalarCodec } from "./scalar-rows.js";
import { claimStateDir, type StateDirClaim } from "./state-dir.js";
import { tlsProblems } from "./tls-check.js";
import { MemoryStorage, type Storage } from "./storage.js";
import { jwtExpiryMs, type TenantAuth } from "./tenant-auth.js";

/** Identifies the code that wrote an event log (header field `engineVersion`). */
export type { EngineConfigInput };

export const ENGINE_VERSION = "@c8ylink/core 0.1.0 + @c8ylink/mqtt 0.1.0";

export interface EngineOptions {
  /**
   * The engine configuration (docs/configuration.md). Typed so that a misspelt option in a
   * literal fails to compile; still decoded here, since configurations also come from files.
   * Without `seed`, a seed drawn from entropy at each `createEngine` is used (and recorded in
   * the event log), so a fleet's retry jitter differs from device to device; give `seed` for a
   * fixed one.
   */
  readonly config: EngineConfigInput;
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883`, `ws://host/mqtt`, `wss://host/mqtt`. */
  readonly url: string;
  /**
   * Directory for the crash-safe file store (created if missing). Excludes `storage`. It is
   * locked while the engine runs (`<stateDir>/lock`, holding the pid; `start()` refuses a
   * directory another running engine holds) and bound to `config.deviceId` at first use
   * (`<stateDir>/device.json`; `start()` refuses a directory of another device).
   */
  readonly stateDir?: string;
  /** A custom storage adapter. Without `stateDir` and `storage` the engine keeps state in memory only. */
  readonly storage?: Storage;
  /** Write the event log (header + one line per step) to this file; gzip-compressed when it ends in `.gz`. */
  readonly recordTo?: string;
  /**
   * What `recordTo` does with an existing file: `truncate` (default) starts it afresh; `append`
   * keeps earlier lives and adds this one after them, beginning with its own header (see
   * docs/event-log.md, "Several lives in one file").
   */
  readonly recordMode?: "truncate" | "append";
  /** TLS material; server verification is on unless `rejectUnauthorized: false`. */
  readonly tls?: TlsOptions;
  /** Time source (default: monotonic `performance.now()`). */
  readonly clock?: Clock;
  /** Called after every step with the state before and after; throw to stop the engine. */
  readonly checkInvariants?: InvariantCheck;
  /** Unreadable files or lines found by the file store at start (the engine carries on). */
  readonly onStorageProblem?: (problem: StoreProblem) => void;
  /** The engine stopped working (invariant violated, internal error). */
  readonly onFault?: (error: Error) => void;
  /**
   * The store behind `stateDir`: SQLite (`store.db`, default; a directory written by the
   * append log is imported at the first start) or the JSON append log (`append-log`).
   * `compactAtBytes` applies to the append log only.
   */
  readonly fileStore?: {
    readonly kind?: "sqlite" | "append-log";
    readonly compactAtBytes?: number;
    readonly fsync?: boolean;
  };
  /** Replaces `mqtt.connect` (instrumentation and tests). */
  readonly mqttConnect?: (url: string, options: IClientOptions) => MqttClient;
}

/** Per-message options of `submit` / `submitCustom`. */
export interface SubmitOptions {
  /** Child (or nested child) external id: the row goes to `s/us/<child>`. */
  readonly child?: string;
  /** SmartREST processing mode (default `persistent`). */
  readonly mode?: ProcessingMode;
  /** Opaque tag echoed in `accepted` / `dropped` / `rejected` reports. */
  readonly tag?: string;
}

export interface SubmitCustomOptions extends SubmitOptions {
  /** Outbox class the row is queued in (default `event`). */
  readonly priority?: OutboxClass;
}

/**
 * `accepted` means queued in memory; the row is *durable* once its storage write completed
 * (`whenDurable`). Rows accepted but not yet durable are lost by a crash.
 */
export type SubmitResult =
  { readonly accepted: true; readonly ref: number } | { readonly accepted: false; readonly reason: string };

/** One row of `submitMany`: a static-template message or a custom-template row, with its options. */
export type SubmitRow =
  | ({ readonly message: UpstreamMessage } & SubmitOptions)
  | ({ readonly xid: string; readonly values: readonly string[] } & SubmitCustomOptions);

/** What `submitMany` did with each row. */
export interface BatchResult {
  /** Rows queued. */
  readonly accepted: number;
  /** Rows refused (never sent), by their index in the given rows, with why. */
  readonly refused: readonly { readonly index: number; readonly reason: string }[];
  /** Refs of the accepted rows, ascending in row order (null when none was accepted). */
  readonly firstRef: number | null;
  readonly lastRef: number | null;
  /**
   * Resolves when every accepted row of the batch is durable (one storage write for the whole
   * batch); rejects when that write failed or the engine stopped first.
   */
  durable(): Promise<void>;
}

export type OperationOutcome =
  | { readonly status: "successful"; readonly parameters?: readonly string[] }
  | { readonly status: "failed"; readonly reason: string };

export interface OperationContext {
  /** Journal key of the operation (stable across restarts). */
  readonly key: string;
  /** External id of the device or child that must execute it. */
  readonly deviceId: string;
  /**
   * The operation was executing when the process stopped (crash, reboot) and its fragment is in
   * `resumableOperations`: continue it from the application's own durable progress.
   */
  readonly resumed: boolean;
}

/**
 * An operation handed to the application: a static-template operation from `s/ds` (`Operation`
 * of `@c8ylink/core`, discriminated by `fragment`/`template`) or, when the configuration declares
 * custom operations, a custom-template one (`template: "custom"`).
 */
export type Operation = ExecuteOperationCommand["operation"];

export type OperationHandler = (operation: Operation, context: OperationContext) => Promise<OperationOutcome>;

export interface Engine {
  /** Loads storage and starts connecting. Resolves once the core has the `start` event. */
  start(): Promise<void>;
  /**
   * Queues a static-template message (synchronous). `accepted` carries the ref that later
   * `delivered` reports name; rejected submissions are never sent.
   */
  submit(message: UpstreamMessage, options?: SubmitOptions): SubmitResult;
  /** Queues a SmartREST 2.0 custom-template row (`values[0]` is the message id) for X-ID `xid`. */
  submitCustom(xid: string, values: readonly string[], options?: SubmitCustomOptions): SubmitResult;
  /**
   * Queues many rows in one step (synchronous): each row is validated on its own (refusals
   * listed by index), but the batch costs one step, one report and one storage write. The
   * fast path for bulk input: per row it costs a fraction of `submit`.
   */
  submitMany(rows: readonly SubmitRow[]): BatchResult;
  /**
   * Registers the handler of one operation fragment (replacing a previous one). A thrown or
   * rejected error fails the operation with its message; an operation whose fragment has no
   * handler is failed with a reason naming the fragment. Returns an unregister function.
   */
  handle(fragment: string, handler: OperationHandler): () => void;
  /**
   * How the device authenticates to the tenant's REST API, e.g. to download or upload files:
   * `basic` with the configured credentials in password mode or the ones received with `70` in
   * bootstrap mode (undefined until the registration is accepted); `bearer` with the JWT last
   * received on `s/dat` with certificate authentication (the engine asks for one on `s/uat`
   * each time it is online; undefined before the first arrives and once it has expired). Read
   * it at each use: a re-registration or a fresh token replaces it.
   */
  tenantCredentials(): TenantAuth | undefined;
  /** Observes every report of the core. Returns an unsubscribe function. */
  onReport(listener: (report: Report) => void): () => void;
  /** Observes every operation handed out (before its handler runs). Returns an unsubscribe function. */
  onOperation(listener: (operation: Operation, context: OperationContext) => void): () => void;
  /** Current lifecycle phase. */
  phase(): PhaseName;
  counters(): Counters;
  /** The full core state (immutable). */
  state(): EngineState;
  /** Resolves when the phase is `online`; rejects after `timeoutMs` or when the engine stops. */
  whenOnline(timeoutMs: number): Promise<void>;
  /**
   * Resolves when nothing accepted is waiting: the outbox is empty and no publish is in
   * flight. Rejects after `timeoutMs` (default: never) or when the engine stops first.
   */
  whenDrained(timeoutMs?: number): Promise<void>;
  /**
   * Resolves when the submission `ref` (default: the last one accepted) is durable: written by
   * the storage (the file store: on disk, fsynced; memory storage: in memory), or delivered and
   * removed. Submissions become durable in order, so awaiting the last ref covers every earlier
   * one. Rejects when its storage write failed (the row stays queued in memory and is still
   * delivered while the engine runs) or when the engine stops first.
   */
  whenDurable(ref?: number): Promise<void>;
  /** Submissions accepted and not yet durable (what a crash now would lose). */
  undurableCount(): number;
  /**
   * Graceful stop: feeds `stop`, waits until the core reports `stopped` (outbox drained or
   * `stopDeadlineMs`), waits for pending storage writes, then closes storage and the event log.
   */
  stop(): Promise<void>;
}

interface Waiter {
  readonly ready: (state: EngineState) => boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const ALLOWED_PROTOCOLS = new Set(["mqtt:", "mqtts:", "tcp:", "ssl:", "tls:", "ws:", "wss:"]);

/** Validates the broker URL; credentials in URLs are refused (they come from the configuration). */
const checkUrl = (url: string): string[] => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [`url: not a valid URL: ${JSON.stringify(url)}`];
  }
  const problems: string[] = [];
  if (!ALLOWED_PROTOCOLS.has(parsed.protocol)) {
    problems.push(`url: unsupported protocol ${parsed.protocol} (use mqtt:, mqtts:, ws: or wss:)`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    problems.push("url: must not contain credentials (they come from config.auth)");
  }
  if (parsed.hostname === "") problems.push("url: missing host");
  return problems;
};

/**
 * Creates an engine. Throws an `Error` listing every problem (with its path) when the
 * configuration or the options are invalid; nothing is started before `start()`.
 */
export const createEngine = (options: EngineOptions): Engine => {
  const configInput = withSeed(options.config);
  const decoded = decodeConfig(configInput);
  const problems: string[] = E.isLeft(decoded) ? formatProblems(decoded.left).split("\n") : [];
  problems.push(...checkUrl(options.url));
  problems.push(...tlsProblems(options.url, options.tls));
  if (options.stateDir !== undefined && options.storage !== undefined) {
    problems.push("stateDir, storage: give one of them, not both");
  }
  if (E.isLeft(decoded) || problems.length > 0) {
    throw new Error(`invalid c8ylink engine options:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return new EngineImpl(options, configInput, decoded.right);
};

/** The configuration with a seed from entropy when it names none (anything else is left as given). */
const withSeed = (config: unknown): unknown =>
  typeof config === "object" &&
  config !== null &&
  !Array.isArray(config) &&
  (config as { seed?: unknown }).seed === undefined
    ? { ...config, seed: randomInt(0, 2 ** 32) }
    : config;

/** What `start()` reads of the options when none is given (in memory, no event log): shared. */
const NO_START_OPTIONS: Pick<EngineOptions, "stateDir" | "recordTo" | "recordMode"> = {};

class EngineImpl implements Engine {
  private readonly driver: Driver;
  private readonly storage: Storage;
  // Read by the driver's `record` hook (EngineDriverOptions), hence not private.
  recorder: Recorder | null = null;
  // Created on first use: many engines in one process never register some of them, and an
  // empty Map or Set still costs its hash table.
  private handlers: Map<string, OperationHandler> | null = null;
  private reportListeners: Set<(report: Report) => void> | null = null;
  /** The JWT last received on `s/dat` (certificate auth), for `tenantCredentials()`. */
  private token: { readonly value: string; readonly expiresMs: number | undefined } | null = null;
  private operationListeners: Set<(operation: Operation, context: OperationContext) => void> | null = null;
  private waiters: Set<Waiter> | null = null;
  private lifecycle: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  private stopping: Promise<void> | null = null;
  private onStopped: (() => void) | null = null;
  /** The configuration input as recorded (the application's, seed filled in); kept only for `recordTo`. */
  private configInput: unknown;
  private stateDirClaim: StateDirClaim | null = null;
  /**
   * Accepted submissions not yet durable, as ranges of refs with the ref of the persist that
   * writes them (both ascending): one entry per `submit` or per `submitMany`.
   */
  private undurable: UndurableRange[] = none();
  private undurableHead = 0;
  private undurableRows = 0;
  private lastAcceptedRef = 0;
  private durabilityWaiters: { ref: number; resolve: () => void; reject: (e: Error) => void }[] = none();

  /**
   * What `start()` reads of the options; the options object itself (with the application's
   * configuration input) is not kept.
   */
  private readonly options: Pick<EngineOptions, "stateDir" | "recordTo" | "recordMode">;

  constructor(
    options: EngineOptions,
    configInput: unknown,
    private readonly config: EngineConfig,
  ) {
    this.options =
      options.stateDir === undefined && options.recordTo === undefined && options.recordMode === undefined
        ? NO_START_OPTIONS
        : {
            ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
            ...(options.recordTo === undefined ? {} : { recordTo: options.recordTo }),
            ...(options.recordMode === undefined ? {} : { recordMode: options.recordMode }),
          };
    this.configInput = options.recordTo === undefined ? null : configInput;
    this.storage =
      options.storage ??
      (options.stateDir === undefined
        ? new MemoryStorage()
        : options.fileStore?.kind === "append-log"
          ? new FileStore(options.stateDir, {
              ...(options.onStorageProblem === undefined ? {} : { onProblem: options.onStorageProblem }),
              ...(options.fileStore.compactAtBytes === undefined
                ? {}
                : { compactAtBytes: options.fileStore.compactAtBytes }),
              ...(options.fileStore.fsync === undefined ? {} : { fsync: options.fileStore.fsync }),
            })
          : new SqliteStore(options.stateDir, {
              ...(options.onStorageProblem === undefined ? {} : { onProblem: options.onStorageProblem }),
              ...(options.fileStore?.fsync === undefined ? {} : { fsync: options.fileStore.fsync }),
            }));
    this.driver = new Driver(new EngineDriverOptions(this, options, config, this.storage));
  }

  async start(): Promise<void> {
    if (this.lifecycle !== "new") throw new Error(`engine already ${this.lifecycle}`);
    this.lifecycle = "starting";
    try {
      if (this.options.stateDir !== undefined) {
        this.stateDirClaim = await claimStateDir(this.options.stateDir, this.config.deviceId);
      }
      if (this.options.recordTo !== undefined) {
        this.recorder = await Recorder.create(
          this.options.recordTo,
          this.configInput,
          ENGINE_VERSION,
          this.config.seed,
          { append: this.options.recordMode === "append", gzip: this.options.recordTo.endsWith(".gz") },
        );
      }
      await this.driver.start();
      this.lifecycle = "running";
    } catch (e) {
      this.lifecycle = "stopped";
      this.driver.close();
      await this.recorder?.close().catch(() => {});
      await this.storage.close?.().catch(() => {});
      await this.stateDirClaim?.release();
      throw e;
    }
  }

  submit(message: UpstreamMessage, options: SubmitOptions = {}): SubmitResult {
    return this.submitEvent({ type: "submit", message, ...submitProps(options) });
  }

  submitCustom(xid: string, values: readonly string[], options: SubmitCustomOptions = {}): SubmitResult {
    return this.submitEvent({
      type: "submit-custom",
      xid,
      values: [...values],
      ...submitProps(options),
      ...(options.priority === undefined ? {} : { priority: options.priority }),
    });
  }

  private notRunning(): string | undefined {
    if (this.lifecycle !== "running" || !this.driver.running)
      return `engine is ${this.lifecycle === "running" ? "faulted" : this.lifecycle}`;
    return undefined;
  }

  private submitEvent(input: EventInput): SubmitResult {
    const stopped = this.notRunning();
    if (stopped !== undefined) return { accepted: false, reason: stopped };
    // The API boundary: only events the event codec accepts and JSON keeps unchanged are fed,
    // so the event log always replays.
    const checked = checkEvent(input);
    if (typeof checked === "string") return { accepted: false, reason: `invalid submission: ${checked}` };
    let commands;
    try {
      commands = this.driver.feed(checked);
    } catch (e) {
      return { accepted: false, reason: `engine failed: ${errorText(e)}` };
    }
    // The persist of this step writes the new outbox entry: the row is durable when it is.
    const persistRef = persistRefOf(commands);
    for (const c of commands) {
      if (c.type !== "report") continue;
      if (c.report.kind === "accepted") {
        const ref = c.report.ref;
        this.noteAccepted(ref, ref, 1, persistRef);
        return { accepted: true, ref };
      }
      if (c.report.kind === "rejected") return { accepted: false, reason: c.report.reason };
    }
    return { accepted: false, reason: `engine is ${this.driver.state.phase.name}` };
  }

  submitMany(rows: readonly SubmitRow[]): BatchResult {
    const refused: { index: number; reason: string }[] = [];
    const none = (): BatchResult => ({
      accepted: 0,
      refused,
      firstRef: null,
      lastRef: null,
      durable: () => Promise.resolve(),
    });
    const stopped = this.notRunning();
    if (stopped !== undefined) {
      rows.forEach((_, index) => refused.push({ index, reason: stopped }));
      return none();
    }
    // Rows checked here (shape, JSON-safe) go into the event; `fed[j]` is the index of event row j.
    const batch: BatchRow[] = [];
    const fed: number[] = [];
    rows.forEach((row, index) => {
      const checked = checkRow(row);
      if (typeof checked === "string") refused.push({ index, reason: `invalid submission: ${checked}` });
      else {
        batch.push(checked);
        fed.push(index);
      }
    });
    if (batch.length === 0) return none();
    let commands;
    try {
      commands = this.driver.feed({ type: "submit-batch", rows: batch });
    } catch (e) {
      for (const index of fed) refused.push({ index, reason: `engine failed: ${errorText(e)}` });
      refused.sort((a, b) => a.index - b.index);
      return none();
    }
    let report: Extract<Report, { kind: "batch" }> | undefined;
    for (const c of commands) if (c.type === "report" && c.report.kind === "batch") report = c.report;
    if (report === undefined) return none();
    const { firstRef, accepted, rejected } = report;
    for (const r of rejected) refused.push({ index: fed[r.index] ?? r.index, reason: r.reason });
    if (rejected.length > 0) refused.sort((a, b) => a.index - b.index);
    if (accepted === 0) return none();
    // Refs of refused rows are skipped: the first and last accepted rows bound the range.
    const rejectedIndexes = new Set(rejected.map((r) => r.index));
    let first = 0;
    while (rejectedIndexes.has(first)) first++;
    let last = batch.length - 1;
    while (rejectedIndexes.has(last)) last--;
    const lastRef = firstRef + last;
    this.noteAccepted(firstRef + first, lastRef, accepted, persistRefOf(commands));
    return {
      accepted,
      refused,
      firstRef: firstRef + first,
      lastRef,
      durable: () => this.whenDurable(lastRef),
    };
  }

  /** Remembers accepted rows until their persist is durable. */
  private noteAccepted(
    firstRef: number,
    lastRef: number,
    rows: number,
    persistRef: number | undefined,
  ): void {
    this.lastAcceptedRef = lastRef;
    if (persistRef === undefined || persistRef <= this.driver.state.persistedUpTo) return;
    this.undurable = appended(this.undurable, { firstRef, lastRef, rows, persistRef });
    this.undurableRows += rows;
  }

  /** The pending range holding `ref`, if any. */
  private undurableRange(ref: number): UndurableRange | undefined {
    for (let i = this.undurableHead; i < this.undurable.length; i++) {
      const r = this.undurable[i];
      if (r === undefined || r.firstRef > ref) return undefined;
      if (ref <= r.lastRef) return r;
    }
    return undefined;
  }

  handle(fragment: string, handler: OperationHandler): () => void {
    const handlers = (this.handlers ??= new Map());
    handlers.set(fragment, handler);
    return () => {
      if (handlers.get(fragment) === handler) handlers.delete(fragment);
    };
  }

  tenantCredentials(): TenantAuth | undefined {
    const auth = this.config.auth;
    const basic = (c: Credentials): TenantAuth => ({
      kind: "basic",
      tenant: c.tenant,
      user: c.user,
      password: c.password,
    });
    if (auth.mode === "password") return basic(auth);
    if (auth.mode === "bootstrap") {
      const received = this.driver.state.credentials;
      return received === null || received === undefined ? undefined : basic(received);
    }
    const token = this.token;
    if (token === null || (token.expiresMs !== undefined && Date.now() >= token.expiresMs)) return undefined;
    return { kind: "bearer", token: token.value };
  }

  onReport(listener: (report: Report) => void): () => void {
    const listeners = (this.reportListeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  onOperation(listener: (operation: Operation, context: OperationContext) => void): () => void {
    const listeners = (this.operationListeners ??= new Set());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  phase(): PhaseName {
    return this.driver.state.phase.name;
  }

  counters(): Counters {
    return this.driver.state.counters;
  }

  state(): EngineState {
    return this.driver.state;
  }

  whenOnline(timeoutMs: number): Promise<void> {
    return this.wait((s) => s.phase.name === "online", timeoutMs, "online");
  }

  whenDrained(timeoutMs?: number): Promise<void> {
    return this.wait(
      (s) => heldCount(s.outbox) === 0 && s.session.inflight.count === 0,
      timeoutMs,
      "drained",
    );
  }

  whenDurable(ref: number = this.lastAcceptedRef): Promise<void> {
    if (ref > this.lastAcceptedRef || ref < 0) {
      return Promise.reject(new Error(`c8ylink engine: no accepted submission has ref ${ref}`));
    }
    if (this.undurableRange(ref) === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.durabilityWaiters = appended(this.durabilityWaiters, { ref, resolve, reject });
    });
  }

  undurableCount(): number {
    return this.undurableRows;
  }

  /**
   * Settles submissions whose storage write completed (`persisted`) or failed (`persist-failed`).
   * Called by the driver (EngineDriverOptions), hence not private.
   */
  trackDurability(event: Event, commands: readonly Command[]): void {
    if (this.undurableRows === 0) return;
    const failures: { upTo: number; message: string }[] = [];
    for (const c of commands)
      if (c.type === "report" && c.report.kind === "persist-failed")
        failures.push({ upTo: c.report.ref, message: c.report.message });
    const durableUpTo = event.type === "persisted" ? event.ref : -1;
    const failedUpTo = failures.reduce((m, f) => Math.max(m, f.upTo), -1);
    if (durableUpTo < 0 && failedUpTo < 0) return;
    const failed: { range: UndurableRange; message: string }[] = [];
    while (this.undurableHead < this.undurable.length) {
      const range = this.undurable[this.undurableHead];
      if (range === undefined) break;
      if (range.persistRef > durableUpTo && range.persistRef > failedUpTo) break; // ascending: the rest wait too
      this.undurableHead++;
      this.undurableRows -= range.rows;
      if (range.persistRef > durableUpTo)
        failed.push({ range, message: failures.find((f) => f.upTo >= range.persistRef)?.message ?? "" });
    }
    if (this.undurableHead === this.undurable.length) {
      // All durable: drop the array's room too (an idle engine in a fleet keeps none).
      this.undurable = none();
      this.undurableHead = 0;
    } else if (this.undurableHead > 1024 && this.undurableHead * 2 > this.undurable.length) {
      this.undurable = this.undurable.slice(this.undurableHead);
      this.undurableHead = 0;
    }
    if (this.durabilityWaiters.length === 0) return;
    const waiting = this.durabilityWaiters.filter((w) => {
      if (this.undurableRange(w.ref) !== undefined) return true;
      const failure = failed.find((f) => f.range.firstRef <= w.ref && w.ref <= f.range.lastRef);
      if (failure === undefined) w.resolve();
      else
        w.reject(new Error(`submission ${w.ref} is not durable: storage write failed: ${failure.message}`));
      return false;
    });
    this.durabilityWaiters = waiting.length === 0 ? none() : waiting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const wasRunning = this.lifecycle === "running";
    this.lifecycle = "stopping";
    if (wasRunning && this.driver.running && this.driver.state.phase.name !== "stopped") {
      const stopped = new Promise<void>((resolve) => (this.onStopped = resolve));
      try {
        this.driver.feed({ type: "stop" });
        await stopped; // the core's stop deadline bounds this
      } catch {
        // faulted: nothing more to wait for
      }
    }
    try {
      await this.driver.persistsSettled();
      if (this.driver.running) this.driver.drainNow();
    } finally {
      this.driver.close();
      this.lifecycle = "stopped";
      this.failWaiters(new Error("c8ylink engine stopped"));
      for (const w of this.durabilityWaiters)
        w.reject(new Error(`c8ylink engine stopped before submission ${w.ref} was durable`));
      this.durabilityWaiters = none();
      try {
        await this.recorder?.close();
        await this.storage.close?.();
      } finally {
        await this.stateDirClaim?.release();
      }
    }
  }

  // -------------------------------------------------------------------------------------------

  // Called by the driver (EngineDriverOptions), hence not private.
  dispatchReport(report: Report): void {
    if (report.kind === "token") this.token = { value: report.token, expiresMs: jwtExpiryMs(report.token) };
    if (report.kind === "stopped") {
      this.onStopped?.();
      this.onStopped = null;
    }
    for (const listener of this.reportListeners ?? []) listener(report);
  }

  // Called by the driver (EngineDriverOptions), hence not private.
  dispatchOperation(command: ExecuteOperationCommand): void {
    const context: OperationContext = {
      key: command.key,
      deviceId: command.deviceId,
      resumed: command.resumed === true,
    };
    const { operation } = command;
    for (const listener of this.operationListeners ?? []) listener(operation, context);
    const finish = (outcome: OperationOutcome): void => {
      const input: EventInput = {
        type: "operation-result",
        key: command.key,
        outcome:
          outcome.status === "successful"
            ? outcome.parameters === undefined
              ? { status: "successful" }
              : { status: "successful", parameters: [...outcome.parameters] }
            : { status: "failed", reason: outcome.reason },
      };
      if (this.driver.running) this.driver.post(input);
    };
    const handler = this.handlers?.get(command.fragment);
    if (handler === undefined) {
      finish({ status: "failed", reason: `no handler registered for ${command.fragment} in this device` });
      return;
    }
    Promise.resolve()
      .then(() => handler(operation, context))
      .then(
        (result) => finish(checkOutcome(result)),
        (e: unknown) => finish({ status: "failed", reason: errorText(e) || "operation handler failed" }),
      );
  }

  private wait(
    ready: (s: EngineState) => boolean,
    timeoutMs: number | undefined,
    what: string,
  ): Promise<void> {
    if (ready(this.driver.state)) return Promise.resolve();
    if (this.lifecycle === "stopped" || !this.driver.running) {
      return Promise.reject(new Error(`c8ylink engine is ${this.lifecycle}; never ${what}`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { ready, resolve, reject, timer: null };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters?.delete(waiter);
          reject(new Error(`c8ylink engine not ${what} within ${timeoutMs} ms (phase ${this.phase()})`));
        }, timeoutMs);
      }
      (this.waiters ??= new Set()).add(waiter);
    });
  }

  // Called by the driver (EngineDriverOptions), hence not private.
  checkWaiters(state: EngineState): void {
    if (this.waiters === null) return;
    for (const w of this.waiters) {
      if (!w.ready(state)) continue;
      this.waiters.delete(w);
      if (w.timer !== null) clearTimeout(w.timer);
      w.resolve();
    }
    if (this.waiters.size === 0) this.waiters = null;
  }

  // Called by the driver (EngineDriverOptions), hence not private.
  failWaiters(error: Error): void {
    for (const w of this.waiters ?? []) {
      if (w.timer !== null) clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiters = null;
  }
}

/**
 * The driver's options with its hooks as prototype methods: one object per engine where
 * closures would cost a function and a context each (a fleet of engines in one process pays
 * for every per-engine byte ten thousand times).
 */
class EngineDriverOptions implements DriverOptions, StepRecorder {
  readonly url: string;
  readonly clock?: Clock;
  readonly tls?: TlsOptions;
  readonly checkInvariants?: InvariantCheck;
  readonly mqttConnect?: (url: string, options: IClientOptions) => MqttClient;
  private readonly onFaultOption: ((error: Error) => void) | undefined;

  constructor(
    private readonly engine: EngineImpl,
    engineOptions: EngineOptions,
    readonly config: EngineConfig,
    readonly storage: Storage,
  ) {
    this.url = engineOptions.url;
    this.onFaultOption = engineOptions.onFault;
    if (engineOptions.clock !== undefined) this.clock = engineOptions.clock;
    if (engineOptions.tls !== undefined) this.tls = engineOptions.tls;
    if (engineOptions.checkInvariants !== undefined) this.checkInvariants = engineOptions.checkInvariants;
    if (engineOptions.mqttConnect !== undefined) this.mqttConnect = engineOptions.mqttConnect;
  }

  get recorder(): StepRecorder {
    return this;
  }

  record(event: Event, commands: readonly Command[]): void {
    this.engine.recorder?.record(event, commands);
  }

  onReport(report: Report): void {
    this.engine.dispatchReport(report);
  }

  onExecute(command: ExecuteOperationCommand): void {
    this.engine.dispatchOperation(command);
  }

  onStep(event: Event, commands: readonly Command[], state: EngineState): void {
    this.engine.trackDurability(event, commands);
    this.engine.checkWaiters(state);
  }

  onFault(error: Error): void {
    this.engine.failWaiters(new Error(`c8ylink engine faulted: ${error.message}`));
    this.onFaultOption?.(error);
  }
}

const submitProps = (o: SubmitOptions) => ({
  ...(o.child === undefined ? {} : { child: o.child }),
  ...(o.mode === undefined ? {} : { mode: o.mode }),
  ...(o.tag === undefined ? {} : { tag: o.tag }),
});

interface UndurableRange {
  readonly firstRef: number;
  readonly lastRef: number;
  readonly rows: number;
  readonly persistRef: number;
}

const persistRefOf = (commands: readonly Command[]): number | undefined => {
  let ref: number | undefined;
  for (const c of commands) if (c.type === "persist") ref = c.ref;
  return ref;
};

/**
 * The event as the codec reads it, or the problems. Submissions take the fast path (their own
 * template's codec and a JSON-safety walk, no JSON round trip); anything else (and anything
 * the fast path does not accept) goes through a JSON round trip and the whole event codec.
 */
const checkEvent = (input: EventInput): EventInput | string => {
  if (input.type === "submit") {
    const row = checkRow(input);
    if (typeof row !== "string" && "message" in row) return { type: "submit", ...row };
  }
  let json: unknown;
  try {
    json = JSON.parse(JSON.stringify({ ...input, nowMs: 0 }));
  } catch (e) {
    return `not JSON-serialisable (${errorText(e)})`;
  }
  const result = EventCodec.decode(json);
  if (result._tag === "Left") return formatProblems(problemsOf(result.left)).replace(/\n/g, "; ");
  const { nowMs: _ignored, ...rest } = result.right;
  return rest as EventInput;
};

const MODES = new Set(["persistent", "transient", "quiescent", "cep"]);
const PRIORITIES = new Set(["operation-status", "alarm", "event", "inventory", "measurement"]);

/**
 * A batch row exactly as a replay will read it (a fresh object holding only known keys, every
 * value JSON-safe), or why not. Per row: the template's own codec, never the whole union.
 */
const checkRow = (input: unknown): BatchRow | string => {
  if (typeof input !== "object" || input === null) return "a row must be an object";
  const r = input as Record<string, unknown>;
  const options: { child?: string; mode?: ProcessingMode; tag?: string; priority?: OutboxClass } = {};
  if (r["child"] !== undefined) {
    if (typeof r["child"] !== "string") return "child: must be a string";
    options.child = r["child"];
  }
  if (r["mode"] !== undefined) {
    if (!MODES.has(r["mode"] as string)) return "mode: must be persistent, transient, quiescent or cep";
    options.mode = r["mode"] as ProcessingMode;
  }
  if (r["tag"] !== undefined) {
    if (typeof r["tag"] !== "string") return "tag: must be a string";
    options.tag = r["tag"];
  }
  const message = r["message"] as { template?: unknown } | undefined;
  if (message !== undefined) {
    if (typeof message !== "object" || message === null || typeof message.template !== "string")
      return "message: must be an object with a template id";
    const codecs = UPSTREAM_CODECS as unknown as Record<string, t.Type<UpstreamMessage, unknown, unknown>>;
    const codec = Object.hasOwn(codecs, message.template) ? codecs[message.template] : undefined;
    if (codec === undefined)
      return `message.template: ${message.template} is not an upstream static template`;
    const fast = scalarMessage(message.template, codec, message);
    const decoded = fast === undefined ? codec.decode(message) : E.right(fast as UpstreamMessage);
    if (decoded._tag === "Left")
      return `message: ${formatProblems(problemsOf(decoded.left)).replace(/\n/g, "; ")}`;
    const unsafe = isJsonSafe(decoded.right) ? undefined : jsonUnsafe(decoded.right, "message");
    if (unsafe !== undefined) return unsafe;
    // Most rows have no options: no second object for them.
    return options.child === undefined && options.mode === undefined && options.tag === undefined
      ? { message: decoded.right }
      : { message: decoded.right, ...options };
  }
  if (typeof r["xid"] !== "string") return "a row needs a message (static template) or an xid (custom)";
  const values = r["values"];
  if (!Array.isArray(values) || !values.every((v) => typeof v === "string"))
    return "values: must be an array of strings";
  if (r["priority"] !== undefined) {
    if (!PRIORITIES.has(r["priority"] as string)) return "priority: must be an outbox class";
    options.priority = r["priority"] as OutboxClass;
  }
  return { xid: r["xid"], values: [...(values as string[])], ...options };
};

/** Per static template: its field tests when its fields are all scalars (see scalar-rows.ts), else null. */
const scalarCodecs = new Map<string, ScalarCodec | null>();

const scalarMessage = (
  template: string,
  codec: t.Type<UpstreamMessage, unknown, unknown>,
  message: object,
): unknown => {
  let scalar = scalarCodecs.get(template);
  if (scalar === undefined) {
    scalar = scalarCodecOf(codec);
    scalarCodecs.set(template, scalar);
  }
  return scalar === null ? undefined : copyIfScalarMessage(scalar, message);
};

/** Whether a value survives JSON unchanged: `jsonUnsafe`'s test without building paths (run per row). */
const isJsonSafe = (value: unknown): boolean => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isJsonSafe);
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined && !isJsonSafe(v)) return false;
      }
      return true;
    }
    default:
      return false;
  }
};

/** Where a value would not survive JSON unchanged (non-finite numbers, non-plain objects), if anywhere. */
const jsonUnsafe = (value: unknown, path: string): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${path}: must be a finite number (got ${value})`;
    case "object": {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = jsonUnsafe(value[i], `${path}[${i}]`);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return `${path}: must be a plain object`;
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue; // dropped by JSON and absent to the core alike
        const problem = jsonUnsafe(v, `${path}.${key}`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    default:
      return `${path}: ${typeof value} is not JSON data`;
  }
};

const checkOutcome = (result: unknown): OperationOutcome => {
  const r = result as { status?: unknown; parameters?: unknown; reason?: unknown } | null | undefined;
  if (r?.status === "successful") {
    if (r.parameters === undefined) return { status: "successful" };
    if (Array.isArray(r.parameters) && r.parameters.every((p) => typeof p === "string")) {
      return { status: "successful", parameters: r.parameters as string[] };
    }
    return { status: "failed", reason: "operation handler returned non-string parameters" };
  }
  if (r?.status === "failed") {
    return { status: "failed", reason: typeof r.reason === "string" ? r.reason : "operation failed" };
  }
  return { status: "failed", reason: "operation handler returned no {status} result" };
};
