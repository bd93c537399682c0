/**
 * The c8ylink lifecycle: one pure, total, deterministic reducer
 * `step(state, event) → { state, commands }`.
 *
 * ## Theory of operation
 *
 * Rules this file obeys:
 * 1. Everything that decides protocol behaviour lives here (and in the modules it calls:
 *    outbox, journal, codecs). Interpreters only execute commands and report results.
 * 2. No clock, no randomness, no I/O: time is `event.nowMs`, randomness is the seeded PRNG
 *    in `state.rng`, effects are commands whose results come back as events.
 * 3. Never throws, never mutates its input; bad input becomes a report and a counter.
 * 4. Every connection has an id. A result carrying another id is stale and ignored, so a
 *    late CONNACK, SUBACK or PUBACK from a dead connection cannot corrupt the live one.
 *
 * Phases (`state.phase.name`) and what moves between them:
 *
 *   idle ──start──► connecting(as bootstrap | device)
 *   connecting ──CONNACK 0──► bootstrapping            (bootstrap user: Step 0)
 *                          └► subscribing              (device credentials or certificate)
 *   connecting ──refused / network / timeout──► waiting ──reconnect timer──► connecting
 *   bootstrapping: subscribe s/dcr, then publish empty s/ucr every bootstrapPollMs (jittered)
 *              ──70 on s/dcr──► storing-credentials ──persisted──► connecting(device)
 *   subscribing: on entry publish 100 (Step 1) and 101 per child, parents first, nested ones
 *              on their parent's topic (Step 2), and SUBSCRIBE s/ds, s/e, s/dc/<X-ID>, s/dat
 *              (Step 3). Refused topics are re-asked with backoff.
 *              ──every SUBACK granted──► online
 *   online: publish changed inventory (114, 117, 110, 122, 118, 119, 143, 150), then 500,
 *              then the outbox (Step A); receive operations (Step B).
 *   any connected phase ──connection lost──► waiting (in-flight rows return to the outbox front)
 *   online ──stop──► stopping ──outbox drained or deadline──► stopped
 *
 * The SUBACK gate: while `subscribing`, only registration rows (100/101) may be published;
 * inventory, 500 and every application row wait for the last SUBACK, so nothing is sent
 * before the device can hear the platform's answer.
 *
 * Backoff: every failed attempt waits min(cap, floor·2^attempt) with equal jitter, never
 * below the floor. The attempt counter resets only after a session stayed up `stableMs`.
 * CONNACK 3 and 5 are transient; 1, 2 and 4 are configuration errors retried slowly
 * (`configErrorDelayMs` ±25%). CONNACK 4 with credentials obtained by bootstrap: after
 * `credentialRejectLimit` consecutive refusals the credentials are discarded (persisted
 * deletion) and the device bootstraps again: a device deleted and re-registered on the
 * platform recovers on its own instead of failing forever.
 *
 * Operations: see journal.ts. A line is journaled and persisted before anything runs;
 * per (device, fragment) one operation runs at a time; 501 is queued atomically with the
 * "executing" stage, the operation is handed out once that is durable, and the terminal
 * 503/502 follows the application's `operation-result`. Unsupported or malformed
 * operations get 501 then 502 with the reason. After a restart, an operation that was
 * executing completes as SUCCESSFUL if it is `c8y_Restart` (the restart was the
 * execution) and FAILED otherwise; an unreadable journal sends `507` (fail all EXECUTING).
 *
 * Priority of conflicting inputs: a `stop` wins over reconnecting; a stale connection's
 * results lose to the live connection; a timer fire whose deadline was moved is ignored.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Command, DurableChange } from "./commands.js";
import type { EngineConfig, OutboxClass } from "./config.js";
import type { Cause, Event, OperationOutcome } from "./events.js";
import type { Report } from "./reports.js";
import {
  initialState,
  type Credentials,
  type EngineState,
  type Phase,
  type PersistWaiter,
  type SubscriptionRequest,
  type TimerKey,
} from "./state.js";
import { nextRandom } from "./prng.js";
import {
  admit,
  queuedCount,
  release,
  replaceQueued,
  requeue,
  restore,
  takePacket,
  type Outbox,
  type OutboxEntry,
} from "./outbox.js";
import { toArray } from "./queue.js";
import { emptyOutbox } from "./outbox.js";
import {
  DurableJournalEntryCodec,
  findRedelivered,
  headOf,
  journalKey,
  openEntries,
  bumpOrder,
  putEntry,
  removeEntry,
  toDurable,
  unfinishedCount,
  type AnyOperation,
  type CustomOperation,
  type JournalEntry,
} from "./journal.js";
import {
  DurableOutboxEntryCodec,
  DurableCredentialsCodec,
  DurableInventoryCodec,
  DURABLE,
} from "./durable.js";
import { decode, formatProblems } from "./decode.js";
import { parseRows, serializeRow } from "../smartrest/csv.js";
import { MAX_PUBLISH_BYTES, publishPacketBytes } from "../smartrest/size.js";
import { utf8ByteLength } from "../smartrest/text.js";
import {
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_CREDENTIALS_UP,
  TOPIC_ERRORS,
  TOPIC_STATIC_DOWN,
  TOPIC_TOKEN_DOWN,
  TOPIC_TOKEN_UP,
  classifyDownTopic,
  customDown,
  customUp,
  staticUp,
  validateChildId,
  validateXid,
  type ChildId,
  type ProcessingMode,
  type Xid,
} from "../smartrest/topics.js";
import { encodeUpstream, priorityClassOf, type UpstreamMessage } from "../smartrest/upstream.js";
import { DOWNSTREAM_SPECS, decodeDownstreamRow } from "../smartrest/downstream.js";
import { decodeCredentials, decodeErrorLine, decodeToken } from "../smartrest/control.js";
import type { Row, TemplateError } from "../smartrest/types.js";

export interface StepResult {
  readonly state: EngineState;
  readonly commands: readonly Command[];
}

export { initialState };

/** Fragment of each operation template, for failing malformed lines on the right fragment. */
const FRAGMENT_OF_TEMPLATE: ReadonlyMap<string, string> = new Map(
  DOWNSTREAM_SPECS.filter((s) => s.id.startsWith("5")).map((s) => [s.id, s.name]),
);

const CONNACK_MEANING: Readonly<Record<number, string>> = {
  1: "unsupported protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorised",
};

const RECENT_LIMIT = 64;

/** Accumulates the next state and the commands of one step. Local to `step`: inputs stay untouched. */
class Tx {
  readonly commands: Command[] = [];
  private changes: DurableChange[] = [];
  private waiter: { credentials: boolean; journalKeys: string[] } = { credentials: false, journalKeys: [] };

  /**
   * The next state, as a private draft: a shallow copy made once per step and patched in
   * place, so the input state is never touched and a step does not copy the state per change.
   */
  readonly s: { -readonly [K in keyof EngineState]: EngineState[K] };
  private countersCopied = false;

  constructor(
    state: EngineState,
    readonly now: number,
  ) {
    this.s = { ...state };
  }

  get config(): EngineConfig {
    return this.s.config;
  }

  emit(command: Command): void {
    this.commands.push(command);
  }

  report(report: Report): void {
    this.emit({ type: "report", report });
  }

  set(patch: Partial<EngineState>): void {
    Object.assign(this.s, patch);
  }

  count(patch: (c: EngineState["counters"]) => Partial<EngineState["counters"]>): void {
    if (!this.countersCopied) {
      this.s.counters = { ...this.s.counters };
      this.countersCopied = true;
    }
    Object.assign(this.s.counters, patch(this.s.counters));
  }

  ref(): number {
    const ref = this.s.nextRef;
    this.set({ nextRef: ref + 1 });
    return ref;
  }

  random(): number {
    const [value, rng] = nextRandom(this.s.rng);
    this.set({ rng });
    return value;
  }

  enter(phase: Phase, reason: string): void {
    const from = this.s.phase.name;
    this.set({ phase });
    if (from !== phase.name) this.report({ kind: "phase", from, to: phase.name, reason });
  }

  setTimer(key: TimerKey, atMs: number): void {
    this.set({ timers: { ...this.s.timers, [key]: atMs } });
    this.emit({ type: "timer-set", key, atMs });
  }

  cancelTimer(key: TimerKey): void {
    if (this.s.timers[key] === undefined) return;
    const { [key]: _gone, ...rest } = this.s.timers;
    this.set({ timers: rest });
    this.emit({ type: "timer-cancel", key });
  }

