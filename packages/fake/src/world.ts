/**
 * The world: many c8ylink engines, each with its storage, timers and a simulated application,
 * connected through a simulated broker and network to one platform model, all on a virtual
 * clock. See README.md for the model, the faults and the invariants.
 *
 * Structure of one run (`World.run`):
 * - An agenda (priority queue by (time, sequence)) holds everything that will happen: packets
 *   in flight in either direction, storage completions, engine timers, application and admin
 *   actions, fault injections. The clock jumps to the next item; nothing else moves time.
 * - Engines are fed one event at a time; the commands of a step are executed in order and their
 *   results are scheduled as new agenda items (never fed back re-entrantly).
 * - The platform model sees `client-*` inputs when packets arrive; its outputs travel back as
 *   packets of the connection they belong to.
 * - Invariants that can be judged on the spot (size law, the SUBACK gate, oversize disconnects)
 *   are checked as the trace unfolds; the rest (operations, message loss, liveness) at the end.
 */
import {
  DURABLE,
  MAX_PUBLISH_BYTES,
  decodeConfig,
  formatProblems,
  heldCount,
  initialState,
  publishPacketBytes,
  step,
  utf8ByteLength,
  type AnyOperation,
  type Command,
  type EngineConfig,
  type EngineState,
  type DistributiveOmit,
  type Event,
  type EventInput,
  type OperationOutcome,
  type Report,
  type UpstreamMessage,
} from "@c8ylink/core";
import {
  initialPlatform,
  listAlarms,
  listEvents,
  listMeasurements,
  listRegistrations,
  platformStep,
  type PlatformInput,
  type PlatformOutput,
  type PlatformState,
  type StoredOperation,
} from "@c8ylink/platform";
import { Agenda } from "./heap.js";
import { NO_FAULTS, describePlan, enabledFaults, swarmPlan, type FaultPlan } from "./faults.js";
import { Rng, TraceHash } from "./prng.js";

export type { EventInput };
type ClientInput = DistributiveOmit<PlatformInput, "nowMs">;

/** Virtual time 0 is this wall-clock instant (2025-01-01T00:00:00Z), for ISO timestamps. */
const EPOCH_MS = 1_735_689_600_000;
const TENANT = "t100";
const BOOTSTRAP_PASSWORD = "bs-secret";
const SUPPORTED = ["c8y_Restart", "c8y_Command", "c8y_Configuration"];
const RESTART_REASON = "restarted while the operation was executing";

export type OperationKind = "c8y_Restart" | "c8y_Command" | "c8y_Configuration" | "c8y_Relay";
export type AuthKind = "bootstrap" | "password" | "certificate";

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
   * Record violations that match a known engine issue (README "Known issues") in
   * `knownIssues` instead of failing the world. Default false: every violation fails.
   */
  readonly tolerateKnown?: boolean;
  /**
   * Break the world on purpose to prove the checker notices (tests only): `lying-disk`
   * confirms writes of application messages without storing them, so a crash loses durable messages.
   */
  readonly sabotage?: "lying-disk";
}

export interface Violation {
  readonly invariant: string;
  readonly explanation: string;
  readonly atMs: number;
  /** Set when the violation matches a known issue (README "Known issues"). */
  readonly known?: string;
}

export interface WorldReport {
  readonly seed: number;
  readonly devices: number;
  readonly plan: FaultPlan;
  readonly faults: string;
  readonly autoAccept: boolean;
  /** Virtual time at the end of the run, and when everything was drained (null: never). */
  readonly virtualMs: number;
  readonly drainedAtMs: number | null;
  readonly messages: {
    readonly submitted: number;
    readonly accepted: number;
    readonly onPlatform: number;
    readonly droppedByPolicy: number;
    readonly lostAtCrash: number;
    readonly duplicates: number;
    readonly rejected: number;
  };
  readonly operations: {
    readonly created: number;
    readonly successful: number;
    readonly failed: number;
    readonly open: number;
  };
  readonly stats: Readonly<Record<string, number>>;
  readonly violation: Violation | null;
  readonly ok: boolean;
  /** Violations tolerated as known issues (only with `tolerateKnown`). */
  readonly knownIssues: readonly string[];
  /** Operation status rows the platform processed more than once. */
  readonly statusReplays: readonly StatusReplay[];
  readonly traceHash: string;
  /** The last trace lines before the end (or the violation). */
  readonly traceTail: readonly string[];
  readonly trace?: readonly string[];
  /** Final platform state, for scenario tests. */
  readonly platform: PlatformState;
  /** Per device: id, auth mode, children, crashes, final phase. */
  readonly deviceSummaries: readonly DeviceSummary[];
}

export interface DeviceSummary {
  readonly id: string;
  readonly auth: AuthKind;
  readonly children: readonly string[];
  readonly lives: number;
  readonly phase: string;
}

// ---------------------------------------------------------------------------------------------
// World objects

interface Conn {
  readonly key: string;
  readonly dev: Device;
  readonly life: number;
  readonly id: number;
  /**
   * open; device-closed (the engine sent DISCONNECT: downstream is ignored, upstream already
   * sent still arrives); broker-closed (refused or closed by the platform: packets already sent
   * downstream still arrive, upstream is discarded); broken (network: everything in flight lost).
   */
  state: "open" | "device-closed" | "broker-closed" | "broken";
  upTail: number;
  /** Arrival of the last downstream packet (everything), of the last ack, per topic. */
  tailAll: number;
  tailAcks: number;
  readonly tailTopic: Map<string, number>;
  /** SUBACK gate bookkeeping: topics asked for (device session), granted as the engine saw it. */
  readonly requested: Set<string>;
  readonly granted: Set<string>;
  readonly subscribeRefs: Map<number, readonly string[]>;
}

interface SentRow {
  readonly id: string;
  readonly topic: string;
  readonly line: string;
}

/** An operation status row the platform processed more than once (see README, known issues). */
export interface StatusReplay {
  readonly atMs: number;
  readonly dev: string;
  readonly topic: string;
  readonly line: string;
  readonly id: string;
}

interface PendingPersist {
  readonly ref: number;
  readonly changes: readonly { readonly key: string; readonly value: unknown }[];
  readonly fail: boolean;
}

interface Device {
  readonly index: number;
  readonly id: string;
  readonly auth: AuthKind;
  readonly children: readonly string[];
  readonly config: EngineConfig;
  life: number;
  up: boolean;
  state: EngineState;
  /** What the disk holds. Values are the engine's own (immutable) objects. */
  readonly storage: Map<string, unknown>;
  /** Local monotonic clock = virtual time + offset (clock jumps only move it forward). */
  offset: number;
  readonly timers: Map<string, number>;
  conns: Map<number, Conn>;
  persists: PendingPersist[];
  storageTail: number;
  /** Outbox ref → message tag, for the current life. */
  refTags: Map<number, string>;
  readonly pendingOps: Set<string>;
  /**
   * Outbox ref → identity of the row across restarts (`<life>:<ref>` of the life that first
   * held it; restored rows keep theirs), so a row re-sent after a lost PUBACK or a crash is
   * recognised when the platform processes it again.
   */
  rowIds: Map<number, string>;
  /** Identities of operation status rows the platform has processed. */
  readonly processedStatus: Set<string>;
}

