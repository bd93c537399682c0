/**
 * The world: many c8ylink engines, each with its storage, timers and a simulated application,
 * connected through a simulated broker and network to one platform model, all on a virtual
 * clock. See README.md for the model, the faults and the invariants, and its module map.
 *
 * Owns: the options, the one `Rng` and the one `Agenda`, the run loop, and the router that
 * hands each agenda item to the module that owns it (`handle`). `World` is the
 * `WorldContext` (context.ts) every other module works through.
 *
 * Structure of one run (`World.run`):
 * - An agenda (priority queue by (time, sequence)) holds everything that will happen: packets
 *   in flight in either direction, storage completions, engine timers, application and admin
 *   actions, fault injections. The clock jumps to the next item; nothing else moves time.
 * - Engines are fed one event at a time; the commands of a step are executed in order and their
 *   results are scheduled as new agenda items (never fed back re-entrantly) (devices.ts).
 * - The platform model sees `client-*` inputs when packets arrive; its outputs travel back as
 *   packets of the connection they belong to (network.ts, broker.ts).
 * - Every engine step is judged by the core's laws (`createInvariantChecker`, one per life)
 *   and, with the platform's knowledge, by the world's own checks (hand-outs per platform
 *   operation, oversize disconnects) as the trace unfolds (checkers.ts); the rest (operations,
 *   stuck restarts, message loss, liveness) at the end (verdict.ts).
 * - `operationsMode` configures the engines; the rules the world judges by are by-id only when
 *   the platform speaks JSON (`platformJson`), and only static rules know known issues.
 * Every draw of the `Rng` happens in the same order as before the split into modules: the
 * golden test (test/golden.test.ts) pins the trace hashes of many seeds.
 */
import type { EventInput } from "@c8ylink/core";
import { initialPlatform, type PlatformState } from "@c8ylink/platform";
import { admin, platformIn } from "./broker.js";
import { chaos, scheduleChaos } from "./chaos.js";
import { newFindings } from "./checkers.js";
import {
  BOOTSTRAP_PASSWORD,
  TENANT,
  assertNever,
  type AuthKind,
  type Conn,
  type CreatedOperation,
  type Device,
  type Item,
  type Message,
  type OperationKind,
  type OperationsMode,
  type Settings,
  type Violation,
  type WorldContext,
} from "./context.js";
import { boot, feed, makeDevice, persistDone } from "./devices.js";
import { NO_FAULTS, enabledFaults, swarmPlan, type FaultPlan } from "./faults.js";
import { Agenda } from "./heap.js";
import { arriveUp, arrivesDown } from "./network.js";
import { Rng, type TraceHash } from "./prng.js";
import { Trace } from "./trace.js";
import { drained, report, type WorldReport } from "./verdict.js";
import { adminAccept, adminOperation, operationDone, submit } from "./workload.js";

export type { EventInput };
export type { AuthKind, OperationKind, OperationsMode, StatusReplay, Violation } from "./context.js";
export type { DeviceSummary, WorldReport } from "./verdict.js";

export interface WorldOptions {
  readonly seed: number;
  /** Number of devices (each with 1–3 children). Default 2. */
  readonly devices?: number;
  /** Virtual duration of the fault phase (application and admin active). Default 120 s. */
  readonly faultMs?: number;
  /** Budget of the healing phase (faults off, no new work) to drain everything. Default 300 s. */
  readonly healMs?: number;
  /** A fixed plan, `"none"`, or `"swarm"` (default: a random subset chosen by the seed). */
  readonly faults?: FaultPlan | "none" | "swarm";
  /** Mean interval of application submissions per device. Default 2500 ms. */
  readonly messageEveryMs?: number;
  /** Mean interval between operations created by the admin. Default 8000 ms. */
  readonly operationEveryMs?: number;
  /** Fragments the admin picks from (weights by repetition). Default a mix of all four. */
  readonly operations?: readonly OperationKind[];
  /** Force every device's auth mode (default: drawn per device). */
  readonly auth?: AuthKind;
  /** Keep the full trace in the report (memory grows with the run). */
  readonly trace?: boolean;
  /**
   * How the engines take operations (their config's `operations`): `by-id` (default), JSON
   * notifications keyed by the platform's operation id, or `static` id-less `s/ds` lines.
   */
  readonly operationsMode?: OperationsMode;
  /**
   * Whether the platform model grants `devicecontrol/notifications` (its `jsonOperations`).
   * Default true; false simulates a tenant without JSON via MQTT, where a by-id engine must
   * fall back to static, and the world judges it by static rules.
   */
  readonly platformJson?: boolean;
  /**
   * Record violations that match a known engine issue (README "Known issues") in
   * `knownIssues` instead of failing the world. Default false: every violation fails.
   * Static rules only: by-id rules know no known issues, so asking for it there is an error.
   */
  readonly tolerateKnown?: boolean;
  /**
   * Break the world on purpose to prove the checker notices (tests only): `lying-disk`
   * confirms writes of application messages without storing them, so a crash loses durable messages.
   */
  readonly sabotage?: "lying-disk";
}