  /** Queues a durable change; all changes of a step go out as one `persist` command. */
  persist(key: string, value: unknown, wait?: { credentials?: boolean; journalKey?: string }): void {
    this.changes.push({ key, value });
    if (wait?.credentials === true) this.waiter.credentials = true;
    if (wait?.journalKey !== undefined) this.waiter.journalKeys.push(wait.journalKey);
  }

  /** The ref the pending persist will carry (allocated lazily, once per step). */
  private persistRef: number | null = null;
  pendingPersistRef(): number {
    if (this.persistRef === null) this.persistRef = this.ref();
    return this.persistRef;
  }

  finish(): StepResult {
    if (this.changes.length > 0) {
      const ref = this.pendingPersistRef();
      this.emit({ type: "persist", ref, changes: this.changes });
      if (this.waiter.credentials || this.waiter.journalKeys.length > 0) {
        const w: PersistWaiter = {
          credentials: this.waiter.credentials,
          journalKeys: this.waiter.journalKeys,
        };
        this.set({ persistWaiters: { ...this.s.persistWaiters, [ref]: w } });
      }
    }
    return { state: this.s, commands: this.commands };
  }
}

/**
 * Advances the engine by one event. Total: any state produced by `step` (or
 * `initialState`) combined with any decoded event yields a state and commands.
 */
export const step = (state: EngineState, event: Event): StepResult => {
  const tx = new Tx(state, event.nowMs);
  if (state.phase.name === "stopped") {
    // A stopped engine only answers late storage results so nothing waits forever.
    return tx.finish();
  }
  handle(tx, event);
  return tx.finish();
};

const handle = (tx: Tx, event: Event): void => {
  switch (event.type) {
    case "start":
      return onStart(tx, event.durable);
    case "connected":
      if (event.connectionId === tx.s.connectionId) onConnected(tx);
      return;
    case "connect-failed":
    case "disconnected":
      if (event.connectionId === tx.s.connectionId) onConnectionEnded(tx, event.cause);
      return;
    case "subscribed":
      if (event.connectionId === tx.s.connectionId) onSubscribed(tx, event.ref, event.granted);
      return;
    case "published":
      if (event.connectionId === tx.s.connectionId) onPublished(tx, event.ref);
      return;
    case "message":
      if (event.connectionId === tx.s.connectionId && isConnected(tx.s.phase)) {
        onMessage(tx, event.topic, event.payload);
      }
      return;
    case "timer-fired":
      return onTimer(tx, event.key);
    case "persisted":
      return onPersisted(tx, event.ref);
    case "persist-failed":
      return onPersistFailed(tx, event.ref, event.message);
    case "submit": {
      const { message, child, mode, tag } = event;
      return onSubmit(tx, { kind: "static", message }, child, mode, tag, undefined);
    }
    case "submit-custom": {
      const { xid, values, child, mode, tag, priority } = event;
      return onSubmit(tx, { kind: "custom", xid, values }, child, mode, tag, priority);
    }
    case "operation-result":
      return onOperationResult(tx, event.key, event.outcome);
    case "stop":
      return onStop(tx);
  }
};

const isConnected = (phase: Phase): boolean =>
  phase.name === "bootstrapping" ||
  phase.name === "storing-credentials" ||
  phase.name === "subscribing" ||
  phase.name === "online" ||
  phase.name === "stopping";

const gateOpen = (phase: Phase): boolean => phase.name === "online" || phase.name === "stopping";

// ---------------------------------------------------------------------------------------------
// Boot and recovery

const onStart = (tx: Tx, durable: Readonly<Record<string, unknown>>): void => {
  if (tx.s.phase.name !== "idle") {
    tx.report({
      kind: "invalid-input",
      source: "start",
      reason: `engine already started (${tx.s.phase.name})`,
    });
    return;
  }
  restoreDurable(tx, durable);
  connect(tx, "boot");
};

const restoreDurable = (tx: Tx, durable: Readonly<Record<string, unknown>>): void => {
  const invalid = (key: string, reason: string) => {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: `durable ${key}`, reason });
  };
  let journalUnreadable = false;
  const outboxEntries: OutboxEntry[] = [];
  let maxRef = 0;
  for (const key of Object.keys(durable).sort()) {
    const value = durable[key];
    if (key === DURABLE.credentials) {
      const c = decode(DurableCredentialsCodec, value);
      if (E.isLeft(c)) invalid(key, formatProblems(c.left));
      else if (tx.config.auth.mode === "bootstrap") tx.set({ credentials: c.right });
    } else if (key === DURABLE.inventory) {
      const inv = decode(DurableInventoryCodec, value);
      if (E.isLeft(inv)) invalid(key, formatProblems(inv.left));
      else tx.set({ inventoryAcked: inv.right });
    } else if (key.startsWith(DURABLE.outboxPrefix)) {
      const entry = decode(DurableOutboxEntryCodec, value);
      if (E.isLeft(entry)) invalid(key, formatProblems(entry.left));
      else {
        outboxEntries.push(entry.right);
        maxRef = Math.max(maxRef, entry.right.ref);
      }
    } else if (key.startsWith(DURABLE.journalPrefix)) {
      const entry = decode(DurableJournalEntryCodec, value);
      if (E.isLeft(entry)) {
        journalUnreadable = true;
        invalid(key, formatProblems(entry.left));
      } else {
        const d = entry.right;
        const xid = d.xid ?? null;
        const again =
          xid === null ? staticCandidate(tx.config, d.raw) : customCandidate(tx.config, xid, d.raw);
        const candidate = "candidate" in again ? again.candidate : null;
        const { xid: _x, ...stored } = d;
        const restored: JournalEntry = {
          ...stored,
          raw: d.raw,
          xid,
          operationId: candidate?.operationId ?? null,
          operation: candidate?.operation ?? null,
          order: d.order ?? d.seq,
          executingAcked: false,
          handedOut: false,
          persistRef: null,
          duplicates: 0,
        };
        tx.set({ journal: putEntry(tx.s.journal, restored) });
      }
    } else {
      invalid(key, "unknown durable key");
    }
  }
  let outbox = tx.s.outbox;
  for (const { durableAfter: _durable, ...entry } of outboxEntries.sort((a, b) => a.ref - b.ref)) {
    outbox = restore(outbox, markUncertain(entry)); // read back from storage: durable
  }
  tx.set({ outbox, nextRef: Math.max(tx.s.nextRef, maxRef + 1) });
  tx.count((c) => ({ admitted: c.admitted + outboxEntries.length }));
  recoverAfterRestart(tx, journalUnreadable);
};

/** Operations that were executing when the process died end now; see the theory of operation. */
const recoverAfterRestart = (tx: Tx, journalUnreadable: boolean): void => {
  for (const entry of openEntries(tx.s.journal).sort((a, b) => a.seq - b.seq)) {
    if (entry.stage !== "executing") continue;
    const outcome: OperationOutcome =
      entry.fragment === "c8y_Restart"
        ? { status: "successful" }
        : { status: "failed", reason: "c8ylink restarted while the operation was executing" };
    finishOperation(tx, entry, outcome);
  }
  if (journalUnreadable) {
    enqueueStatus(tx, undefined, ["507", "", "c8ylink journal unreadable after restart"], undefined);
  }
  advanceAll(tx);
};

// ---------------------------------------------------------------------------------------------
// Connecting

type Identity =
  | {
      readonly as: "bootstrap";
      readonly clientId: string;
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly as: "device";
      readonly clientId: string;
      readonly username: string | null;
      readonly password: string | null;
    };

const identity = (s: EngineState): Identity => {
  const { auth, deviceId } = s.config;
  const clientId = `d:${deviceId}`;
  switch (auth.mode) {
    case "password":
      return { as: "device", clientId, username: `${auth.tenant}/${auth.user}`, password: auth.password };
    case "certificate":
      return { as: "device", clientId, username: null, password: null };
    case "bootstrap":
      return s.credentials === null
        ? // The bootstrap connection uses the bare serial as ClientId (spec §3.1).
          {
            as: "bootstrap",
            clientId: deviceId,
            username: `${auth.tenant}/${auth.user}`,
            password: auth.password,
          }
        : {
            as: "device",
            clientId,
            username: `${s.credentials.tenant}/${s.credentials.user}`,
            password: s.credentials.password,
          };
  }
};

const connect = (tx: Tx, reason: string): void => {
  const id = identity(tx.s);
  const connectionId = tx.s.connectionId + 1;
  tx.set({ connectionId });
  tx.count((c) => ({ connects: c.connects + 1 }));
  tx.enter({ name: "connecting", as: id.as }, reason);
  tx.emit({
    type: "connect",
    connectionId,
    clientId: id.clientId,
    username: id.username,
    password: id.password,
    keepAliveSeconds: tx.config.keepAliveSeconds,
    cleanSession: true,
    timeoutMs: tx.config.connectTimeoutMs,
  });
  tx.setTimer("connect-timeout", tx.now + tx.config.connectTimeoutMs);
};