interface Message {
  readonly tag: string;
  readonly dev: string;
  readonly kind: "measurement" | "event" | "alarm";
  readonly n: number;
  readonly submittedMs: number;
  acceptedMs: number | null;
  rejected: string | null;
  dropped: boolean;
  /** A persist carrying its outbox record completed. */
  durable: boolean;
  /** PUBACKed (reported `delivered`). */
  acked: boolean;
  /** Lost legitimately: not yet durable (nor on the platform) when its process crashed. */
  excused: string | null;
}

interface CreatedOperation {
  readonly id: string;
  readonly fragment: OperationKind;
  readonly target: string;
  readonly dev: string;
  readonly text: string;
}

type Item =
  | {
      readonly k: "up";
      readonly conn: Conn;
      readonly input: ClientInput;
      readonly ref?: number;
      readonly qos?: number;
      /** Identities of the outbox rows in a publish (see `Device.rowIds`). */
      readonly rows?: readonly SentRow[];
    }
  | { readonly k: "down"; readonly conn: Conn; readonly event: EventInput }
  | { readonly k: "local"; readonly dev: Device; readonly life: number; readonly event: EventInput }
  | { readonly k: "persist"; readonly dev: Device; readonly life: number; readonly ref: number }
  | {
      readonly k: "timer";
      readonly dev: Device;
      readonly life: number;
      readonly key: string;
      readonly atLocal: number;
    }
  | { readonly k: "submit"; readonly dev: Device; readonly life: number }
  | {
      readonly k: "op-done";
      readonly dev: Device;
      readonly life: number;
      readonly key: string;
      readonly op: AnyOperation;
    }
  | { readonly k: "boot"; readonly dev: Device }
  | { readonly k: "detect"; readonly key: string }
  | { readonly k: "chaos"; readonly dev: Device; readonly what: "drop" | "crash" | "clock" | "repush" }
  | { readonly k: "admin-op" }
  | { readonly k: "admin-accept" }
  | { readonly k: "heal" }
  | { readonly k: "check" };

const TAIL = 60;

