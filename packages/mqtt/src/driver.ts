/**
 * The interpreter: runs `@c8ylink/core`'s `step` against the real world (MQTT.js, timers,
 * storage). It takes no protocol decisions: it executes commands and reports results.
 *
 * ## Interpreter contract
 *
 * 1. `feed(input)` stamps the input with `nowMs` from the injected clock (never decreasing),
 *    calls `step`, records the step, runs the invariant hook, then executes the returned
 *    commands in list order.
 * 2. Results of effects (CONNACK, SUBACK, PUBACK, incoming messages, timer fires, storage
 *    results, operation outcomes) are never fed from inside command execution: they are put on
 *    a FIFO queue and fed one at a time from a fresh macrotask (`setImmediate`). A `feed` while
 *    commands execute is a bug and throws (re-entrancy assertion).
 * 3. `report` and `execute-operation` commands are handed to the embedding layer after the
 *    whole command list ran, so a listener may call `feed` (e.g. submit) synchronously.
 * 4. Every connection is a new MQTT.js client tied to the command's `connectionId`. MQTT.js's
 *    own recovery is switched off (no reconnect, no resubscribe, no offline queue), so the
 *    core's view of the session is the only one: publishes and subscribes are only handed to
 *    a client that is connected, otherwise they are dropped silently and the connection-loss
 *    event that must follow makes the core requeue them.
 * 5. After a `disconnect` command (or `close()`), nothing more is reported for that
 *    connection id. Results from superseded connections may still be reported; the core
 *    ignores stale ids.
 * 6. Persists run one after another, in command order; those issued while a write is in
 *    progress are written together as the next batch, whose result is reported once,
 *    cumulatively (`persisted {ref}` / `persist-failed {ref}` for the batch's last ref).
 * 7. One OS timer per key; `timer-set` replaces it. A timer that fires before the clock
 *    reaches its deadline (timer granularity) is re-armed, so `timer-fired` always carries
 *    `nowMs >= atMs`.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient, type Packet } from "mqtt";
import {
  assertNever,
  createInvariantChecker,
  formatViolations,
  step,
  initialState,
  type Command,
  type DurableChange,
  type EngineConfig,
  type EngineState,
  type Event,
  type EventInput,
  type Report,
} from "@c8ylink/core";
import { monotonicClock, type Clock } from "./clock.js";
import { NONE, appended, none } from "./lists.js";
import type { Storage } from "./storage.js";

/** An event without its timestamp: the driver adds `nowMs` when it feeds it. */
export type { EventInput };

export type ExecuteOperationCommand = Extract<Command, { type: "execute-operation" }>;
type ConnectCommand = Extract<Command, { type: "connect" }>;
type SubscribeCommand = Extract<Command, { type: "subscribe" }>;
type PublishCommand = Extract<Command, { type: "publish" }>;

/** TLS material and verification for `mqtts://` and `wss://` URLs. */
export interface TlsOptions {
  /** Trusted CA certificate(s), PEM. Default: Node's built-in roots. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate chain, PEM (certificate authentication). */
  readonly cert?: string | Buffer;
  /** Client private key, PEM. */
  readonly key?: string | Buffer;
  /** Verify the server certificate (default true; only switch off against a test broker). */
  readonly rejectUnauthorized?: boolean;
}

/** Receives every step for the event log. */
export interface StepRecorder {
  record(event: Event, commands: readonly Command[]): void;
}

/** Called after every step; throw to declare the state broken (the driver then faults). */
export type InvariantCheck = (
  before: EngineState,
  event: Event,
  after: EngineState,
  commands: readonly Command[],
) => void;

/**
 * The core's laws (`invariants.ts` in `@c8ylink/core`) as a `checkInvariants` hook for one
 * driver: a violated law throws, which faults the driver.
 */
export const coreInvariants = (): InvariantCheck => {
  const laws = createInvariantChecker();
  return (before, event, after, commands) => {
    const violations = laws.check(before, event, after, commands);
    if (violations.length > 0) {
      throw new Error(`invariant violated on "${event.type}":\n${formatViolations(violations)}`);
    }
  };
};