const onConnected = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name !== "connecting") return;
  tx.cancelTimer("connect-timeout");
  tx.setTimer("stable", tx.now + tx.config.backoff.stableMs);
  if (phase.as === "bootstrap") {
    const ref = tx.ref();
    tx.enter({ name: "bootstrapping", subscribeRef: ref, subscribed: false }, "connected as bootstrap user");
    tx.emit({
      type: "subscribe",
      connectionId: tx.s.connectionId,
      ref,
      topics: [{ topic: TOPIC_CREDENTIALS_DOWN, qos: 0 }],
    });
    return;
  }
  tx.set({ credentialRejects: 0 });
  startSession(tx);
};

/** Steps 1–3 on a fresh device session. */
const startSession = (tx: Tx): void => {
  const { config } = tx;
  let rows = emptyOutbox();
  const add = (topic: string, row: Row) => {
    const entry = sessionEntry(tx, topic, row);
    const admitted = admit(rows, entry, {
      maxMessages: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (admitted.ok) rows = admitted.outbox;
  };
  add(staticUp("persistent"), ["100", config.deviceName, config.deviceType]);
  for (const child of config.children) {
    const topic =
      child.parent === undefined ? staticUp("persistent") : staticUp("persistent", child.parent as ChildId);
    add(topic, ["101", child.id, child.name, child.type]);
  }
  const ref = tx.ref();
  const topics = subscriptions(config);
  tx.set({ registrationRows: rows, afterGateRows: afterGateRowsFor(tx) });
  tx.enter({ name: "subscribing", subscribeRef: ref, pending: topics }, "connected with device identity");
  tx.emit({ type: "subscribe", connectionId: tx.s.connectionId, ref, topics: [...topics] });
  pump(tx);
};

const subscriptions = (config: EngineConfig): SubscriptionRequest[] => [
  { topic: TOPIC_STATIC_DOWN, qos: 1 },
  ...(config.subscribeErrors ? [{ topic: TOPIC_ERRORS, qos: 0 as const }] : []),
  ...config.customTemplates.map((xid) => ({ topic: customDown(xid as Xid), qos: 1 as const })),
  ...(config.auth.mode === "certificate" ? [{ topic: TOPIC_TOKEN_DOWN, qos: 0 as const }] : []),
];

/** Inventory rows declared by the configuration, keyed for change detection. */
export const inventoryRows = (config: EngineConfig): Row[] => {
  const inv = config.inventory;
  const messages: UpstreamMessage[] = [];
  if (config.supportedOperations.length > 0) {
    messages.push({ template: "114", operations: config.supportedOperations });
  }
  if (inv.requiredIntervalMinutes !== undefined) {
    messages.push({ template: "117", interval: inv.requiredIntervalMinutes });
  }
  if (inv.hardware !== undefined) messages.push({ template: "110", ...inv.hardware });
  if (inv.agent !== undefined) messages.push({ template: "122", ...inv.agent });
  if (inv.supportedLogs !== undefined) messages.push({ template: "118", logTypes: inv.supportedLogs });
  if (inv.supportedConfigurations !== undefined) {
    messages.push({ template: "119", configTypes: inv.supportedConfigurations });
  }
  if (inv.supportedSoftwareTypes !== undefined)
    messages.push({ template: "143", softwareTypes: inv.supportedSoftwareTypes });
  if (inv.remoteAccessProtocols !== undefined) {
    messages.push({ template: "150", protocols: inv.remoteAccessProtocols });
  }
  const rows: Row[] = [];
  for (const m of messages) {
    const row = encodeUpstream(m);
    if (E.isRight(row)) rows.push(row.right);
  }
  return rows;
};

const inventoryKey = (topic: string, row: Row): string => `${topic} ${row[0] ?? ""}`;

/** Changed inventory, then 500 (after every subscription), then the token request. */
const afterGateRowsFor = (tx: Tx): Outbox => {
  let rows = emptyOutbox();
  const add = (topic: string, row: Row) => {
    const admitted = admit(rows, sessionEntry(tx, topic, row), {
      maxMessages: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (admitted.ok) rows = admitted.outbox;
  };
  const topic = staticUp("persistent");
  for (const row of inventoryRows(tx.config)) {
    if (tx.s.inventoryAcked[inventoryKey(topic, row)] !== serializeRow(row)) add(topic, row);
  }
  add(topic, ["500"]);
  return rows;
};

const sessionEntry = (tx: Tx, topic: string, row: Row): OutboxEntry => {
  const line = serializeRow(row);
  return {
    ref: tx.ref(),
    cls: "inventory",
    topic,
    line,
    bytes: utf8ByteLength(line),
    template: row[0] ?? "",
  };
};

// ---------------------------------------------------------------------------------------------
// Losing a connection, backoff

const onConnectionEnded = (tx: Tx, cause: Cause): void => {
  const phase = tx.s.phase;
  if (phase.name === "idle" || phase.name === "waiting") return;
  const wasConnected = isConnected(phase);
  tx.cancelTimer("connect-timeout");
  tx.cancelTimer("stable");
  tx.cancelTimer("bootstrap-poll");
  tx.cancelTimer("resubscribe");
  tx.cancelTimer("token-refresh");
  dropSession(tx);
  if (wasConnected) tx.count((c) => ({ connectionLosses: c.connectionLosses + 1 }));
  if (phase.name === "stopping") {
    finishStop(tx, "connection lost while stopping");
    return;
  }
  if (phase.name === "storing-credentials") {
    // The credentials are already on their way to storage; reconnect once they are durable.
    return;
  }
  scheduleReconnect(tx, cause, phase.name === "connecting" ? phase.as : "device");
};

/** In-flight outbox rows go back to the front of the outbox; session rows are rebuilt next time. */
const dropSession = (tx: Tx): void => {
  const returned: OutboxEntry[] = [];
  for (const packet of Object.values(tx.s.inflight)) {
    if (packet.source === "outbox") returned.push(...packet.entries.map(markUncertain));
  }
  tx.cancelTimer("settle");
  tx.set({
    settling: false,
    settleQuiet: false,
    sighted: [],
    outbox: requeue(tx.s.outbox, returned),
    inflight: {},
    registrationRows: emptyOutbox(),
    afterGateRows: emptyOutbox(),
  });
};

const describeCause = (cause: Cause): string => {
  switch (cause.kind) {
    case "refused":
      return `CONNACK ${cause.code} (${CONNACK_MEANING[cause.code] ?? "unknown return code"})`;
    case "network":
      return cause.message;
    case "requested":
      return "disconnected by request";
  }
};

const scheduleReconnect = (tx: Tx, cause: Cause, as: "bootstrap" | "device"): void => {
  let delay: number;
  const code = cause.kind === "refused" ? cause.code : undefined;
  const configError = code === 1 || code === 2 || code === 4;
  if (code === 4 && as === "device" && tx.config.auth.mode === "bootstrap" && tx.s.credentials !== null) {
    const rejects = tx.s.credentialRejects + 1;
    tx.set({ credentialRejects: rejects });
    if (rejects >= tx.config.credentialRejectLimit) {
      // The platform no longer knows these credentials (device deleted or re-registered): start over.
      tx.set({ credentials: null, credentialRejects: 0 });
      tx.persist(DURABLE.credentials, null);
      tx.report({
        kind: "credentials-discarded",
        reason: `refused ${rejects} times with CONNACK 4; requesting new credentials`,
      });
      delay = backoffDelay(tx);
    } else delay = backoffDelay(tx);
  } else if (configError) {
    const { configErrorDelayMs } = tx.config.backoff;
    delay = Math.round(configErrorDelayMs * (0.75 + 0.5 * tx.random()));
  } else {
    delay = backoffDelay(tx);
  }
  if (cause.kind === "refused") {
    tx.report({ kind: "connect-refused", code: cause.code, meaning: describeCause(cause), retryInMs: delay });
  } else {
    tx.report({ kind: "connection-lost", cause: describeCause(cause), retryInMs: delay });
  }
  tx.enter({ name: "waiting", reason: describeCause(cause) }, describeCause(cause));
  tx.setTimer("reconnect", tx.now + delay);
};

/** Exponential backoff with equal jitter within [floorMs, capMs]; advances the attempt counter. */
const backoffDelay = (tx: Tx): number => {
  const { floorMs, capMs } = tx.config.backoff;
  const attempt = tx.s.backoffAttempt;
  const ceiling = Math.min(capMs, floorMs * 2 ** Math.min(attempt, 40));
  const jittered = ceiling / 2 + (tx.random() * ceiling) / 2;
  tx.set({ backoffAttempt: attempt + 1 });
  return Math.round(Math.min(capMs, Math.max(floorMs, jittered)));
};

// ---------------------------------------------------------------------------------------------
// Subscriptions and the gate

const onSubscribed = (tx: Tx, ref: number, granted: readonly number[]): void => {
  const phase = tx.s.phase;
  if (phase.name === "bootstrapping" && ref === phase.subscribeRef) {
    if (granted[0] === undefined || granted[0] >= 0x80) {
      tx.report({ kind: "subscription-refused", topics: [TOPIC_CREDENTIALS_DOWN], retryInMs: 0 });
      tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
      onConnectionEnded(tx, { kind: "network", message: `SUBSCRIBE ${TOPIC_CREDENTIALS_DOWN} refused` });
      return;
    }
    tx.enter({ ...phase, subscribed: true }, "subscribed to s/dcr");
    pollCredentials(tx);
    return;
  }
  if (phase.name !== "subscribing" || ref !== phase.subscribeRef) return;
  const refused = phase.pending.filter((_, i) => {
    const qos = granted[i];
    return qos === undefined || qos >= 0x80;
  });
  if (refused.length === 0) {
    tx.cancelTimer("resubscribe");
    tx.enter({ name: "online" }, "every subscription granted");
    startSettling(tx);
    if (tx.config.auth.mode === "certificate") requestToken(tx);
    pump(tx);
    return;
  }
  const delay = backoffDelay(tx);
  tx.report({ kind: "subscription-refused", topics: refused.map((r) => r.topic), retryInMs: delay });
  tx.enter({ name: "subscribing", subscribeRef: -1, pending: refused }, "subscription refused");
  tx.setTimer("resubscribe", tx.now + delay);
};

const pollCredentials = (tx: Tx): void => {
  tx.emit({
    type: "publish",
    connectionId: tx.s.connectionId,
    ref: tx.ref(),
    topic: TOPIC_CREDENTIALS_UP,
    payload: "",
    qos: 0,
  });
  const interval = tx.config.bootstrapPollMs;
  tx.setTimer("bootstrap-poll", tx.now + Math.round(interval * (0.8 + 0.4 * tx.random())));
};

const requestToken = (tx: Tx): void => {
  tx.emit({
    type: "publish",
    connectionId: tx.s.connectionId,
    ref: tx.ref(),
    topic: TOPIC_TOKEN_UP,
    payload: "",
    qos: 0,
  });
};

// ---------------------------------------------------------------------------------------------
// Publishing: the in-flight window

const fitsPayload = (topic: string, payloadBytes: number): boolean =>
  publishPacketBytes(topic, payloadBytes, 1) <= MAX_PUBLISH_BYTES;

/** Fills the in-flight window: registration rows, then (gate open) session rows, then the outbox. */
const pump = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name !== "subscribing" && !gateOpen(phase)) return;
  let inflightCount = Object.keys(tx.s.inflight).length;
  while (inflightCount < tx.config.inflightWindow) {
    const reg = takePacket(tx.s.registrationRows, fitsPayload);
    if (reg !== undefined) {
      tx.set({ registrationRows: reg.outbox });
      publishPacket(tx, "session", reg.entries);
    } else if (!gateOpen(tx.s.phase)) {
      return;
    } else {
      const session = takePacket(tx.s.afterGateRows, fitsPayload);
      if (session !== undefined) {
        tx.set({ afterGateRows: session.outbox });
        publishPacket(tx, "session", session.entries);
      } else {
        const durableUpTo = tx.s.persistedUpTo;
        const data = takePacket(
          tx.s.outbox,
          fitsPayload,
          tx.s.settling ? "operation-status" : undefined,
          (e) => e.durableAfter === undefined || e.durableAfter <= durableUpTo,
        );
        if (data === undefined) return;
        tx.set({ outbox: data.outbox });
        publishPacket(tx, "outbox", data.entries);
      }
    }
    inflightCount++;
  }
};

const publishPacket = (tx: Tx, source: "outbox" | "session", entries: readonly OutboxEntry[]): void => {
  const first = entries[0];
  if (first === undefined) return;
  const ref = tx.ref();
  const payload = entries.map((e) => e.line).join("\n");
  tx.set({ inflight: { ...tx.s.inflight, [ref]: { source, entries } } });
  const recent = [...tx.s.recent, ...entries.map((e) => ({ template: e.template, ref: e.ref }))];
  tx.set({ recent: recent.length > RECENT_LIMIT ? recent.slice(recent.length - RECENT_LIMIT) : recent });
  tx.emit({ type: "publish", connectionId: tx.s.connectionId, ref, topic: first.topic, payload, qos: 1 });
};

const onPublished = (tx: Tx, ref: number): void => {
  const packet = tx.s.inflight[ref];
  if (packet === undefined) return; // QoS 0 write confirmations and duplicate PUBACKs
  const { [ref]: _acked, ...inflight } = tx.s.inflight;
  tx.set({ inflight });
  if (packet.source === "session") {
    recordInventoryAck(tx, packet.entries);
    if (packet.entries.some((e) => e.template === "500")) on500Acknowledged(tx);
  } else {
    tx.set({ outbox: release(tx.s.outbox, packet.entries) });
    tx.count((c) => ({ delivered: c.delivered + packet.entries.length }));
    for (const e of packet.entries) {
      tx.persist(DURABLE.outboxKey(e.ref), null);
      if (e.opKey !== undefined) onStatusDelivered(tx, e);
    }
    tx.report({ kind: "delivered", refs: packet.entries.map((e) => e.ref) });
  }
  pump(tx);
  maybeFinishStop(tx);
};

const recordInventoryAck = (tx: Tx, entries: readonly OutboxEntry[]): void => {
  const inventoryIds = new Set(inventoryRows(tx.config).map((r) => r[0]));
  let acked = tx.s.inventoryAcked;
  for (const e of entries) {
    if (inventoryIds.has(e.template)) acked = { ...acked, [`${e.topic} ${e.template}`]: e.line };
  }
  if (acked !== tx.s.inventoryAcked) {
    tx.set({ inventoryAcked: acked });
    tx.persist(DURABLE.inventory, acked);
  }
};

// ---------------------------------------------------------------------------------------------
// Submissions (Step A)

type Submission =
  | { readonly kind: "static"; readonly message: UpstreamMessage }
  | { readonly kind: "custom"; readonly xid: string; readonly values: readonly string[] };

const onSubmit = (
  tx: Tx,
  submission: Submission,
  child: string | undefined,
  mode: ProcessingMode | undefined,
  tag: string | undefined,
  priority: OutboxClass | undefined,
): void => {
  type Why = "not-running" | "invalid" | "too-large" | "outbox-full";
  const reject = (why: Why, reason: string) => {
    tx.count((c) => ({
      rejected: c.rejected + 1,
      rejectedByReason: { ...c.rejectedByReason, [why]: (c.rejectedByReason[why] ?? 0) + 1 },
    }));
    tx.report(tag === undefined ? { kind: "rejected", reason } : { kind: "rejected", reason, tag });
  };
  // Before `start` the stored outbox is not restored yet: refs could collide with stored ones.
  if (tx.s.phase.name === "idle") return reject("not-running", "engine not started");
  if (tx.s.phase.name === "stopping") return reject("not-running", "engine is stopping");
  let childId: ChildId | undefined;
  if (child !== undefined && child !== tx.config.deviceId) {
    const valid = validateChildId(child);
    if (E.isLeft(valid)) return reject("invalid", valid.left.reason);
    childId = valid.right;
  }
  const processing = mode ?? "persistent";
  let row: Row;
  let topic: string;
  let cls: OutboxClass;
  if (submission.kind === "static") {
    const encoded = encodeUpstream(submission.message);
    if (E.isLeft(encoded)) {
      return reject("invalid", templateErrorText(encoded.left));
    }
    row = encoded.right;
    topic = staticUp(processing, childId);
    cls = priorityClassOf(submission.message.template);
  } else {
    const xid = validateXid(submission.xid);
    if (E.isLeft(xid)) return reject("invalid", xid.left.reason);
    if (submission.values.length === 0) return reject("invalid", "custom row needs a message id");
    row = submission.values;
    topic = customUp(xid.right, processing, childId);
    cls = priority ?? "event";
  }
  const line = serializeRow(row);
  const bytes = utf8ByteLength(line);
  const packetBytes = publishPacketBytes(topic, bytes, 1);
  if (packetBytes > MAX_PUBLISH_BYTES) {
    return reject(
      "too-large",
      `row-too-large: template ${row[0] ?? ""} needs ${packetBytes} bytes, limit ${MAX_PUBLISH_BYTES}`,
    );
  }
  const ref = tx.ref();
  const entry: OutboxEntry = {
    ref,
    cls,
    topic,
    line,
    bytes,
    template: row[0] ?? "",
    ...(tag === undefined ? {} : { tag }),
  };
  if (!enqueue(tx, entry)) return reject("outbox-full", "outbox full");
  tx.count((c) => ({ accepted: c.accepted + 1 }));
  tx.report(tag === undefined ? { kind: "accepted", ref } : { kind: "accepted", ref, tag });
  pump(tx);
};

/** Admits an entry into the outbox (reporting drops) and persists it. */
const enqueue = (tx: Tx, entry: OutboxEntry): boolean => {
  const admitted = admit(tx.s.outbox, entry, tx.config.outbox[entry.cls]);
  if (!admitted.ok) return false;
  tx.set({ outbox: admitted.outbox });
  tx.count((c) => {
    const byReason = { ...c.droppedByReason };
    for (const d of admitted.dropped)
      byReason[`${d.cls}-overflow`] = (byReason[`${d.cls}-overflow`] ?? 0) + 1;
    return {
      admitted: c.admitted + 1,
      dropped: c.dropped + admitted.dropped.length,
      droppedByReason: byReason,
    };
  });
  for (const d of admitted.dropped) {
    tx.persist(DURABLE.outboxKey(d.ref), null);
    const reason = `${d.cls} outbox full: oldest dropped`;
    tx.report(
      d.tag === undefined
        ? { kind: "dropped", ref: d.ref, class: d.cls, reason }
        : { kind: "dropped", ref: d.ref, class: d.cls, reason, tag: d.tag },
    );
  }
  tx.persist(DURABLE.outboxKey(entry.ref), entry);
  return true;
};

// ---------------------------------------------------------------------------------------------
// Incoming messages

const onMessage = (tx: Tx, topic: string, payload: string): void => {
  const route = classifyDownTopic(topic);
  const rows = parseRows(payload);
  if (E.isLeft(rows)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: topic, reason: rows.left.message });
    return;
  }
  for (const row of rows.right) {
    switch (route.kind) {
      case "static":
        onOperationLine(tx, row, null);
        break;
      case "custom":
        onOperationLine(tx, row, route.xid);
        break;
      case "error":
        onErrorLine(tx, row);
        break;
      case "credentials":
        onCredentialsLine(tx, row);
        break;
      case "token":
        onTokenLine(tx, row);
        break;
      case "template-status":
        tx.report({ kind: "downstream", message: { kind: "template-status", row: [...row] } });
        break;
      case "unknown":
        tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
        tx.report({
          kind: "invalid-input",
          source: topic,
          reason: "message on a topic c8ylink did not subscribe",
        });
        break;
    }
  }
};