/** Trace lines kept for the report's tail. */
const TAIL = 60;
/** A run with more agenda items than this loops without progress. */
const RUNAWAY = 3_000_000;

export class World implements WorldContext {
  readonly seed: number;
  readonly settings: Settings;
  readonly plan: FaultPlan;
  readonly rng: Rng;
  readonly autoAccept: boolean;
  readonly tolerateKnown: boolean;
  readonly sabotage: WorldOptions["sabotage"];
  platform: PlatformState;
  readonly devices: Device[] = [];
  readonly conns = new Map<string, Conn>();
  readonly messages = new Map<string, Message>();
  readonly created: CreatedOperation[] = [];
  readonly decisions = new Map<string, Set<string>>();
  nextN = 1;
  readonly stats: Record<string, number> = {
    engineEvents: 0,
    platformInputs: 0,
    crashes: 0,
    restartOperations: 0,
    connectionsBroken: 0,
    refusedConnects: 0,
    lostPubacks: 0,
    delayedPackets: 0,
    duplicatedMessages: 0,
    reorderable: 0,
    repushes: 0,
    refusedSubscriptions: 0,
    persistFailures: 0,
    clockJumps: 0,
    brokerDisconnects: 0,
    oversizeDisconnects: 0,
    platformErrors: 0,
    wentOnline: 0,
    statusReplays: 0,
    knownIssues: 0,
  };
  readonly findings = newFindings();
  readonly knownIssues: string[] = [];
  private readonly traced: Trace;
  private readonly agenda = new Agenda<Item>();
  private clockMs = 0;
  private healingPhase = false;
  private done = false;
  private drainedAt: number | null = null;
  private firstViolation: Violation | null = null;

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.rng = new Rng(options.seed ^ 0x9e3779b9);
    const operationsMode = options.operationsMode ?? "by-id";
    const platformJson = options.platformJson ?? true;
    this.settings = {
      devices: options.devices ?? 2,
      faultMs: options.faultMs ?? 120_000,
      healMs: options.healMs ?? 300_000,
      messageEveryMs: options.messageEveryMs ?? 2500,
      operationEveryMs: options.operationEveryMs ?? 8000,
      operations: options.operations ?? [
        "c8y_Command",
        "c8y_Command",
        "c8y_Configuration",
        "c8y_Configuration",
        "c8y_Restart",
        "c8y_Relay",
      ],
      trace: options.trace ?? false,
      operationsMode,
      platformJson,
      rules: platformJson ? operationsMode : "static",
    };
    if (options.tolerateKnown === true && this.settings.rules === "by-id")
      throw new Error(
        'tolerateKnown applies to static rules only (operationsMode "static", or platformJson false): ' +
          "a by-id world knows no known issues, every violation fails it",
      );
    this.traced = new Trace(TAIL, this.settings.trace ? [] : null);
    this.tolerateKnown = options.tolerateKnown ?? false;
    this.sabotage = options.sabotage;
    const faults = options.faults ?? "swarm";
    this.plan = faults === "swarm" ? swarmPlan(this.rng) : faults === "none" ? NO_FAULTS : faults;
    this.autoAccept = this.rng.chance(0.5);