export interface DriverOptions {
  readonly config: EngineConfig;
  /** Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://` (WebSocket path defaults to `/mqtt`). */
  readonly url: string;
  readonly storage: Storage;
  readonly clock?: Clock;
  readonly tls?: TlsOptions;
  readonly recorder?: StepRecorder;
  readonly checkInvariants?: InvariantCheck;
  /** Every `report` command, after the step's commands ran. */
  readonly onReport?: (report: Report) => void;
  /** Every `execute-operation` command, after the step's commands ran. */
  readonly onExecute?: (command: ExecuteOperationCommand) => void;
  /** After every step (state already updated, notifications delivered). */
  readonly onStep?: (event: Event, commands: readonly Command[], state: EngineState) => void;
  /** The driver stopped working (invariant violated, internal error). It will not feed again. */
  readonly onFault?: (error: Error) => void;
  /** A listener threw; the driver carries on. Default: `console.error`. */
  readonly onListenerError?: (error: unknown) => void;
  /** Replaces `mqtt.connect` (instrumentation, tests). */
  readonly mqttConnect?: (url: string, options: IClientOptions) => MqttClient;
}

/** One MQTT.js client and what is known about it. */
interface Connection {
  readonly id: number;
  readonly client: MqttClient;
  /** The driver it belongs to (for the shared client listeners, see `CONNECTION_OF`). */
  readonly driver: Driver;
  /** CONNACK 0 seen (`connect` event). */
  connected: boolean;
  /** A CONNACK was received on this socket (a second one is a mid-session refusal). */
  connackSeen: boolean;
  /** Return code of a CONNACK refusal, at connect time or mid-session. */
  refusedCode: number | null;
  lastError: string | null;
  /** The engine asked to end it (or the driver closed): report nothing more. */
  ended: boolean;
  /** The end of this connection was reported. */
  reported: boolean;
}

type Notification =
  | { readonly kind: "report"; readonly report: Report }
  | { readonly kind: "execute"; readonly command: ExecuteOperationCommand };

/** The settled persist chain of a driver with nothing being written (one promise shared by all). */
const SETTLED: Promise<void> = Promise.resolve();

/** Upper bound on queued results fed in one macrotask before yielding to I/O. */
const DRAIN_BATCH = 2_000;
/** setTimeout's maximum delay. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Whether an MQTT.js error carries a numeric CONNACK / reason code. */
const numericCode = (e: unknown): number | null => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : null;
};

export class Driver {
  private currentState: EngineState;
  private readonly clock: Clock;
  private lastNowMs = Number.NEGATIVE_INFINITY;
  /** Results waiting to be fed: a FIFO with a moving head (Array#shift is O(n) on large queues). */
  private queue: EventInput[] = none();
  private queueHead = 0;
  private drainScheduled = false;
  private executing = false;
  private notifications: Notification[] = none();
  private delivering = false;
  // One connection and a few timers at a time: arrays of exactly their length, not Maps (a
  // Map's hash table costs ~150 bytes even for one entry, paid per engine by a fleet).
  private connections: readonly Connection[] = NONE;
  private timers: readonly OsTimer[] = NONE;
  /** Storage work in order: `SETTLED` again once the last write settled and nothing waits. */
  private persistChain: Promise<void> = SETTLED;
  /** Persists waiting for the storage; written together as one batch when it is free. */
  private pendingPersists: Extract<Command, { type: "persist" }>[] = none();
  private persistWriting = false;
  private status: "running" | "closed" | "faulted" = "running";
  private faultError: Error | null = null;
  private stepCount = 0;

  constructor(private readonly options: DriverOptions) {
    this.currentState = initialState(options.config);
    this.clock = options.clock ?? monotonicClock;
  }

  /** The core state after the last step. */
  get state(): EngineState {
    return this.currentState;
  }

  /** Steps fed so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** The error that stopped the driver, if any. */
  get fault(): Error | null {
    return this.faultError;
  }

  get running(): boolean {
    return this.status === "running";
  }

  /** Loads storage and feeds `start`. */
  async start(): Promise<void> {
    const storage = this.options.storage;
    if (storage.loadPaged !== undefined) {
      // A restart with a large backlog reads only the rows the core keeps in memory.
      const paged = await storage.loadPaged(this.options.config.outboxMemoryRows);
      this.feed({ type: "start", durable: paged.records, outboxStored: paged.outboxStored });
    } else {
      this.feed({ type: "start", durable: await storage.load() });
    }
  }