const onCredentialsLine = (tx: Tx, row: Row): void => {
  const phase = tx.s.phase;
  if (phase.name !== "bootstrapping") return;
  const decoded = decodeCredentials(row);
  if (E.isLeft(decoded)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({
      kind: "invalid-input",
      source: TOPIC_CREDENTIALS_DOWN,
      reason: templateErrorText(decoded.left),
    });
    return;
  }
  const { tenant, username, password } = decoded.right;
  const credentials: Credentials = { tenant, user: username, password };
  tx.cancelTimer("bootstrap-poll");
  tx.report({ kind: "credentials-received", tenant: credentials.tenant, user: credentials.user });
  tx.enter({ name: "storing-credentials", credentials }, "credentials received");
  tx.persist(DURABLE.credentials, credentials, { credentials: true });
};

const onTokenLine = (tx: Tx, row: Row): void => {
  const decoded = decodeToken(row);
  if (E.isLeft(decoded)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: TOPIC_TOKEN_DOWN, reason: templateErrorText(decoded.left) });
    return;
  }
  const refreshInMs = tokenRefreshDelay(decoded.right.token);
  tx.report({ kind: "token", token: decoded.right.token, refreshInMs });
  tx.setTimer("token-refresh", tx.now + refreshInMs);
};

/** Half the token's lifetime (exp − iat), or 30 min when the JWT does not say (spec §8.1: ≥ 5 min). */
export const tokenRefreshDelay = (token: string): number => {
  const fallback = 30 * 60_000;
  const claims = token.split(".")[1];
  if (claims === undefined) return fallback;
  try {
    const json: unknown = JSON.parse(atob(claims.replace(/-/g, "+").replace(/_/g, "/")));
    if (typeof json !== "object" || json === null) return fallback;
    const { exp, iat } = json as { exp?: unknown; iat?: unknown };
    if (typeof exp !== "number" || typeof iat !== "number" || !(exp > iat)) return fallback;
    return Math.max(60_000, Math.round(((exp - iat) * 1000) / 2));
  } catch {
    return fallback;
  }
};