    const users: { username: string; password: string }[] = [];
    const trusted: string[] = [];
    for (let i = 0; i < this.settings.devices; i++) {
      const auth: AuthKind =
        options.auth ??
        (this.rng.chance(0.45) ? "bootstrap" : this.rng.chance(0.8) ? "password" : "certificate");
      const dev = makeDevice(this, i, auth);
      if (auth === "password") users.push({ username: `device_${dev.id}`, password: `pw-${dev.id}` });
      if (auth === "certificate") trusted.push(dev.id);
      this.devices.push(dev);
    }
    this.platform = initialPlatform({
      tenantId: TENANT,
      bootstrapPassword: BOOTSTRAP_PASSWORD,
      users,
      trustedCertificates: trusted,
      tokenLifetimeSeconds: this.rng.int(120, 900),
      autoAccept: this.autoAccept,
      jsonOperations: this.settings.platformJson,
      seed: this.rng.seed(),
    });
  }

  get now(): number {
    return this.clockMs;
  }

  get healing(): boolean {
    return this.healingPhase;
  }

  get faultsOn(): boolean {
    return !this.healingPhase;
  }

  get finished(): boolean {
    return this.done;
  }

  get drainedAtMs(): number | null {
    return this.drainedAt;
  }

  get violation(): Violation | null {
    return this.firstViolation;
  }

  // -------------------------------------------------------------------------------------------
  // The loop

  run(): WorldReport {
    const { faultMs, healMs, operationEveryMs } = this.settings;
    for (const dev of this.devices) {
      if (dev.auth === "bootstrap") admin(this, { type: "admin-register", deviceId: dev.id });
      this.at(this.rng.int(0, 2000), { k: "boot", dev });
      scheduleChaos(this, dev);
    }
    if (!this.autoAccept) this.at(this.rng.int(1000, 15_000), { k: "admin-accept" });
    this.at(this.rng.int(2000, operationEveryMs), { k: "admin-op" });
    this.at(faultMs, { k: "heal" });
    const end = faultMs + healMs;
    let guard = 0;
    while (!this.done) {
      const next = this.agenda.peek();
      if (next === undefined || next.at > end) break;
      this.agenda.pop();
      this.clockMs = next.at;
      this.handle(next.item);
      if (++guard > RUNAWAY) {
        this.violate("runaway", "more than 3 million agenda items: something loops without progress");
      }
    }
    if (this.clockMs < end && !this.done) this.clockMs = end;
    return report(this);
  }

  at(delayMs: number, item: Item): void {
    this.agenda.push(this.clockMs + Math.max(0, Math.round(delayMs)), item);
  }

  atTime(atMs: number, item: Item): void {
    this.agenda.push(atMs, item);
  }

  get hash(): TraceHash {
    return this.traced.hash;
  }

  get tail(): readonly string[] {
    return this.traced.tail();
  }

  get fullTrace(): readonly string[] | null {
    return this.traced.full;
  }

  trace(line: string): void {
    this.traced.line(this.clockMs, line);
  }

  traceInput(who: string, life: number | null, json: string): void {
    this.traced.input(this.clockMs, who, life, json);
  }

  violate(invariant: string, explanation: string, label?: string): void {
    if (this.firstViolation !== null) return;
    const known = this.settings.rules === "static" ? label : undefined;
    if (known !== undefined && this.tolerateKnown) {
      this.stats["knownIssues"]!++;
      this.knownIssues.push(`${invariant} [${known}]: ${explanation}`);
      this.trace(`KNOWN ISSUE ${known}: ${invariant}: ${explanation}`);
      return;
    }
    this.firstViolation = {
      invariant,
      explanation,
      atMs: this.clockMs,
      ...(known === undefined ? {} : { known }),
    };
    this.trace(`VIOLATION ${invariant}: ${explanation}`);
    this.done = true;
  }

  /** The router: each agenda item goes to the module that owns its kind. */
  private handle(item: Item): void {
    switch (item.k) {
      case "up": {
        const ctx = arriveUp(this, item.conn, item.ref, item.qos, item.rows);
        if (ctx !== null) platformIn(this, item.input, ctx);
        return;
      }
      case "down":
        if (arrivesDown(item.conn)) feed(this, item.conn.dev, item.event);
        return;
      case "local":
        if (item.dev.up && item.dev.life === item.life) feed(this, item.dev, item.event);
        return;
      case "persist":
        return persistDone(this, item.dev, item.life, item.ref);
      case "timer": {
        const { dev, life, key, atLocal } = item;
        if (!dev.up || dev.life !== life || dev.timers.get(key) !== atLocal) return;
        dev.timers.delete(key);
        return feed(this, dev, { type: "timer-fired", key });
      }
      case "submit":
        return submit(this, item.dev, item.life);
      case "op-done":
        return operationDone(this, item.dev, item.life, item.key, item.op);
      case "boot":
        return boot(this, item.dev);
      case "detect":
        platformIn(this, { type: "client-disconnect", clientKey: item.key }, {});
        return;
      case "chaos":
        return chaos(this, item.dev, item.what);
      case "admin-op":
        return adminOperation(this);
      case "admin-accept":
        return adminAccept(this);
      case "heal":
        this.healingPhase = true;
        this.trace("HEAL all faults off, no new work");
        this.at(1000, { k: "check" });
        return;
      case "check":
        if (drained(this)) {
          this.drainedAt = this.clockMs;
          this.done = true;
        } else this.at(1000, { k: "check" });
        return;
      default:
        return assertNever(item);
    }
  }
}

/** Runs one world to its verdict. */
export const runWorld = (options: WorldOptions): WorldReport => new World(options).run();

export { enabledFaults };