  /**
   * Feeds one event now and executes its commands. Returns the commands. Throws when called
   * while commands execute (re-entrancy) and when the driver is closed or faulted.
   */
  feed(input: EventInput): readonly Command[] {
    if (this.executing) {
      throw new Error(`re-entrant feed of "${input.type}" while commands execute (interpreter contract)`);
    }
    if (this.status !== "running") {
      throw this.faultError ?? new Error(`driver is ${this.status}`);
    }
    const nowMs = Math.max(this.lastNowMs, this.clock.nowMs());
    this.lastNowMs = nowMs;
    const event = { ...input, nowMs } as Event;
    const before = this.currentState;
    const { state, commands } = step(before, event);
    this.currentState = state;
    this.stepCount++;
    try {
      this.options.recorder?.record(event, commands);
      this.options.checkInvariants?.(before, event, state, commands);
    } catch (e) {
      this.faultWith(e instanceof Error ? e : new Error(String(e)));
      throw this.faultError ?? e;
    }
    this.executing = true;
    try {
      for (const command of commands) this.execute(command);
    } catch (e) {
      this.executing = false;
      this.faultWith(new Error(`command execution failed: ${errorText(e)}`));
      throw this.faultError ?? e;
    } finally {
      this.executing = false;
    }
    this.deliverNotifications();
    this.safely(() => this.options.onStep?.(event, commands, state));
    return commands;
  }