const templateErrorText = (e: TemplateError): string => `template ${e.templateId}: ${e.field}: ${e.reason}`;

const onErrorLine = (tx: Tx, row: Row): void => {
  const line = decodeErrorLine(row);
  const key = String(line.code);
  tx.count((c) => ({ platformErrors: { ...c.platformErrors, [key]: (c.platformErrors[key] ?? 0) + 1 } }));
  const reference = line.reference ?? null;
  const correlated =
    reference === null ? [] : tx.s.recent.filter((r) => r.template === reference).map((r) => r.ref);
  tx.report({
    kind: "platform-error",
    code: line.code,
    errorKind: line.kind,
    reference,
    text: line.text,
    correlated,
  });
};

// ---------------------------------------------------------------------------------------------
// Operations (Step B)

/** What a downstream line asks for, before the journal takes it over. */
interface OperationCandidate {
  readonly deviceId: string;
  readonly fragment: string;
  readonly operation: AnyOperation | null;
  readonly failure: string | null;
  readonly xid: string | null;
  readonly operationId: string | null;
}

/** An `s/ds` line as an operation candidate, or undefined (reported) when it is none. */
export const staticCandidate = (
  config: EngineConfig,
  row: Row,
): { candidate: OperationCandidate } | { report: Report } => {
  const decoded = decodeDownstreamRow(row);
  switch (decoded.kind) {
    case "operation": {
      const { deviceId, fragment } = decoded.operation;
      const failure =
        config.supportedOperations.length > 0 && !config.supportedOperations.includes(fragment)
          ? `operation ${fragment} is not supported by this device`
          : null;
      return {
        candidate: {
          deviceId,
          fragment,
          operation: decoded.operation,
          failure,
          xid: null,
          operationId: null,
        },
      };
    }
    case "malformed": {
      const fragment = FRAGMENT_OF_TEMPLATE.get(decoded.templateId);
      if (fragment === undefined || decoded.deviceId === undefined) {
        return { report: { kind: "operation-ignored", reason: decoded.reason, raw: row } };
      }
      const failure = `malformed ${decoded.templateId} line: ${decoded.reason}`;
      return {
        candidate: {
          deviceId: decoded.deviceId,
          fragment,
          operation: null,
          failure,
          xid: null,
          operationId: null,
        },
      };
    }
    case "unsupported":
      return {
        report: { kind: "operation-ignored", reason: `unknown template ${decoded.templateId}`, raw: row },
      };
    default:
      return { report: { kind: "downstream", message: { ...decoded } } };
  }
};

/** An `s/dc/<xid>` line: an operation when configured in `customOperations`, else a plain report. */
export const customCandidate = (
  config: EngineConfig,
  xid: string,
  row: Row,
): { candidate: OperationCandidate } | { report: Report } => {
  const mapping = config.customOperations.find((m) => m.xid === xid && m.messageId === row[0]);
  if (mapping === undefined)
    return { report: { kind: "downstream", message: { kind: "custom", xid, row: [...row] } } };
  const [messageId = "", deviceId = "", ...values] = row;
  if (deviceId === "") {
    return {
      report: {
        kind: "operation-ignored",
        reason: `custom operation ${messageId} without a device id`,
        raw: row,
      },
    };
  }
  const idValue = mapping.operationIdField === undefined ? undefined : values[mapping.operationIdField];
  const operationId = idValue !== undefined && /^[0-9A-Za-z_-]+$/.test(idValue) ? idValue : null;
  const failure =
    mapping.operationIdField !== undefined && operationId === null
      ? `custom operation ${messageId}: no operation id in value ${mapping.operationIdField}`
      : config.supportedOperations.length > 0 && !config.supportedOperations.includes(mapping.fragment)
        ? `operation ${mapping.fragment} is not supported by this device`
        : null;
  const operation: CustomOperation = {
    template: "custom",
    xid,
    messageId,
    fragment: mapping.fragment,
    deviceId,
    values,
    ...(operationId === null ? {} : { operationId }),
  };
  return { candidate: { deviceId, fragment: mapping.fragment, operation, failure, xid, operationId } };
};