export class World {
  readonly seed: number;
  readonly plan: FaultPlan;
  private readonly rng: Rng;
  private readonly opts: Required<
    Omit<WorldOptions, "faults" | "auth" | "trace" | "tolerateKnown" | "sabotage">
  > & {
    readonly trace: boolean;
  };
  private readonly agenda = new Agenda<Item>();
  private now = 0;
  private platform: PlatformState;
  readonly autoAccept: boolean;
  private readonly devices: Device[] = [];
  private readonly conns = new Map<string, Conn>();
  private healing = false;
  private finished = false;
  private drainedAtMs: number | null = null;
  private violation: Violation | null = null;
  private readonly hash = new TraceHash();
  private readonly tail: string[] = [];
  private readonly fullTrace: string[] | null;
  private readonly messages = new Map<string, Message>();
  private readonly created: CreatedOperation[] = [];
  /** Outcomes the application chose, per unique operation text. */
  private readonly decisions = new Map<string, Set<string>>();
  private nextN = 1;
  private readonly stats: Record<string, number> = {
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
  private readonly replays: StatusReplay[] = [];
  /** Unique operation text → where it was handed out first; operations handed out twice. */
  private readonly handedOut = new Map<string, string>();
  private readonly doubles: { readonly target: string; readonly fragment: string }[] = [];
  private readonly finishedTwins = new Map<string, string>();
  /** Operation line → order of its first arrival at its device. */
  private readonly arrivals = new Map<string, number>();
  private readonly knownIssues: string[] = [];
  private readonly tolerateKnown: boolean;
  private readonly sabotage: WorldOptions["sabotage"];

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.rng = new Rng(options.seed ^ 0x9e3779b9);
    this.opts = {
      seed: options.seed,
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
    };
    this.fullTrace = this.opts.trace ? [] : null;
    this.tolerateKnown = options.tolerateKnown ?? false;
    this.sabotage = options.sabotage;
    const faults = options.faults ?? "swarm";
    this.plan = faults === "swarm" ? swarmPlan(this.rng) : faults === "none" ? NO_FAULTS : faults;
    this.autoAccept = this.rng.chance(0.5);

    const users: { username: string; password: string }[] = [];
    const trusted: string[] = [];
    for (let i = 0; i < this.opts.devices; i++) {
      const auth: AuthKind =
        options.auth ??
        (this.rng.chance(0.45) ? "bootstrap" : this.rng.chance(0.8) ? "password" : "certificate");
      const dev = this.makeDevice(i, auth);
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
      seed: this.rng.seed(),
    });
  }

  private makeDevice(index: number, auth: AuthKind): Device {
    const rng = this.rng;
    const id = `dev${index}`;
    const children: { id: string; parent?: string }[] = [];
    const count = rng.int(1, 3);
    for (let j = 0; j < count; j++) {
      const childId = `${id}-c${j}`;
      const parent = j > 0 && rng.chance(0.35) ? children[rng.int(0, j - 1)]?.id : undefined;
      children.push(parent === undefined ? { id: childId } : { id: childId, parent });
    }
    const authConfig =
      auth === "bootstrap"
        ? { mode: "bootstrap", bootstrapPassword: BOOTSTRAP_PASSWORD }
        : auth === "password"
          ? { mode: "password", tenant: TENANT, user: `device_${id}`, password: `pw-${id}` }
          : { mode: "certificate" };
    const input = {
      deviceId: id,
      auth: authConfig,
      children,
      supportedOperations: SUPPORTED,
      inflightWindow: rng.int(1, 6),
      ...(rng.chance(0.3) ? { outbox: { measurement: { maxMessages: rng.int(3, 30) } } } : {}),
      backoff: { floorMs: 1000, capMs: rng.int(5, 30) * 1000, stableMs: 10_000, configErrorDelayMs: 60_000 },
      connectTimeoutMs: rng.int(3, 10) * 1000,
      bootstrapPollMs: rng.int(1000, 3000),
      // The 500 answer must be quiet for longer than the longest delay spike this world
      // injects (15 s), or an older PENDING operation may show up after operations started:
      // settling is a timing assumption of id-less status (see step.ts, "Settling").
      settleMs: 5_000,
      seed: rng.seed(),
    };
    const decoded = decodeConfig(input);
    if (decoded._tag === "Left")
      throw new Error(`world built a bad config:\n${formatProblems(decoded.left)}`);
    return {
      index,
      id,
      auth,
      children: children.map((c) => c.id),
      config: decoded.right,
      life: 0,
      up: false,
      state: initialState(decoded.right),
      storage: new Map(),
      offset: 0,
      timers: new Map(),
      conns: new Map(),
      persists: [],
      storageTail: 0,
      refTags: new Map(),
      pendingOps: new Set(),
      rowIds: new Map(),
      processedStatus: new Set(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // The loop

  run(): WorldReport {
    const { faultMs, healMs } = this.opts;
    for (const dev of this.devices) {
      if (dev.auth === "bootstrap") this.admin({ type: "admin-register", deviceId: dev.id });
      this.at(this.rng.int(0, 2000), { k: "boot", dev });
      this.scheduleChaos(dev);
    }
    if (!this.autoAccept) this.at(this.rng.int(1000, 15_000), { k: "admin-accept" });
    this.at(this.rng.int(2000, this.opts.operationEveryMs), { k: "admin-op" });
    this.at(faultMs, { k: "heal" });
    const end = faultMs + healMs;
    let guard = 0;
    while (!this.finished) {
      const next = this.agenda.peek();
      if (next === undefined || next.at > end) break;
      this.agenda.pop();
      this.now = next.at;
      this.handle(next.item);
      if (++guard > 3_000_000) {
        this.violate("runaway", "more than 3 million agenda items: something loops without progress");
      }
    }
    if (this.now < end && !this.finished) this.now = end;
    return this.report();
  }

  private at(delayMs: number, item: Item): void {
    this.agenda.push(this.now + Math.max(0, Math.round(delayMs)), item);
  }

  private get faultsOn(): boolean {
    return !this.healing;
  }

  private trace(line: string): void {
    const text = `${this.now} ${line}`;
    this.hash.add(text);
    this.tail.push(text);
    if (this.tail.length > TAIL) this.tail.shift();
    this.fullTrace?.push(text);
  }

  private violate(invariant: string, explanation: string, known?: string): void {
    if (this.violation !== null) return;
    if (known !== undefined && this.tolerateKnown) {
      this.stats["knownIssues"]!++;
      this.knownIssues.push(`${invariant} [${known}]: ${explanation}`);
      this.trace(`KNOWN ISSUE ${known}: ${invariant}: ${explanation}`);
      return;
    }
    this.violation = { invariant, explanation, atMs: this.now, ...(known === undefined ? {} : { known }) };
    this.trace(`VIOLATION ${invariant}: ${explanation}`);
    this.finished = true;
  }

  private handle(item: Item): void {
    switch (item.k) {
      case "up":
        return this.arriveUp(item.conn, item.input, item.ref, item.qos, item.rows);
      case "down":
        return this.arriveDown(item.conn, item.event);
      case "local":
        if (item.dev.up && item.dev.life === item.life) this.feed(item.dev, item.event);
        return;
      case "persist":
        return this.persistDone(item.dev, item.life, item.ref);
      case "timer": {
        const { dev, life, key, atLocal } = item;
        if (!dev.up || dev.life !== life || dev.timers.get(key) !== atLocal) return;
        dev.timers.delete(key);
        return this.feed(dev, { type: "timer-fired", key });
      }
      case "submit":
        return this.submit(item.dev, item.life);
      case "op-done":
        return this.operationDone(item.dev, item.life, item.key, item.op);
      case "boot":
        return this.boot(item.dev);
      case "detect":
        this.platformIn({ type: "client-disconnect", clientKey: item.key }, {});
        return;
      case "chaos":
        return this.chaos(item.dev, item.what);
      case "admin-op":
        return this.adminOperation();
      case "admin-accept":
        return this.adminAccept();
      case "heal":
        this.healing = true;
        this.trace("HEAL all faults off, no new work");
        this.at(1000, { k: "check" });
        return;
      case "check":
        if (this.drained()) {
          this.drainedAtMs = this.now;
          this.finished = true;
        } else this.at(1000, { k: "check" });
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Engines

  private localNow(dev: Device): number {
    return EPOCH_MS + this.now + dev.offset;
  }

  private feed(dev: Device, input: EventInput): void {
    if (this.finished) return;
    const event = { ...input, nowMs: this.localNow(dev) } as Event;
    this.stats["engineEvents"]!++;
    this.trace(`${dev.id}.${dev.life} <- ${JSON.stringify(event)}`);
    if (event.type === "subscribed") this.noteGranted(dev, event.connectionId, event.ref, event.granted);
    if (event.type === "message" && event.topic === "s/ds") this.noteFinishedTwins(dev, event.payload);
    const result = step(dev.state, event);
    dev.state = result.state;
    for (const command of result.commands) {
      this.execute(dev, command);
      if (this.finished) return;
    }
  }

  private execute(dev: Device, c: Command): void {
    switch (c.type) {
      case "connect": {
        const conn: Conn = {
          key: `${dev.id}/${dev.life}/${c.connectionId}`,
          dev,
          life: dev.life,
          id: c.connectionId,
          state: "open",
          upTail: 0,
          tailAll: 0,
          tailAcks: 0,
          tailTopic: new Map(),
          requested: new Set(),
          granted: new Set(),
          subscribeRefs: new Map(),
        };
        dev.conns.set(c.connectionId, conn);
        this.conns.set(conn.key, conn);
        if (this.faultsOn && this.rng.chance(this.plan.refuseConnect)) {
          const code = this.rng.pick([3, 5]);
          this.stats["refusedConnects"]!++;
          this.trace(`FAULT broker refuses ${conn.key} with CONNACK ${code}`);
          conn.state = "broker-closed";
          this.sendDown(
            conn,
            { type: "connect-failed", connectionId: c.connectionId, cause: { kind: "refused", code } },
            null,
          );
          return;
        }
        const certificate = dev.auth === "certificate" && c.username === null;
        this.sendUp(conn, {
          type: "client-connect",
          clientKey: conn.key,
          clientId: c.clientId,
          username: c.username,
          password: c.password,
          certificateCn: certificate ? dev.id : null,
        });
        return;
      }
      case "disconnect": {
        const conn = dev.conns.get(c.connectionId);
        if (conn === undefined) return;
        if (conn.state === "open") this.sendUp(conn, { type: "client-disconnect", clientKey: conn.key });
        if (conn.state === "open" || conn.state === "broker-closed") conn.state = "device-closed";
        return;
      }
      case "subscribe": {
        const conn = dev.conns.get(c.connectionId);
        if (conn === undefined) return;
        const topics = c.topics.map((t) => t.topic);
        for (const t of topics) if (t !== "s/dcr") conn.requested.add(t);
        conn.subscribeRefs.set(c.ref, topics);
        this.sendUp(conn, { type: "client-subscribe", clientKey: conn.key, topics: c.topics }, c.ref);
        return;
      }
      case "publish": {
        const conn = dev.conns.get(c.connectionId);
        this.checkPublish(dev, conn, c);
        if (conn === undefined || this.finished) return;
        const packet = dev.state.session.inflight[c.ref];
        const rows =
          packet?.source === "outbox"
            ? packet.entries.map((e) => ({ id: this.rowId(dev, e.ref), topic: e.topic, line: e.line }))
            : undefined;
        this.sendUp(
          conn,
          { type: "client-publish", clientKey: conn.key, topic: c.topic, payload: c.payload, qos: c.qos },
          c.ref,
          c.qos,
          rows,
        );
        // QoS 0: the interpreter reports "written" at once.
        if (c.qos === 0 && conn.state === "open")
          this.at(0, {
            k: "local",
            dev,
            life: dev.life,
            event: { type: "published", connectionId: c.connectionId, ref: c.ref },
          });
        return;
      }
      case "timer-set":
        dev.timers.set(c.key, c.atMs);
        this.scheduleTimer(dev, c.key, c.atMs);
        return;
      case "timer-cancel":
        dev.timers.delete(c.key);
        return;
      case "persist": {
        const fail = this.faultsOn && this.rng.chance(this.plan.persistFail);
        dev.persists.push({ ref: c.ref, changes: c.changes, fail });
        const at = Math.max(this.now + this.rng.int(1, 25), dev.storageTail);
        dev.storageTail = at;
        this.agenda.push(at, { k: "persist", dev, life: dev.life, ref: c.ref });
        return;
      }
      case "execute-operation":
        this.checkHandOut(dev, c.key, c.operation);
        dev.pendingOps.add(c.key);
        this.at(this.rng.int(200, 5000), { k: "op-done", dev, life: dev.life, key: c.key, op: c.operation });
        return;
      case "report":
        return this.onReport(dev, c.report);
    }
  }

  private scheduleTimer(dev: Device, key: string, atLocal: number): void {
    const global = atLocal - EPOCH_MS - dev.offset;
    this.agenda.push(Math.max(this.now, global), { k: "timer", dev, life: dev.life, key, atLocal });
  }

  private onReport(dev: Device, r: Report): void {
    switch (r.kind) {
      case "accepted": {
        const m = r.tag === undefined ? undefined : this.messages.get(r.tag);
        if (m === undefined) return;
        m.acceptedMs = this.now;
        dev.refTags.set(r.ref, m.tag);
        return;
      }
      case "rejected": {
        const m = r.tag === undefined ? undefined : this.messages.get(r.tag);
        if (m !== undefined) m.rejected = r.reason;
        return;
      }
      case "dropped": {
        const m = r.tag === undefined ? undefined : this.messages.get(r.tag);
        if (m !== undefined) m.dropped = true;
        return;
      }
      case "delivered":
        for (const ref of r.refs) {
          const tag = dev.refTags.get(ref);
          const m = tag === undefined ? undefined : this.messages.get(tag);
          if (m !== undefined) m.acked = true;
        }
        return;
      case "platform-error":
        this.stats["platformErrors"]!++;
        return;
      case "phase":
        if (r.to === "online") this.stats["wentOnline"]!++;
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Invariants checked on the spot

  private checkPublish(dev: Device, conn: Conn | undefined, c: Extract<Command, { type: "publish" }>): void {
    const bytes = publishPacketBytes(c.topic, utf8ByteLength(c.payload), c.qos);
    if (bytes > MAX_PUBLISH_BYTES) {
      this.violate(
        "size-law",
        `${dev.id} published ${bytes} bytes on ${c.topic} (limit ${MAX_PUBLISH_BYTES}): ${c.payload.slice(0, 80)}…`,
      );
      return;
    }
    if (!/^[stqc]\/u[sc](\/|$)/.test(c.topic)) return;
    const registrationOnly = c.payload.split("\n").every((l) => l.startsWith("100,") || l.startsWith("101,"));
    if (registrationOnly) return;
    const open =
      conn !== undefined && conn.requested.size > 0 && [...conn.requested].every((t) => conn.granted.has(t));
    if (!open) {
      const missing =
        conn === undefined ? ["(no connection)"] : [...conn.requested].filter((t) => !conn.granted.has(t));
      this.violate(
        "suback-gate",
        `${dev.id} connection ${c.connectionId} published a data row on ${c.topic} before every subscription was granted ` +
          `(not yet granted: ${missing.join(", ") || "nothing requested"}): ${c.payload.slice(0, 80)}`,
      );
    }
  }

  /** At-most-once execution: an operation with a unique text must reach the application once. */
  private checkHandOut(dev: Device, key: string, op: AnyOperation): void {
    const text = op.template === "511" ? op.text : op.template === "513" ? op.config : undefined;
    if (text === undefined) return;
    const before = this.handedOut.get(text);
    this.handedOut.set(text, `${dev.id}.${dev.life} ${key}`);
    if (before === undefined) return;
    const raw = (dev.state.journal.entries[key]?.raw ?? []).join(",");
    const twin = this.finishedTwins.get(`${dev.id} ${raw}`);
    const overtaken = this.outOfOrder(op.deviceId, op.fragment);
    const replayed = this.replays.some(
      (r) => targetOf(r.topic, r.dev) === op.deviceId && r.line.split(",")[1] === op.fragment,
    );
    const known =
      twin ??
      (overtaken !== undefined
        ? `push-before-500: ${overtaken}; the shifted 501/503 left it PENDING, so 500 brought it back`
        : replayed
          ? "status-replay: a replayed status of this fragment shifted the platform's view, so 500 brought it back"
          : undefined);
    this.doubles.push({ target: op.deviceId, fragment: op.fragment });
    this.violate(
      "executed-twice",
      `${dev.id} handed operation "${text}" (${op.fragment} for ${op.deviceId}) to the application again as ${key} ` +
        `(first as ${before}); journal now: ${Object.values(dev.state.journal.entries)
          .map((e) => `${e.key} ${e.raw.join(",")} ${e.stage}${e.executingAcked ? " executing-acked" : ""}`)
          .join("; ")}`,
      known,
    );
  }

  /**
   * Remembers operation lines that arrive while an identical journal entry exists that the
   * engine's redelivery rule does not treat as the same operation (for classifying
   * executed-twice; see README "Known issues").
   */
  private noteFinishedTwins(dev: Device, payload: string): void {
    for (const line of payload.split("\n")) {
      if (!this.arrivals.has(line)) this.arrivals.set(line, this.arrivals.size);
      const twin = Object.values(dev.state.journal.entries).find(
        (e) => e.raw.join(",") === line && (e.stage === "finished" || e.executingAcked),
      );
      if (twin === undefined) continue;
      const kind = !twin.executingAcked
        ? `finished-twin: the line arrived again while journal entry ${twin.key} of ${dev.id}.${dev.life} was finished with its 501 unacknowledged, and was journaled as a new operation`
        : `stale-500-answer: the line arrived after the PUBACK of the 501 of journal entry ${twin.key} (${twin.stage}) of ${dev.id}.${dev.life}: the platform re-pushed it for a 500 processed before that 501, and it was journaled as a new operation`;
      this.finishedTwins.set(`${dev.id} ${line}`, kind);
    }
  }

  private noteGranted(dev: Device, connectionId: number, ref: number, granted: readonly number[]): void {
    const conn = dev.conns.get(connectionId);
    const topics = conn?.subscribeRefs.get(ref);
    if (conn === undefined || topics === undefined) return;
    topics.forEach((t, i) => {
      if ((granted[i] ?? 0x80) < 0x80) conn.granted.add(t);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Network

  private latency(): number {
    return this.rng.int(2, 40);
  }

  private rowId(dev: Device, ref: number): string {
    let id = dev.rowIds.get(ref);
    if (id === undefined) {
      id = `${dev.life}:${ref}`;
      dev.rowIds.set(ref, id);
    }
    return id;
  }

  private sendUp(
    conn: Conn,
    input: ClientInput,
    ref?: number,
    qos?: number,
    rows?: readonly SentRow[],
  ): void {
    if (conn.state !== "open") return;
    const at = Math.max(this.now + this.latency(), conn.upTail);
    conn.upTail = at;
    this.agenda.push(at, {
      k: "up",
      conn,
      input,
      ...(ref === undefined ? {} : { ref }),
      ...(qos === undefined ? {} : { qos }),
      ...(rows === undefined ? {} : { rows }),
    });
  }

  private arriveUp(
    conn: Conn,
    input: ClientInput,
    ref: number | undefined,
    qos: number | undefined,
    rows: readonly SentRow[] | undefined,
  ): void {
    if (conn.state === "broken" || conn.state === "broker-closed") return;
    for (const row of rows ?? []) {
      if (!/^50[0-7](,|$)/.test(row.line)) continue;
      const dev = conn.dev;
      if (dev.processedStatus.has(row.id)) {
        this.replays.push({ atMs: this.now, dev: dev.id, topic: row.topic, line: row.line, id: row.id });
        this.stats["statusReplays"]!++;
        this.trace(`REPLAY the platform processes status row ${row.id} "${row.line}" of ${dev.id} again`);
      } else dev.processedStatus.add(row.id);
    }
    const ctx: OutputContext = { conn };
    if (ref !== undefined) ctx.ref = ref;
    if (qos !== undefined) ctx.qos = qos;
    this.platformIn(input, ctx);
  }

  /**
   * Schedules a downstream packet. `topic` null = control packet (CONNACK, SUBACK, PUBACK,
   * close), which follows everything before it; a message may overtake earlier messages on
   * other topics when the reorder fault allows it.
   */
  private sendDown(conn: Conn, event: EventInput, topic: string | null): void {
    if (conn.state === "broken" || conn.state === "device-closed") return;
    let base = this.now + this.latency();
    if (this.faultsOn && this.rng.chance(this.plan.delayDownstream)) {
      const extra = this.rng.int(1000, 15_000);
      this.stats["delayedPackets"]!++;
      this.trace(`FAULT delay ${conn.key} +${extra} ms`);
      base += extra;
    }
    let at: number;
    if (topic === null) {
      at = Math.max(base, conn.tailAll);
      conn.tailAcks = at;
    } else {
      const loose = this.faultsOn && this.rng.chance(this.plan.reorderDownstream);
      if (loose) this.stats["reorderable"]!++;
      const floor = loose ? Math.max(conn.tailAcks, conn.tailTopic.get(topic) ?? 0) : conn.tailAll;
      at = Math.max(base, floor);
      conn.tailTopic.set(topic, Math.max(conn.tailTopic.get(topic) ?? 0, at));
    }
    conn.tailAll = Math.max(conn.tailAll, at);
    this.agenda.push(at, { k: "down", conn, event });
  }

  private arriveDown(conn: Conn, event: EventInput): void {
    if (conn.state === "broken" || conn.state === "device-closed") return;
    const dev = conn.dev;
    if (!dev.up || dev.life !== conn.life) return;
    this.feed(dev, event);
  }

  /** The link dies: everything in flight is lost; both ends notice after a while. */
  private breakConn(conn: Conn, why: string, notifyDevice: boolean): void {
    if (conn.state === "broken") return;
    const wasDeviceClosed = conn.state === "device-closed";
    conn.state = "broken";
    this.stats["connectionsBroken"]!++;
    this.trace(`FAULT link ${conn.key} broken: ${why}`);
    this.at(this.rng.int(0, 8000), { k: "detect", key: conn.key });
    const dev = conn.dev;
    if (notifyDevice && !wasDeviceClosed && dev.up && dev.life === conn.life) {
      this.at(this.rng.int(5, 3000), {
        k: "local",
        dev,
        life: dev.life,
        event: { type: "disconnected", connectionId: conn.id, cause: { kind: "network", message: why } },
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // The platform

  private admin(input: ClientInput): PlatformOutput[] {
    return this.platformIn(input, {});
  }

  private platformIn(input: ClientInput, ctx: OutputContext): PlatformOutput[] {
    if (this.finished) return [];
    const full = { ...input, nowMs: EPOCH_MS + this.now } as PlatformInput;
    this.stats["platformInputs"]!++;
    this.trace(`P <- ${JSON.stringify(full)}`);
    const { state, outputs } = platformStep(this.platform, full);
    this.platform = state;
    for (const o of outputs) this.route(o, ctx);
    return [...outputs];
  }

  private route(o: PlatformOutput, ctx: OutputContext): void {
    switch (o.type) {
      case "connack": {
        const conn = this.conns.get(o.clientKey);
        if (conn === undefined) return;
        if (o.code === 0) this.sendDown(conn, { type: "connected", connectionId: conn.id }, null);
        else {
          this.sendDown(
            conn,
            { type: "connect-failed", connectionId: conn.id, cause: { kind: "refused", code: o.code } },
            null,
          );
          if (conn.state === "open") conn.state = "broker-closed";
        }
        return;
      }
      case "suback": {
        const conn = this.conns.get(o.clientKey);
        if (conn === undefined || ctx.ref === undefined) return;
        let granted = [...o.granted];
        if (this.faultsOn && this.rng.chance(this.plan.refuseSubscription)) {
          const i = this.rng.int(0, granted.length - 1);
          if ((granted[i] ?? 0x80) < 0x80) {
            granted = granted.map((g, j) => (j === i ? 0x80 : g));
            this.stats["refusedSubscriptions"]!++;
            this.trace(`FAULT broker refuses subscription #${i} of ${conn.key}`);
          }
        }
        this.sendDown(conn, { type: "subscribed", connectionId: conn.id, ref: ctx.ref, granted }, null);
        return;
      }
      case "publish-accepted": {
        const conn = this.conns.get(o.clientKey);
        if (conn === undefined || ctx.injected === true || ctx.ref === undefined || ctx.qos !== 1) return;
        if (this.faultsOn && this.rng.chance(this.plan.losePuback)) {
          this.stats["lostPubacks"]!++;
          this.breakConn(conn, "connection lost before the PUBACK", true);
          return;
        }
        this.sendDown(conn, { type: "published", connectionId: conn.id, ref: ctx.ref }, null);
        return;
      }
      case "deliver": {
        const conn = this.conns.get(o.clientKey);
        if (conn === undefined) return;
        const event: EventInput = {
          type: "message",
          connectionId: conn.id,
          topic: o.topic,
          payload: o.payload,
        };
        this.sendDown(conn, event, o.topic);
        if (o.qos > 0 && this.faultsOn && this.rng.chance(this.plan.duplicateDownstream)) {
          this.stats["duplicatedMessages"]!++;
          this.trace(`FAULT duplicate ${o.topic} to ${conn.key}`);
          this.sendDown(conn, event, o.topic);
        }
        return;
      }
      case "disconnect": {
        this.stats["brokerDisconnects"]!++;
        const conn = this.conns.get(o.clientKey);
        if (/exceeds/.test(o.reason)) {
          this.stats["oversizeDisconnects"]!++;
          this.violate("size-law", `the platform closed ${o.clientKey}: ${o.reason}`);
          return;
        }
        if (conn === undefined) return;
        this.sendDown(
          conn,
          { type: "disconnected", connectionId: conn.id, cause: { kind: "network", message: o.reason } },
          null,
        );
        if (conn.state === "open") conn.state = "broker-closed";
        return;
      }
      case "invalid-input":
        this.violate("world-bug", `the platform refused an input of the world: ${o.reason}`);
        return;
      case "unsuback":
      case "admin-result":
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Storage and processes

  private persistDone(dev: Device, life: number, ref: number): void {
    if (dev.life !== life || !dev.up) return;
    const head = dev.persists[0];
    if (head === undefined || head.ref !== ref) {
      this.violate("world-bug", `${dev.id}: storage completions out of order (${ref})`);
      return;
    }
    dev.persists.shift();
    if (head.fail) {
      this.stats["persistFailures"]!++;
      this.feed(dev, { type: "persist-failed", ref, message: "simulated disk error" });
      return;
    }
    this.write(dev, head);
    this.feed(dev, { type: "persisted", ref });
  }

  private write(dev: Device, p: PendingPersist): void {
    for (const { key, value } of p.changes) {
      if (value === null) dev.storage.delete(key);
      else {
        const lie = this.sabotage === "lying-disk" && typeof (value as { tag?: unknown }).tag === "string";
        if (!lie) dev.storage.set(key, value);
        if (key.startsWith(DURABLE.outboxPrefix)) {
          const tag = (value as { tag?: unknown }).tag;
          const m = typeof tag === "string" ? this.messages.get(tag) : undefined;
          if (m !== undefined) m.durable = true;
        }
      }
    }
  }

  private boot(dev: Device): void {
    dev.up = true;
    dev.life++;
    dev.state = initialState(dev.config);
    dev.timers.clear();
    dev.conns = new Map();
    dev.persists = [];
    dev.pendingOps.clear();
    dev.refTags = new Map();
    const previousIds = dev.rowIds;
    dev.rowIds = new Map();
    const durable: Record<string, unknown> = {};
    for (const [key, value] of dev.storage) {
      durable[key] = value;
      if (key.startsWith(DURABLE.outboxPrefix)) {
        const { ref, tag } = value as { ref?: unknown; tag?: unknown };
        if (typeof ref === "number") dev.rowIds.set(ref, previousIds.get(ref) ?? `${dev.life - 1}:${ref}`);
        if (typeof ref === "number" && typeof tag === "string") dev.refTags.set(ref, tag);
      }
    }
    this.trace(`BOOT ${dev.id}.${dev.life} with ${dev.storage.size} stored records`);
    this.feed(dev, { type: "start", durable });
    this.at(this.rng.int(0, this.opts.messageEveryMs), { k: "submit", dev, life: dev.life });
  }

  /** The process dies: memory, timers, connections and unfinished writes (but an in-order prefix) are gone. */
  private crash(dev: Device, why: string): void {
    if (!dev.up) return;
    this.stats["crashes"]!++;
    const kept = this.rng.int(0, dev.persists.length);
    this.trace(`CRASH ${dev.id}.${dev.life}: ${why} (${kept} of ${dev.persists.length} pending writes land)`);
    dev.up = false;
    for (const p of dev.persists.slice(0, kept)) if (!p.fail) this.write(dev, p);
    dev.persists = [];
    for (const conn of dev.conns.values()) {
      if (conn.state !== "broken") this.breakConn(conn, `process of ${dev.id} died`, false);
    }
    // Accepted messages that were neither on the platform nor in storage are legitimately gone.
    const stored = new Set<string>();
    for (const [key, value] of dev.storage) {
      if (!key.startsWith(DURABLE.outboxPrefix)) continue;
      const tag = (value as { tag?: unknown }).tag;
      if (typeof tag === "string") stored.add(tag);
    }
    for (const m of this.messages.values()) {
      if (m.dev !== dev.id || m.acceptedMs === null || m.acked || m.dropped || m.excused !== null) continue;
      if (stored.has(m.tag) || m.durable) continue;
      m.excused = `${dev.id} crashed at ${this.now} ms before its record was durable`;
    }
    dev.timers.clear();
    dev.pendingOps.clear();
    this.at(this.rng.int(500, 5000), { k: "boot", dev });
  }

  // -------------------------------------------------------------------------------------------
  // The application

  private submit(dev: Device, life: number): void {
    if (!dev.up || dev.life !== life || this.healing) return;
    const n = this.nextN++;
    const tag = `m${n}`;
    const roll = this.rng.next();
    const kind: Message["kind"] = roll < 0.7 ? "measurement" : roll < 0.9 ? "event" : "alarm";
    const message: UpstreamMessage =
      kind === "measurement"
        ? { template: "200", fragment: "c8y_Sim", series: "s", value: n }
        : kind === "event"
          ? { template: "400", type: "sim_event", text: `e${n}` }
          : { template: "301", type: `sim_alarm_${n}`, text: `a${n}` };
    this.messages.set(tag, {
      tag,
      dev: dev.id,
      kind,
      n,
      submittedMs: this.now,
      acceptedMs: null,
      rejected: null,
      dropped: false,
      durable: false,
      acked: false,
      excused: null,
    });
    const child = this.rng.chance(0.3) ? this.rng.pick(dev.children) : undefined;
    this.feed(
      dev,
      child === undefined ? { type: "submit", message, tag } : { type: "submit", message, tag, child },
    );
    const every = this.opts.messageEveryMs;
    this.at(this.rng.int(Math.round(every / 2), Math.round(every * 1.5)), { k: "submit", dev, life });
  }

  private operationDone(dev: Device, life: number, key: string, op: AnyOperation): void {
    if (!dev.up || dev.life !== life) return;
    dev.pendingOps.delete(key);
    let outcome: OperationOutcome;
    if (op.template === "510") {
      if (op.deviceId === dev.id) {
        this.stats["restartOperations"]!++;
        this.crash(dev, "executing c8y_Restart");
        return;
      }
      outcome = { status: "successful" };
    } else if (op.template === "511") {
      this.decide(op.text, "SUCCESSFUL");
      outcome = { status: "successful", parameters: [op.text] };
    } else if (op.template === "513") {
      const ok = this.rng.chance(0.7);
      this.decide(op.config, ok ? "SUCCESSFUL" : "FAILED");
      outcome = ok ? { status: "successful" } : { status: "failed", reason: `${op.config} refused` };
    } else {
      outcome = this.rng.chance(0.5)
        ? { status: "successful" }
        : { status: "failed", reason: "coin says no" };
    }
    this.feed(dev, { type: "operation-result", key, outcome });
  }

  private decide(text: string, status: string): void {
    const set = this.decisions.get(text) ?? new Set<string>();
    set.add(status);
    this.decisions.set(text, set);
  }

  // -------------------------------------------------------------------------------------------
  // The admin

  private adminOperation(): void {
    if (this.healing) return;
    const dev = this.rng.pick(this.devices);
    const target = this.rng.chance(0.6) ? dev.id : this.rng.pick(dev.children);
    const fragment = this.rng.pick(this.opts.operations);
    const n = this.nextN++;
    let text = "";
    let fragments: Record<string, unknown>;
    switch (fragment) {
      case "c8y_Restart":
        fragments = { c8y_Restart: {} };
        break;
      case "c8y_Command":
        text = `cmd${n}`;
        fragments = { c8y_Command: { text } };
        break;
      case "c8y_Configuration":
        text = `cfg${n}`;
        fragments = { c8y_Configuration: { config: text } };
        break;
      case "c8y_Relay":
        fragments = { c8y_Relay: { relayState: "OPEN" } };
        break;
    }
    const outputs = this.admin({
      type: "admin-create-operation",
      deviceId: target,
      fragments,
      description: `op${n}`,
    });
    for (const o of outputs) {
      if (o.type === "admin-result" && o.ok && o.operationId !== undefined)
        this.created.push({ id: o.operationId, fragment, target, dev: dev.id, text });
    }
    const every = this.opts.operationEveryMs;
    this.at(this.rng.int(Math.round(every / 2), Math.round(every * 1.5)), { k: "admin-op" });
  }

  private adminAccept(): void {
    for (const r of listRegistrations(this.platform)) {
      if (r.status === "PENDING_ACCEPTANCE") this.admin({ type: "admin-accept", deviceId: r.deviceId });
    }
    this.at(this.rng.int(1000, 15_000), { k: "admin-accept" });
  }

  // -------------------------------------------------------------------------------------------
  // Fault injection over time

  private scheduleChaos(dev: Device): void {
    const rates: [Extract<Item, { k: "chaos" }>["what"], number][] = [
      ["drop", this.plan.dropConnection],
      ["crash", this.plan.crash],
      ["clock", this.plan.clockJump],
      ["repush", this.plan.redeliverOperations],
    ];
    for (const [what, rate] of rates) if (rate > 0) this.at(this.nextChaos(rate), { k: "chaos", dev, what });
  }

  /** Uniform in [0, 2·mean]: mean interval 60 s / rate. */
  private nextChaos(ratePerMinute: number): number {
    return this.rng.next() * 2 * (60_000 / ratePerMinute);
  }

  private chaos(dev: Device, what: Extract<Item, { k: "chaos" }>["what"]): void {
    if (this.healing) return;
    const rate =
      what === "drop"
        ? this.plan.dropConnection
        : what === "crash"
          ? this.plan.crash
          : what === "clock"
            ? this.plan.clockJump
            : this.plan.redeliverOperations;
    this.at(this.nextChaos(rate), { k: "chaos", dev, what });
    switch (what) {
      case "drop": {
        const conn = dev.up ? dev.conns.get(dev.state.connectionId) : undefined;
        if (conn !== undefined && conn.state === "open") this.breakConn(conn, "network drop", true);
        return;
      }
      case "crash":
        this.crash(dev, "fault injection");
        return;
      case "clock": {
        const jump = this.rng.int(1000, 120_000);
        dev.offset += jump;
        this.stats["clockJumps"]!++;
        this.trace(`FAULT clock of ${dev.id} jumps +${jump} ms`);
        if (dev.up) for (const [key, atLocal] of dev.timers) this.scheduleTimer(dev, key, atLocal);
        return;
      }
      case "repush": {
        const key = this.platform.liveSessions[dev.id];
        const session = key === undefined ? undefined : this.platform.sessions[key];
        if (key === undefined || session?.kind !== "device") return;
        this.stats["repushes"]!++;
        this.trace(`FAULT platform re-pushes PENDING operations to ${key}`);
        this.platformIn(
          { type: "client-publish", clientKey: key, topic: "s/us", payload: "500", qos: 0 },
          { injected: true },
        );
        return;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // The verdict

  /** A status row of the operation's (target, fragment) was replayed: see known issue status-replay. */
  private replayExplains(op: StoredOperation): boolean {
    const fragment = Object.keys(op.fragments)[0];
    return this.replays.some(
      (r) => targetOf(r.topic, r.dev) === op.externalId && r.line.split(",")[1] === fragment,
    );
  }

  private notDrained(): string[] {
    const problems: string[] = [];
    for (const dev of this.devices) {
      const s = dev.state;
      const what: string[] = [];
      if (!dev.up) what.push("process down");
      if (s.phase.name !== "online") what.push(`phase ${s.phase.name}`);
      const held = heldCount(s.outbox);
      if (held > 0) what.push(`${held} rows held in the outbox`);
      const inflight = Object.keys(s.session.inflight).length;
      if (inflight > 0) what.push(`${inflight} publishes in flight`);
      const journal = Object.values(s.journal.entries);
      if (journal.length > 0)
        what.push(
          `journal: ${journal.map((e) => `${e.key} ${e.fragment}@${e.deviceId} ${e.stage}`).join(", ")}`,
        );
      if (dev.persists.length > 0) what.push(`${dev.persists.length} writes pending`);
      if (dev.pendingOps.size > 0) what.push(`${dev.pendingOps.size} operations with the application`);
      if (what.length > 0) problems.push(`${dev.id}: ${what.join("; ")}`);
    }
    const open = this.platform.operations.filter(
      (o) =>
        o.status !== "SUCCESSFUL" && o.status !== "FAILED" && !(this.tolerateKnown && this.replayExplains(o)),
    );
    if (open.length > 0)
      problems.push(
        `platform operations not terminal: ${open
          .slice(0, 8)
          .map((o) => `${o.id} ${Object.keys(o.fragments).join("+")}@${o.externalId} ${o.status}`)
          .join(", ")}${open.length > 8 ? ` (+${open.length - 8})` : ""}`,
      );
    return problems;
  }

  private drained(): boolean {
    return this.notDrained().length === 0;
  }

  private checkOperations(): void {
    const byId = new Map(this.created.map((c) => [c.id, c]));
    for (const op of this.platform.operations) {
      const seq = op.history.map((h) => h.status[0]).join("");
      if (!/^P(E[SF]?)?$/.test(seq)) {
        return this.violate(
          "operation-history",
          `operation ${op.id} (${describeOp(op)}) went through ${op.history
            .map((h) => `${h.status}@${h.atMs - EPOCH_MS} by "${h.cause}"`)
            .join(" → ")}; expected PENDING → EXECUTING → SUCCESSFUL|FAILED`,
        );
      }
      const c = byId.get(op.id);
      if (c === undefined) continue;
      const replayed = this.replays.filter(
        (r) => targetOf(r.topic, r.dev) === op.externalId && r.line.split(",")[1] === c.fragment,
      );
      const doubled = this.doubles.some((d) => d.target === op.externalId && d.fragment === c.fragment);
      const overtaken = this.outOfOrder(op.externalId, c.fragment);
      const wrong = (why: string): boolean => {
        const known =
          replayed.length > 0
            ? `status-replay: ${replayed
                .map((r) => `"${r.line}" on ${r.topic} re-processed at ${r.atMs} ms`)
                .join("; ")}`
            : doubled
              ? "finished-twin / stale-500-answer: another operation of this fragment was executed twice on this device"
              : overtaken !== undefined
                ? `push-before-500: ${overtaken}`
                : undefined;
        this.violate(
          "wrong-operation",
          `operation ${op.id} (${describeOp(op)}) is ${op.status}${
            op.failureReason === undefined ? "" : ` ("${op.failureReason}")`
          } but ${why}; history: ${op.history.map((h) => `${h.status} by "${h.cause}"`).join(" → ")}`,
          known,
        );
        return this.violation !== null;
      };
      const restarted = op.failureReason?.includes(RESTART_REASON) === true;
      const decided = this.decisions.get(c.text) ?? new Set<string>();
      switch (c.fragment) {
        case "c8y_Command": {
          const result = (op.fragments["c8y_Command"] as { result?: unknown } | undefined)?.result;
          if (op.status === "SUCCESSFUL" && result !== c.text) {
            if (wrong(`its result is ${JSON.stringify(result)}, not its own text "${c.text}"`)) return;
          } else if (op.status === "FAILED" && !restarted) {
            if (wrong("the application never fails a c8y_Command")) return;
          }
          break;
        }
        case "c8y_Configuration":
          if (op.status === "SUCCESSFUL" && !decided.has("SUCCESSFUL")) {
            const d = [...decided].join(",") || "nothing";
            if (wrong(`the application never reported success for "${c.text}" (decided: ${d})`)) return;
          } else if (
            op.status === "FAILED" &&
            !restarted &&
            !(decided.has("FAILED") && op.failureReason === `${c.text} refused`)
          ) {
            const d = [...decided].join(",") || "nothing";
            if (wrong(`the application did not fail "${c.text}" that way (decided: ${d})`)) return;
          }
          break;
        case "c8y_Restart":
          if (op.status === "FAILED" && wrong("a restart is executed by restarting: it must end SUCCESSFUL"))
            return;
          break;
        case "c8y_Relay":
          if (op.status === "SUCCESSFUL") {
            if (wrong("c8y_Relay is not supported by the devices")) return;
          } else if (op.status === "FAILED" && op.failureReason?.includes("not supported") !== true) {
            if (wrong("it should have failed as unsupported")) return;
          }
          break;
      }
    }
  }

  /**
   * Whether operations of (target, fragment) reached the device in another order than the
   * platform created them (a live push overtaking the answer to `500`): id-less statuses
   * (501/503 act on the oldest) then address a different operation than the one executed.
   */
  private outOfOrder(target: string, fragment: string): string | undefined {
    const line = (c: CreatedOperation) =>
      fragment === "c8y_Command"
        ? `511,${target},${c.text}`
        : fragment === "c8y_Configuration"
          ? `513,${target},${c.text}`
          : "";
    const ops = this.created
      .filter((c) => c.target === target && c.fragment === fragment && c.text !== "")
      .sort((a, b) => Number(a.id) - Number(b.id));
    for (let i = 1; i < ops.length; i++) {
      const older = ops[i - 1]!;
      const newer = ops[i]!;
      const a = this.arrivals.get(line(older)) ?? Infinity;
      const b = this.arrivals.get(line(newer)) ?? Infinity;
      if (b < a)
        return `"${line(newer)}" (operation ${newer.id}) reached the device before the older "${line(older)}" (operation ${older.id})`;
    }
    return undefined;
  }

  private platformContent(): { present: Map<string, number> } {
    const present = new Map<string, number>();
    const add = (tag: string) => present.set(tag, (present.get(tag) ?? 0) + 1);
    for (const m of listMeasurements(this.platform)) {
      const value = (
        (m.fragments["c8y_Sim"] as Record<string, unknown> | undefined)?.["s"] as
          { value?: unknown } | undefined
      )?.value;
      if (typeof value === "number") add(`m${value}`);
    }
    for (const e of listEvents(this.platform)) if (e.type === "sim_event") add(`m${e.text.slice(1)}`);
    for (const a of listAlarms(this.platform)) {
      if (a.type.startsWith("sim_alarm_")) {
        add(`m${a.type.slice("sim_alarm_".length)}`);
        if (a.count > 1) present.set(`m${a.type.slice("sim_alarm_".length)}`, a.count);
      }
    }
    return { present };
  }

  private checkMessages(present: Map<string, number>): void {
    for (const m of this.messages.values()) {
      if (m.acceptedMs === null || present.has(m.tag) || m.dropped || m.excused !== null) continue;
      this.violate(
        "message-lost",
        `${m.kind} ${m.tag} of ${m.dev} was accepted at ${m.acceptedMs} ms, ${m.durable ? "durable" : "never durable"}, ` +
          `${m.acked ? "PUBACKed" : "never PUBACKed"}, not dropped by policy, not lost at a crash — and it is not on the platform`,
      );
      return;
    }
  }

  private report(): WorldReport {
    const { present } = this.platformContent();
    if (this.violation === null) this.checkOperations();
    for (const op of this.platform.operations) {
      if (this.violation !== null || op.status === "SUCCESSFUL" || op.status === "FAILED") continue;
      if (this.replayExplains(op))
        this.violate(
          "liveness",
          `operation ${op.id} (${describeOp(op)}) stays ${op.status}: ${op.history
            .map((h) => `${h.status} by "${h.cause}"`)
            .join(" → ")}`,
          "status-replay: a replayed 501 moved this operation to EXECUTING although the device took it for a redelivery (identical line) of the one it was executing",
        );
    }
    if (this.violation === null && this.drainedAtMs === null) {
      const problems = this.notDrained();
      this.violate(
        "liveness",
        `not drained ${this.opts.healMs} ms after the faults healed:\n  ${problems.join("\n  ")}`,
      );
    }
    if (this.violation === null) this.checkMessages(present);
    const msgs = [...this.messages.values()];
    const ops = this.platform.operations;
    return {
      seed: this.seed,
      devices: this.devices.length,
      plan: this.plan,
      faults: describePlan(this.plan),
      autoAccept: this.autoAccept,
      virtualMs: this.now,
      drainedAtMs: this.drainedAtMs,
      messages: {
        submitted: msgs.length,
        accepted: msgs.filter((m) => m.acceptedMs !== null).length,
        onPlatform: msgs.filter((m) => present.has(m.tag)).length,
        droppedByPolicy: msgs.filter((m) => m.dropped).length,
        lostAtCrash: msgs.filter((m) => m.excused !== null && !present.has(m.tag)).length,
        duplicates: [...present.values()].reduce((n, c) => n + (c - 1), 0),
        rejected: msgs.filter((m) => m.rejected !== null).length,
      },
      operations: {
        created: ops.length,
        successful: ops.filter((o) => o.status === "SUCCESSFUL").length,
        failed: ops.filter((o) => o.status === "FAILED").length,
        open: ops.filter((o) => o.status !== "SUCCESSFUL" && o.status !== "FAILED").length,
      },
      stats: { ...this.stats },
      violation: this.violation,
      ok: this.violation === null,
      knownIssues: [...this.knownIssues],
      statusReplays: [...this.replays],
      traceHash: this.hash.hex(),
      traceTail: [...this.tail],
      ...(this.fullTrace === null ? {} : { trace: this.fullTrace }),
      platform: this.platform,
      deviceSummaries: this.devices.map((d) => ({
        id: d.id,
        auth: d.auth,
        children: d.children,
        lives: d.life,
        phase: d.state.phase.name,
      })),
    };
  }
}

interface OutputContext {
  conn?: Conn;
  ref?: number;
  qos?: number;
  /** Input the world injected on a device's behalf (fault): no PUBACK goes back. */
  injected?: boolean;
}

/** External id a status topic addresses: `s/us` → the device, `s/us/<child>` → the child. */
const targetOf = (topic: string, device: string): string => {
  const level = topic.split("/")[2];
  return level === undefined || level === "" ? device : level;
};

const describeOp = (op: StoredOperation): string =>
  `${Object.entries(op.fragments)
    .map(([k, v]) => `${k}${JSON.stringify(v) === "{}" ? "" : JSON.stringify(v)}`)
    .join("+")} for ${op.externalId}`;

/** Runs one world to its verdict. */
export const runWorld = (options: WorldOptions): WorldReport => new World(options).run();

export { enabledFaults };