  /** Queues a result; it is fed later from a fresh macrotask, in FIFO order. */
  post(input: EventInput): void {
    if (this.status !== "running") return;
    // Into an empty queue as an array of one: a push would give it room for 17 (150 bytes that
    // each engine of a fleet holds while its one result waits).
    this.queue = appended(this.queue, input);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private get queued(): number {
    return this.queue.length - this.queueHead;
  }

  private dequeue(): EventInput | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const next = this.queue[this.queueHead++];
    // Emptied: let the fed events go (an idle engine in a fleet must not hold its last
    // thousand results until more arrive).
    if (this.queueHead === this.queue.length) {
      this.queue = none();
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return next;
  }

  private drain(): void {
    this.drainScheduled = false;
    for (let i = 0; i < DRAIN_BATCH && this.queued > 0 && this.status === "running"; i++) {
      const next = this.dequeue();
      if (next === undefined) break;
      try {
        this.feed(next);
      } catch {
        return; // faulted: onFault has been told
      }
    }
    if (this.queued > 0 && this.status === "running" && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Feeds everything queued right now (used while shutting down). */
  drainNow(): void {
    while (this.queued > 0 && this.status === "running") {
      const next = this.dequeue();
      if (next !== undefined) this.feed(next);
    }
  }

  /**
   * Writes every waiting persist as one storage batch, then reports one cumulative result
   * (the core's contract: `persisted {ref}` covers every persist up to `ref`). Persists that
   * arrive meanwhile form the next batch, so a burst of submissions costs a few writes.
   */
  private writePersists(): void {
    const batch = this.pendingPersists;
    const last = batch.at(-1);
    if (last === undefined) return;
    this.pendingPersists = none();
    this.persistWriting = true;
    const changes = batch.length === 1 ? last.changes : batch.flatMap((p) => p.changes);
    // Only the ref is kept for the result: the closures below live until the write is durable
    // (an fsync away), and a 100k-row batch's changes must not live as long.
    const ref = last.ref;
    const chain: Promise<void> = this.applyAfter(this.persistChain, changes)
      .then(
        () => this.post({ type: "persisted", ref }),
        (e: unknown) => this.post({ type: "persist-failed", ref, message: errorText(e) }),
      )
      .then(() => {
        this.persistWriting = false;
        if (this.pendingPersists.length > 0 && this.status === "running") this.writePersists();
        // Nothing chained after this write: an idle engine holds no promise of its own. Its
        // result is queued already, so `persistsSettled` may stop waiting here.
        else if (this.persistChain === chain) this.persistChain = SETTLED;
      });
    this.persistChain = chain;
  }

  /** `storage.apply(changes)` once `before` settled (its own scope: see `writePersists`). */
  private applyAfter(before: Promise<void>, changes: readonly DurableChange[]): Promise<void> {
    const storage = this.options.storage;
    return before.then(() => storage.apply(changes));
  }

  /** Reads stored outbox rows after every persist issued before (they are written first). */
  private loadOutbox({ cls, afterRef, max }: Extract<Command, { type: "load-outbox" }>): void {
    if (this.pendingPersists.length > 0) this.writePersists();
    const storage = this.options.storage;
    this.persistChain = this.persistChain.then(() =>
      (storage.loadOutbox === undefined
        ? Promise.reject(new Error("this storage cannot read the outbox back by class (no loadOutbox)"))
        : storage.loadOutbox(cls, afterRef, max)
      ).then(
        (rows) => this.post({ type: "outbox-loaded", cls, max, rows }),
        (e: unknown) => this.post({ type: "outbox-load-failed", cls, message: errorText(e) }),
      ),
    );
  }

  /** Resolves once every persist issued so far has settled and its result was queued. */
  async persistsSettled(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.persistChain;
      await chain;
    } while (chain !== this.persistChain);
  }

  /** Stops everything: ends every client, clears every timer, feeds nothing more. */
  close(): void {
    if (this.status === "running") this.status = "closed";
    this.teardown();
  }

  private teardown(): void {
    for (const { handle } of this.timers) clearTimeout(handle);
    this.timers = NONE;
    for (const conn of this.connections) this.endConnection(conn);
    this.connections = NONE;
    this.queue = none();
    this.queueHead = 0;
  }

  private faultWith(error: Error): void {
    if (this.status === "faulted") return;
    this.status = "faulted";
    this.faultError = error;
    this.teardown();
    this.safely(() => this.options.onFault?.(error));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      (this.options.onListenerError ?? ((err: unknown) => console.error("c8ylink listener failed:", err)))(e);
    }
  }

  private deliverNotifications(): void {
    if (this.delivering) return; // the outer delivery loop picks them up, in order
    this.delivering = true;
    try {
      // By index, not shift (`NONE` is frozen): a listener's own feed appends to this array
      // (non-empty while delivering), and the loop reaches those too, in order.
      for (let i = 0; i < this.notifications.length; i++) {
        const item = this.notifications[i] as Notification;
        if (item.kind === "report") this.safely(() => this.options.onReport?.(item.report));
        else this.safely(() => this.options.onExecute?.(item.command));
      }
      // Delivered: drop the array and its room (an idle engine keeps none).
      this.notifications = none();
    } finally {
      this.delivering = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Command execution (synchronous; results are posted)

  private execute(command: Command): void {
    switch (command.type) {
      case "connect":
        return this.connect(command);
      case "disconnect": {
        const conn = this.connection(command.connectionId);
        if (conn !== undefined) {
          this.endConnection(conn);
          this.connections = without(this.connections, (c) => c.id === conn.id);
        }
        return;
      }
      case "subscribe":
        return this.subscribe(command);
      case "publish":
        return this.publish(command);
      case "timer-set":
        return this.setTimer(command.key, command.atMs);
      case "timer-cancel": {
        const timer = this.timers.find((t) => t.key === command.key);
        if (timer !== undefined) clearTimeout(timer.handle);
        this.timers = without(this.timers, (t) => t.key === command.key);
        return;
      }
      case "persist":
        this.pendingPersists = appended(this.pendingPersists, command);
        if (!this.persistWriting) this.writePersists();
        return;
      case "load-outbox":
        return this.loadOutbox(command);
      case "execute-operation":
        this.notifications = appended<Notification>(this.notifications, { kind: "execute", command });
        return;
      case "report":
        this.notifications = appended<Notification>(this.notifications, {
          kind: "report",
          report: command.report,
        });
        return;
      default:
        return assertNever(command);
    }
  }

  private clientOptions(command: ConnectCommand): IClientOptions {
    const tls = this.options.tls ?? {};
    const url = new URL(this.options.url);
    const ws = url.protocol === "ws:" || url.protocol === "wss:";
    const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? [...tls.ca] : tls.ca;
    const options: IClientOptions = {
      clientId: command.clientId,
      ...(command.username === null ? {} : { username: command.username }),
      ...(command.password === null ? {} : { password: command.password }),
      keepalive: command.keepAliveSeconds,
      clean: true,
      connectTimeout: command.timeoutMs,
      protocolVersion: 4,
      // MQTT.js's own recovery is off: reconnects, resubscribes and retransmission are the core's.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      reconnectOnConnackError: false,
      manualConnect: false,
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
    };
    if (ca !== undefined) options.ca = ca as string | Buffer | string[] | Buffer[];
    if (tls.cert !== undefined) options.cert = tls.cert;
    if (tls.key !== undefined) options.key = tls.key;
    if (ws && (url.pathname === "" || url.pathname === "/")) options.path = "/mqtt";
    return options;
  }

  private connect(command: ConnectCommand): void {
    const id = command.connectionId;
    const stale = this.connection(id);
    if (stale !== undefined) this.endConnection(stale);
    let client: MqttClient;
    try {
      client = (this.options.mqttConnect ?? mqtt.connect)(this.options.url, this.clientOptions(command));
    } catch (e) {
      // Bad URL or TLS material: report it like any failed attempt; the core retries with backoff.
      this.post({
        type: "connect-failed",
        connectionId: id,
        cause: { kind: "network", message: errorText(e) },
      });
      return;
    }
    const conn: Connection = {
      id,
      client,
      driver: this,
      connected: false,
      connackSeen: false,
      refusedCode: null,
      lastError: null,
      ended: false,
      reported: false,
    };
    this.connections = without(this.connections, (c) => c.id === id).concat([conn]);
    // Shared listeners that find their connection by client, not four closures and a context
    // per connection (~230 bytes per engine of a fleet).
    CONNECTION_OF.set(client, conn);
    client.on("packetreceive", onPacketReceive);
    // Once: without reconnects MQTT.js connects a client at most once, and a listener left in
    // place costs each connected engine of a fleet a closure and an array of listeners.
    client.once("connect", onConnect);
    client.on("error", onError);
    client.on("message", onMessage);
    client.on("close", onClose);
  }

  /** The client connected (CONNACK 0). Called by the shared client listeners. */
  static connected(conn: Connection): void {
    if (conn.ended) return;
    conn.connected = true;
    conn.driver.post({ type: "connected", connectionId: conn.id });
  }

  /** A PUBLISH arrived. Called by the shared client listeners. */
  static message(conn: Connection, topic: string, payload: Buffer): void {
    if (conn.ended) return;
    conn.driver.post({ type: "message", connectionId: conn.id, topic, payload: decoder.decode(payload) });
  }

  /** The client's socket closed. Called by the shared client listeners. */
  static closed(conn: Connection): void {
    if (conn.ended || conn.reported) return;
    conn.reported = true;
    const cause =
      conn.refusedCode !== null
        ? ({ kind: "refused", code: conn.refusedCode } as const)
        : ({ kind: "network", message: conn.lastError ?? "connection closed" } as const);
    const driver = conn.driver;
    driver.post(
      conn.connected
        ? { type: "disconnected", connectionId: conn.id, cause }
        : { type: "connect-failed", connectionId: conn.id, cause },
    );
    // Release the client (keepalive, stores). reconnectPeriod 0: it never comes back.
    driver.endConnection(conn, true);
    driver.connections = without(driver.connections, (c) => c.id === conn.id);
  }

  /** Ends a client forcefully; nothing more is reported for it (unless `keepReported`). */
  private endConnection(conn: Connection, keepReported = false): void {
    if (!keepReported) conn.ended = true;
    conn.connected = false;
    try {
      conn.client.end(true);
    } catch {
      // already gone
    }
  }

  private connection(id: number): Connection | undefined {
    return this.connections.find((c) => c.id === id);
  }

  private live(connectionId: number): Connection | undefined {
    const conn = this.connection(connectionId);
    // `client.connected` is false as soon as the socket closed, even before our `close` handler
    // ran. Handing a packet to a disconnected MQTT.js client would put it in its offline store.
    if (conn === undefined || conn.ended || !conn.connected || !conn.client.connected) return undefined;
    // MQTT.js clears `connected` in its own `close` listener; the stream knows earlier.
    const stream = conn.client.stream as { destroyed?: boolean; writable?: boolean } | undefined;
    if (stream === undefined || stream.destroyed === true || stream.writable === false) return undefined;
    return conn;
  }

  private subscribe(command: SubscribeCommand): void {
    const conn = this.live(command.connectionId);
    if (conn === undefined) return;
    const { ref, topics } = command;
    const map: Record<string, { qos: 0 | 1 | 2 }> = {};
    for (const { topic, qos } of topics) map[topic] = { qos };
    conn.client.subscribe(map, (_err, _grants, packet) => {
      // A refusal (128) arrives as an error *with* the SUBACK; a closed connection without one.
      if (conn.ended || packet === undefined) return;
      this.post({
        type: "subscribed",
        connectionId: conn.id,
        ref,
        granted: packet.granted.map((g) => (typeof g === "number" ? g : 0x80)),
      });
    });
  }

  private publish(command: PublishCommand): void {
    const conn = this.live(command.connectionId);
    if (conn === undefined) return; // the connection-loss event follows; the core requeues
    const { ref, topic, payload, qos } = command;
    conn.client.publish(topic, payload, { qos, retain: false }, (err) => {
      // QoS 1/2: called on PUBACK/PUBCOMP. QoS 0: once written. Errors mean the connection died.
      if (err !== undefined && err !== null) return;
      if (conn.ended) return;
      this.post({ type: "published", connectionId: conn.id, ref });
    });
  }

  private setTimer(key: string, atMs: number): void {
    const existing = this.timers.find((t) => t.key === key);
    if (existing !== undefined) clearTimeout(existing.handle);
    this.armTimer(key, atMs);
  }

  // One shared callback given the timer's record, rather than a closure (and its context) per
  // timer: a fleet of engines keeps a timer each.
  private armTimer(key: string, atMs: number): void {
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, Math.ceil(atMs - this.clock.nowMs())));
    const timer: OsTimer = { key, atMs, driver: this, handle: undefined };
    timer.handle = setTimeout(timerDue, delay, timer);
    this.timers = without(this.timers, (t) => t.key === key).concat([timer]);
  }

  /** An OS timer fired. Called by the shared timer callback. */
  static timerDue(timer: OsTimer): void {
    const driver = timer.driver;
    const { key, atMs } = timer;
    if (driver.timers.find((t) => t.key === key) !== timer) return;
    if (driver.clock.nowMs() < atMs) {
      driver.armTimer(key, atMs); // fired early (timer granularity) or a long delay in parts
      return;
    }
    driver.timers = without(driver.timers, (t) => t.key === key);
    driver.post({ type: "timer-fired", key });
  }
}

/** The OS timer armed for one key (`handle` set right after `setTimeout` returns). */
interface OsTimer {
  readonly key: string;
  readonly atMs: number;
  readonly driver: Driver;
  handle: NodeJS.Timeout | undefined;
}

const timerDue = (timer: OsTimer): void => Driver.timerDue(timer);

/**
 * The connection of each live client, for the listeners below (shared by every connection
 * of every driver; `this` is the emitting client). Weak: an ended client goes with its entry.
 */
const CONNECTION_OF = new WeakMap<MqttClient, Connection>();

function onPacketReceive(this: MqttClient, packet: Packet): void {
  const conn = CONNECTION_OF.get(this);
  if (conn === undefined || packet.cmd !== "connack") return;
  const code = packet.returnCode ?? packet.reasonCode ?? 0;
  // MQTT.js drops a second CONNACK as a protocol error without its code; Cumulocity uses it
  // to end a session with a reason (spec §1.10), so keep the code.
  if (conn.connackSeen && code !== 0) conn.refusedCode = code;
  conn.connackSeen = true;
}

function onConnect(this: MqttClient): void {
  const conn = CONNECTION_OF.get(this);
  if (conn !== undefined) Driver.connected(conn);
}

function onError(this: MqttClient, error: Error): void {
  const conn = CONNECTION_OF.get(this);
  if (conn === undefined) return;
  conn.lastError = errorText(error);
  const code = numericCode(error);
  // Numeric codes are CONNACK return codes (MQTT 3.1.1: 1..5) or MQTT.js protocol errors
  // (≥ 128, e.g. 130 duplicate CONNACK, whose code we took from the packet above).
  if (code !== null && code > 0 && code < 128 && !conn.connected) conn.refusedCode = code;
}

function onMessage(this: MqttClient, topic: string, payload: Buffer, _packet: IPublishPacket): void {
  const conn = CONNECTION_OF.get(this);
  if (conn !== undefined) Driver.message(conn, topic, payload);
}

function onClose(this: MqttClient): void {
  const conn = CONNECTION_OF.get(this);
  if (conn !== undefined) Driver.closed(conn);
}

/** `list` without the items `drop` matches, in an array of exactly its length (filter's has room for 16 more). */
const without = <T>(list: readonly T[], drop: (item: T) => boolean): readonly T[] => {
  if (!list.some(drop)) return list;
  const kept = list.filter((item) => !drop(item));
  return kept.length === 0 ? NONE : kept.slice();
};

const decoder = new TextDecoder("utf-8", { fatal: false });