const onOperationLine = (tx: Tx, row: Row, xid: string | null): void => {
  const decoded = xid === null ? staticCandidate(tx.config, row) : customCandidate(tx.config, xid, row);
  if ("report" in decoded) {
    tx.report(decoded.report);
    return;
  }
  const { deviceId, fragment, operation, failure, operationId } = decoded.candidate;
  if (deviceId !== tx.config.deviceId && E.isLeft(validateChildId(deviceId))) {
    // Its status would need a topic level this id cannot be: nothing safe to answer.
    tx.report({
      kind: "operation-ignored",
      reason: `target device id "${deviceId}" is not a valid topic level`,
      raw: row,
    });
    return;
  }
  tx.count((c) => ({ operationsReceived: c.operationsReceived + 1 }));
  expireTombstones(tx);
  const buried = tx.s.tombstones.findIndex((t) => t.xid === xid && sameLine(t.raw, row));
  if (buried >= 0) {
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    const t = tx.s.tombstones[buried]!;
    tx.set({
      tombstones: tx.s.tombstones.map((x, i) => (i === buried ? { ...t, duplicates: t.duplicates + 1 } : x)),
    });
    return;
  }
  const twin = findRedelivered(tx.s.journal, row, xid);
  if (twin !== undefined) {
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    const counted = { ...twin, duplicates: twin.duplicates + 1 };
    // Seen again while not started: it is still PENDING, behind what was seen before.
    tx.set({
      journal: twin.stage === "received" ? bumpOrder(tx.s.journal, counted) : putEntry(tx.s.journal, counted),
    });
    if (tx.s.settling) {
      tx.set({ sighted: [...tx.s.sighted, twin.key] });
      extendSettling(tx);
    }
    return;
  }
  if (unfinishedCount(tx.s.journal) >= tx.config.maxOpenOperations) {
    // Not journaled: it stays PENDING on the platform and comes back with a later 500.
    tx.report({ kind: "operation-ignored", reason: "too many open operations", raw: row });
    return;
  }
  const seq = tx.s.journal.nextSeq;
  const entry: JournalEntry = {
    key: journalKey(seq),
    seq,
    order: seq,
    deviceId,
    fragment,
    raw: row,
    operation,
    xid,
    operationId,
    failure,
    stage: "received",
    executingAcked: false,
    handedOut: false,
    persistRef: tx.pendingPersistRef(),
    duplicates: 0,
  };
  tx.set({ journal: putEntry(tx.s.journal, entry) });
  tx.persist(DURABLE.journalKey(entry.key), toDurable(entry), { journalKey: entry.key });
  if (tx.s.settling) {
    tx.set({ sighted: [...tx.s.sighted, entry.key] });
    extendSettling(tx);
  }
};

/** Starts whatever operation may run now, for every (device, fragment). */
const advanceAll = (tx: Tx): void => {
  const seen = new Set<string>();
  for (const e of openEntries(tx.s.journal).sort((a, b) => a.seq - b.seq)) {
    const k = `${e.deviceId}\u0000${e.fragment}`;
    if (seen.has(k)) continue;
    seen.add(k);
    advance(tx, e.deviceId, e.fragment);
  }
};

const advance = (tx: Tx, deviceId: string, fragment: string): void => {
  for (;;) {
    const head = headOf(tx.s.journal, deviceId, fragment);
    if (head === undefined || head.persistRef !== null) return;
    // Operations start only once the 500 answer has settled on an open gate: until then an
    // older PENDING operation may yet show up (and 501 would land on it).
    if (head.stage === "received" && (tx.s.settling || !gateOpen(tx.s.phase))) return;
    if (head.stage === "executing") {
      if (!head.handedOut && head.operation !== null) {
        tx.set({ journal: putEntry(tx.s.journal, { ...head, handedOut: true }) });
        tx.emit({ type: "execute-operation", key: head.key, deviceId, fragment, operation: head.operation });
      }
      return;
    }
    // stage "received", durable: announce EXECUTING together with the stage change.
    enqueueStatus(
      tx,
      head,
      head.operationId === null ? ["501", fragment] : ["504", head.operationId],
      "executing",
    );
    if (head.failure !== null || head.operation === null) {
      const reason = head.failure ?? "operation could not be decoded";
      tx.count((c) => ({ operationsFailed: c.operationsFailed + 1 }));
      tx.report({ kind: "operation-failed", key: head.key, fragment, reason });
      finishOperation(tx, head, { status: "failed", reason });
      continue; // the next operation of this fragment may start
    }
    const executing: JournalEntry = { ...head, stage: "executing", persistRef: tx.pendingPersistRef() };
    tx.set({ journal: putEntry(tx.s.journal, executing) });
    tx.persist(DURABLE.journalKey(head.key), toDurable(executing), { journalKey: head.key });
    return;
  }
};

/** 503/502 by fragment, or 506/505 by id when the platform's operation id is known. */
const terminalStatusRow = (entry: JournalEntry, outcome: OperationOutcome): Row => {
  const byId = entry.operationId;
  if (outcome.status === "successful") {
    const parameters = outcome.parameters ?? [];
    return byId === null ? ["503", entry.fragment, ...parameters] : ["506", byId, ...parameters];
  }
  return byId === null ? ["502", entry.fragment, outcome.reason] : ["505", byId, outcome.reason];
};

/** Queues the terminal status (persisted with the stage change) and lets the next operation start. */
const finishOperation = (tx: Tx, entry: JournalEntry, outcome: OperationOutcome): void => {
  const row = terminalStatusRow(entry, outcome);
  const finished: JournalEntry = { ...entry, stage: "finished", persistRef: null };
  tx.set({ journal: putEntry(tx.s.journal, finished) });
  tx.persist(DURABLE.journalKey(entry.key), toDurable(finished));
  enqueueStatus(tx, finished, row, "terminal");
};

/**
 * Queues an operation status row on the target device's own topic. Statuses are never
 * dropped; if even the operation-status budget is exhausted the row is reported as
 * rejected (the operation then stays EXECUTING on the platform and is failed after restart).
 */
const enqueueStatus = (
  tx: Tx,
  entry: JournalEntry | undefined,
  row: Row,
  marks: "executing" | "terminal" | undefined,
): void => {
  const deviceId = entry?.deviceId ?? tx.config.deviceId;
  const topic =
    deviceId === tx.config.deviceId ? staticUp("persistent") : staticUp("persistent", deviceId as ChildId);
  const line = fitStatusLine(topic, row);
  if (line === undefined) {
    // A result too large for one publish: the operation fails instead of staying EXECUTING.
    if (marks === "terminal" && entry !== undefined) {
      const reason = "operation result exceeds the 16184-byte publish limit";
      enqueueStatus(tx, entry, terminalStatusRow(entry, { status: "failed", reason }), marks);
    } else {
      tx.report({ kind: "rejected", reason: `operation status ${row[0] ?? ""} too large to publish` });
    }
    return;
  }
  const status: OutboxEntry = {
    ref: tx.ref(),
    cls: "operation-status",
    topic,
    line,
    bytes: utf8ByteLength(line),
    template: row[0] ?? "",
    ...(entry !== undefined && marks === "terminal" ? { opKey: entry.key } : {}),
    ...(entry !== undefined && marks === "executing" ? { opKey: `${entry.key}#executing` } : {}),
    // Published only once durable: the platform must never be ahead of the journal.
    durableAfter: tx.pendingPersistRef(),
  };
  if (!enqueue(tx, status)) {
    tx.report({ kind: "rejected", reason: `operation status ${line} did not fit the outbox` });
  }
  pump(tx);
};

const fitsAlone = (topic: string, line: string): boolean =>
  publishPacketBytes(topic, utf8ByteLength(line), 1) <= MAX_PUBLISH_BYTES;

/**
 * The serialized status line, if it fits one publish. A failure reason (502/505) that is
 * too long is shortened — measured on the escaped line, never before escaping (thin-edge
 * #3171) — and marked; any other oversized status gives undefined.
 */
const fitStatusLine = (topic: string, row: Row): string | undefined => {
  const line = serializeRow(row);
  if (fitsAlone(topic, line)) return line;
  const reason = row[2];
  if ((row[0] !== "502" && row[0] !== "505") || reason === undefined || row.length !== 3) return undefined;
  const marker = " …(truncated)";
  let lo = 0;
  let hi = reason.length;
  // Largest prefix length whose escaped line still fits.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsAlone(topic, serializeRow([row[0], row[1] ?? "", reason.slice(0, mid) + marker]))) lo = mid;
    else hi = mid - 1;
  }
  if (lo > 0 && /[\uD800-\uDBFF]/.test(reason.charAt(lo - 1))) lo--; // never split a surrogate pair
  const shortened = serializeRow([row[0], row[1] ?? "", reason.slice(0, lo) + marker]);
  return fitsAlone(topic, shortened) ? shortened : undefined;
};

const onStatusDelivered = (tx: Tx, status: OutboxEntry): void => {
  const opKey = status.opKey ?? "";
  if (opKey.endsWith("#executing")) {
    const entry = tx.s.journal.entries[opKey.slice(0, -"#executing".length)];
    if (entry !== undefined) tx.set({ journal: putEntry(tx.s.journal, { ...entry, executingAcked: true }) });
    return;
  }
  const entry = tx.s.journal.entries[opKey];
  if (entry === undefined || entry.stage !== "finished") return;
  tx.set({ journal: removeEntry(tx.s.journal, opKey) });
  tx.persist(DURABLE.journalKey(opKey), null);
  // Keep the line a while: a 500 answer produced before our statuses were processed can
  // still be on its way (found by the fake world). In memory only: bounded by time.
  const tombstone: Tombstone = {
    raw: entry.raw,
    xid: entry.xid,
    untilMs: tx.now + tx.config.tombstoneMs,
    duplicates: entry.duplicates,
  };
  tx.set({ tombstones: [...tx.s.tombstones, tombstone] });
  scheduleTombstones(tx);
};

/** A line equal to a recently ended operation's: a stale redelivery, absorbed until `untilMs`. */
export interface Tombstone {
  readonly raw: Row;
  readonly xid: string | null;
  readonly untilMs: number;
  readonly duplicates: number;
}

const sameLine = (a: Row, b: Row): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Drops expired tombstones. One that absorbed identical lines may have hidden a genuine
 * second operation: then the engine asks for PENDING operations (500) again.
 */
const expireTombstones = (tx: Tx): void => {
  const live = tx.s.tombstones.filter((t) => t.untilMs > tx.now);
  if (live.length === tx.s.tombstones.length) return;
  const askAgain = tx.s.tombstones.some((t) => t.untilMs <= tx.now && t.duplicates > 0);
  tx.set({ tombstones: live });
  if (askAgain) enqueueStatus(tx, undefined, ["500"], undefined);
};

const scheduleTombstones = (tx: Tx): void => {
  const next = tx.s.tombstones.reduce((m, t) => Math.min(m, t.untilMs), Number.POSITIVE_INFINITY);
  if (next === Number.POSITIVE_INFINITY) tx.cancelTimer("tombstones");
  else if (tx.s.timers.tombstones !== next) tx.setTimer("tombstones", next);
};

const onOperationResult = (tx: Tx, key: string, outcome: OperationOutcome): void => {
  const entry = tx.s.journal.entries[key];
  if (entry === undefined || entry.stage !== "executing" || !entry.handedOut) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({
      kind: "invalid-input",
      source: "operation-result",
      reason:
        entry === undefined
          ? `unknown operation ${key}`
          : `operation ${key} is not executing (${entry.stage})`,
    });
    return;
  }
  if (outcome.status === "failed") tx.count((c) => ({ operationsFailed: c.operationsFailed + 1 }));
  finishOperation(tx, entry, outcome);
  advance(tx, entry.deviceId, entry.fragment);
};

// ---------------------------------------------------------------------------------------------
// Storage results

/** Waiters of every persist up to `ref` (results are cumulative: persists complete in order). */
const takeWaitersUpTo = (tx: Tx, ref: number): PersistWaiter => {
  const done: PersistWaiter[] = [];
  const rest: Record<number, PersistWaiter> = {};
  for (const [key, waiter] of Object.entries(tx.s.persistWaiters)) {
    if (Number(key) <= ref) done.push(waiter);
    else rest[Number(key)] = waiter;
  }
  if (done.length > 0) tx.set({ persistWaiters: rest });
  return { credentials: done.some((w) => w.credentials), journalKeys: done.flatMap((w) => w.journalKeys) };
};

/** Marks the journal stages written by persists up to `ref` durable (null) or failed (NEEDS_RETRY). */
const settleJournalStages = (tx: Tx, keys: readonly string[], ref: number, outcome: null | number): void => {
  for (const key of keys) {
    const entry = tx.s.journal.entries[key];
    if (
      entry !== undefined &&
      entry.persistRef !== null &&
      entry.persistRef >= 0 &&
      entry.persistRef <= ref
    ) {
      tx.set({ journal: putEntry(tx.s.journal, { ...entry, persistRef: outcome }) });
    }
  }
};

/** `persisted {ref}`: every persist up to `ref` not reported failed is durable. */
const onPersisted = (tx: Tx, ref: number): void => {
  if (ref > tx.s.persistedUpTo) tx.set({ persistedUpTo: ref });
  const waiter = takeWaitersUpTo(tx, ref);
  settleJournalStages(tx, waiter.journalKeys, ref, null);
  const phase = tx.s.phase;
  if (waiter.credentials && phase.name === "storing-credentials") {
    // Step 0 done: leave the bootstrap session and come back as the device.
    tx.set({ credentials: phase.credentials, backoffAttempt: 0 });
    tx.cancelTimer("stable");
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
    connect(tx, "credentials stored");
  }
  if (waiter.journalKeys.length > 0) advanceAll(tx);
  pump(tx); // statuses that just became durable may go out
};

/** A journal stage whose write failed: not durable, and no later acknowledgement may make it so. */
const NEEDS_RETRY = -1;

/** `persist-failed {ref}`: every persist up to `ref` not yet acknowledged failed. */
const onPersistFailed = (tx: Tx, ref: number, message: string): void => {
  tx.count((c) => ({ persistFailures: c.persistFailures + 1 }));
  const waiter = takeWaitersUpTo(tx, ref);
  rewriteUndurableStatuses(tx, ref);
  if (!waiter.credentials && waiter.journalKeys.length === 0) {
    // Only outbox or inventory bookkeeping was in it: delivery goes on from memory.
    tx.report({ kind: "persist-failed", ref, message, retryInMs: null });
    return;
  }
  settleJournalStages(tx, waiter.journalKeys, ref, NEEDS_RETRY);
  const retryInMs = tx.config.backoff.floorMs;
  tx.report({ kind: "persist-failed", ref, message, retryInMs });
  if (tx.s.timers["persist-retry"] === undefined) tx.setTimer("persist-retry", tx.now + retryInMs);
};

/** Re-persists everything something is waiting for: stored credentials and non-durable journal stages. */
const retryPersist = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name === "storing-credentials") {
    tx.persist(DURABLE.credentials, phase.credentials, { credentials: true });
  }
  for (const entry of openEntries(tx.s.journal)) {
    if (entry.persistRef === null) continue;
    const again: JournalEntry = { ...entry, persistRef: tx.pendingPersistRef() };
    tx.set({ journal: putEntry(tx.s.journal, again) });
    tx.persist(DURABLE.journalKey(entry.key), toDurable(again), { journalKey: entry.key });
  }
  rewriteUndurableStatuses(tx, Number.MAX_SAFE_INTEGER);
};

/**
 * Status rows written in failed batches (up to `failedUpTo`) are written again at once, with
 * a new ref: a later successful batch must not make them look durable (results are
 * cumulative), and they must not go out before they are.
 */
const rewriteUndurableStatuses = (tx: Tx, failedUpTo: number): void => {
  const queued = toArray(tx.s.outbox["operation-status"].queue);
  const undurable = (e: OutboxEntry) =>
    e.durableAfter !== undefined && e.durableAfter > tx.s.persistedUpTo && e.durableAfter <= failedUpTo;
  if (!queued.some(undurable)) return;
  const rewritten = queued.map((e) => {
    if (!undurable(e)) return e;
    const again = { ...e, durableAfter: tx.pendingPersistRef() };
    tx.persist(DURABLE.outboxKey(e.ref), again);
    return again;
  });
  tx.set({ outbox: replaceQueued(tx.s.outbox, "operation-status", rewritten, []) });
};

// ---------------------------------------------------------------------------------------------
// Timers

const onTimer = (tx: Tx, key: string): void => {
  const k = key as TimerKey;
  const deadline = tx.s.timers[k];
  // Stale (moved or cancelled) or duplicate fires are no-ops.
  if (deadline === undefined || deadline > tx.now) return;
  const { [k]: _fired, ...timers } = tx.s.timers;
  tx.set({ timers });
  const phase = tx.s.phase;
  switch (k) {
    case "reconnect":
      if (phase.name === "waiting") connect(tx, "backoff elapsed");
      return;
    case "connect-timeout":
      if (phase.name === "connecting") {
        tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
        onConnectionEnded(tx, {
          kind: "network",
          message: `no CONNACK within ${tx.config.connectTimeoutMs} ms`,
        });
      }
      return;
    case "bootstrap-poll":
      if (phase.name === "bootstrapping" && phase.subscribed) pollCredentials(tx);
      return;
    case "resubscribe":
      if (phase.name === "subscribing" && phase.subscribeRef === -1) {
        const ref = tx.ref();
        tx.enter({ ...phase, subscribeRef: ref }, "retrying refused subscriptions");
        tx.emit({ type: "subscribe", connectionId: tx.s.connectionId, ref, topics: [...phase.pending] });
      }
      return;
    case "stable":
      tx.set({ backoffAttempt: 0 });
      return;
    case "token-refresh":
      if (gateOpen(phase)) requestToken(tx);
      return;
    case "persist-retry":
      retryPersist(tx);
      return;
    case "stop-deadline":
      if (phase.name === "stopping") finishStop(tx, "stop deadline reached");
      return;
    case "tombstones":
      expireTombstones(tx);
      scheduleTombstones(tx);
      return;
    case "settle":
      if (!tx.s.settling) return;
      if (answerCoversJournal(tx) || tx.now >= tx.s.settleDeadlineMs) endSettling(tx);
      else {
        // Quiet, but not every waiting operation came back in the answer yet: wait for it
        // (a late answer line ends settling) or for the deadline.
        tx.set({ settleQuiet: true });
        tx.setTimer("settle", tx.s.settleDeadlineMs);
      }
      return;
  }
};

// ---------------------------------------------------------------------------------------------
// Settling: after every (re)subscription
//
// The 500 sent when the gate opens is answered asynchronously, line by line, and a live
// push may overtake the answer. Until the 500 is acknowledged and its answer has then been
// quiet for `settleMs` (at most 5×), the engine starts no new operation and sends no
// operation status:
// - operations then start in the order of their latest sighting (the answer lists
//   PENDING operations oldest first), so 501/503 land on the operation they mean;
// - id-less statuses that may already have been applied (in flight at a connection loss,
//   or restored after a crash) are resolved with the prefix rule. Statuses of one
//   (device, fragment) go out in journal order and the platform applies publishes in order,
//   so if the latest operation we announced is no longer PENDING (the answer did not list
//   it), its 501 was applied and so was every row of the operations before it: those rows
//   are dropped instead of re-sent (a replayed 501 would start the next PENDING operation;
//   a replayed 503 or 502 would end it). The rest is re-sent: replaying it is harmless, as
//   no later operation of that fragment is EXECUTING.

/** Id-less status rows (501/502/503) may be re-applied to the wrong operation: mark them. */
const markUncertain = (e: OutboxEntry): OutboxEntry =>
  e.opKey !== undefined && /^50[123]$/.test(e.template) ? { ...e, uncertain: true } : e;

/** At gate open: hold operations and statuses until the 500 is acknowledged and its answer is quiet. */
const startSettling = (tx: Tx): void => {
  tx.set({ settling: true, settleQuiet: false, sighted: [], settleDeadlineMs: Number.MAX_SAFE_INTEGER });
};

/**
 * The 500 was acknowledged: the platform has it, so its answer is on the way. Only now does
 * silence mean something (a 500 lost with its connection proves nothing about PENDING).
 */
const on500Acknowledged = (tx: Tx): void => {
  if (!tx.s.settling || tx.s.timers.settle !== undefined) return;
  const { settleMs } = tx.config;
  if (settleMs === 0) {
    endSettling(tx);
    return;
  }
  tx.set({ settleDeadlineMs: tx.now + 5 * settleMs });
  tx.setTimer("settle", tx.now + settleMs);
};

/** An operation line arrived while settling: the answer is not quiet yet. */
/**
 * Every operation waiting to start is PENDING on the platform, so the answer must list it:
 * once each has been seen again, the answer has also delivered every older PENDING one.
 */
const answerCoversJournal = (tx: Tx): boolean => {
  const sighted = new Set(tx.s.sighted);
  return openEntries(tx.s.journal).every((e) => e.stage !== "received" || sighted.has(e.key));
};

/** After an operation line while settling: end once quiet and covered, else push the quiet deadline. */
const extendSettling = (tx: Tx): void => {
  if (tx.s.timers.settle === undefined) return; // the 500 is not acknowledged yet
  if (tx.s.settleQuiet) {
    if (answerCoversJournal(tx)) endSettling(tx);
    return;
  }
  const at = Math.min(tx.now + tx.config.settleMs, tx.s.settleDeadlineMs);
  if ((tx.s.timers.settle ?? 0) < at) tx.setTimer("settle", at);
};

const endSettling = (tx: Tx): void => {
  tx.cancelTimer("settle");
  resolveUncertain(tx);
  tx.set({ settling: false, settleQuiet: false, sighted: [] });
  advanceAll(tx);
  pump(tx);
  maybeFinishStop(tx);
};

const journalKeyOf = (e: OutboxEntry): string | undefined => e.opKey?.replace(/#executing$/, "");

/** Applies the prefix rule to the queued uncertain statuses (see above). */
const resolveUncertain = (tx: Tx): void => {
  const queued = toArray(tx.s.outbox["operation-status"].queue);
  if (!queued.some((e) => e.uncertain === true)) return;
  const pending = new Set(tx.s.sighted);
  const groupKey = (e: JournalEntry) => `${e.deviceId}\u0000${e.fragment}`;
  // Per (device, fragment): the latest operation the platform no longer lists as PENDING
  // although we announced it: its 501 was applied, and so was every row before it.
  const anchors = new Map<string, JournalEntry>();
  for (const e of openEntries(tx.s.journal)) {
    if (e.stage === "received" || pending.has(e.key)) continue;
    const current = anchors.get(groupKey(e));
    if (current === undefined || e.order > current.order) anchors.set(groupKey(e), e);
  }
  const applied: OutboxEntry[] = [];
  const kept: OutboxEntry[] = [];
  for (const row of queued) {
    const key = journalKeyOf(row);
    const entry = key === undefined ? undefined : tx.s.journal.entries[key];
    const anchor = entry === undefined ? undefined : anchors.get(groupKey(entry));
    const wasApplied =
      row.uncertain === true &&
      entry !== undefined &&
      anchor !== undefined &&
      (entry.order < anchor.order || (entry.key === anchor.key && row.template === "501"));
    if (wasApplied) applied.push(row);
    else kept.push(row.uncertain === true ? { ...row, uncertain: false } : row);
  }
  tx.set({ outbox: replaceQueued(tx.s.outbox, "operation-status", kept, applied) });
  if (applied.length === 0) return;
  tx.count((c) => ({ delivered: c.delivered + applied.length }));
  for (const e of applied) {
    tx.persist(DURABLE.outboxKey(e.ref), null);
    onStatusDelivered(tx, e);
  }
  tx.report({ kind: "delivered", refs: applied.map((e) => e.ref) });
};

// ---------------------------------------------------------------------------------------------
// Stopping

const onStop = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name === "stopping") return;
  if (phase.name === "online") {
    tx.enter({ name: "stopping" }, "stop requested");
    tx.setTimer("stop-deadline", tx.now + tx.config.stopDeadlineMs);
    maybeFinishStop(tx);
    return;
  }
  if (isConnected(phase) || phase.name === "connecting") {
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
  }
  dropSession(tx);
  finishStop(tx, "stop requested");
};

const maybeFinishStop = (tx: Tx): void => {
  if (tx.s.phase.name !== "stopping") return;
  if (queuedCount(tx.s.outbox) === 0 && Object.keys(tx.s.inflight).length === 0) {
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
    finishStop(tx, "outbox drained");
  }
};

const finishStop = (tx: Tx, reason: string): void => {
  for (const key of Object.keys(tx.s.timers) as TimerKey[]) tx.cancelTimer(key);
  if (Object.keys(tx.s.inflight).length > 0) dropSession(tx);
  tx.enter({ name: "stopped" }, reason);
  tx.report({ kind: "stopped", undelivered: queuedCount(tx.s.outbox) });
};
