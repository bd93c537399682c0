/**
 * The devices: an in-memory interpreter for each engine (its process, disk, timers and clock).
 *
 * Owns: building a device and its engine config from the seed, feeding one event at a time
 * and executing the commands of the step in order (their results become agenda items, never
 * fed back re-entrantly), engine timers on the device's own clock, the crash-consistent disk
 * (in-order completions, a random prefix lands at a crash), boot from storage and crash.
 */
import {
  DURABLE,
  createInvariantChecker,
  decodeConfig,
  formatProblems,
  findInflight,
  initialState,
  step,
  type Command,
  type Event,
  type EventInput,
  type Report,
} from "@c8ylink/core";
import { checkHandOut, checkLaws, noteFinishedTwins } from "./checkers.js";
import {
  BOOTSTRAP_PASSWORD,
  EPOCH_MS,
  SUPPORTED,
  TENANT,
  assertNever,
  type AuthKind,
  type Conn,
  type Device,
  type PendingPersist,
  type WorldContext,
} from "./context.js";
import { breakConn, rowId, sendDown, sendUp } from "./network.js";
import { answerLoad } from "./paging.js";

/** Device `dev<index>` with 1–3 children and an engine config drawn from the world's `Rng`. */
export const makeDevice = (w: WorldContext, index: number, auth: AuthKind): Device => {
  const rng = w.rng;
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
    // settling is a timing assumption of id-less status (see lifecycle/settling.ts).
    settleMs: 5_000,
    seed: rng.seed(),
    operations: w.settings.operationsMode,
  };
  const decoded = decodeConfig(input);
  if (decoded._tag === "Left") throw new Error(`world built a bad config:\n${formatProblems(decoded.left)}`);
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
    laws: createInvariantChecker(),
    submitted: [],
  };
};

const localNow = (w: WorldContext, dev: Device): number => EPOCH_MS + w.now + dev.offset;

/** Steps the engine with one event and executes its commands in order. */
export const feed = (w: WorldContext, dev: Device, input: EventInput): void => {
  if (w.finished) return;
  const event = { ...input, nowMs: localNow(w, dev) } as Event;
  w.stats["engineEvents"]!++;
  w.traceInput(dev.id, dev.life, JSON.stringify(event));
  if (event.type === "message" && event.topic === "s/ds") noteFinishedTwins(w, dev, event.payload);
  const before = dev.state;
  const result = step(before, event);
  dev.state = result.state;
  checkLaws(w, dev, before, event, result.state, result.commands);
  if (w.finished) return;
  for (const command of result.commands) {
    execute(w, dev, command);
    if (w.finished) return;
  }
};

const execute = (w: WorldContext, dev: Device, c: Command): void => {
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
        subscribeRefs: new Map(),
        jsonRefused: false,
      };
      dev.conns.set(c.connectionId, conn);
      w.conns.set(conn.key, conn);
      if (w.faultsOn && w.rng.chance(w.plan.refuseConnect)) {
        const code = w.rng.pick([3, 5]);
        w.stats["refusedConnects"]!++;
        w.trace(`FAULT broker refuses ${conn.key} with CONNACK ${code}`);
        conn.state = "broker-closed";
        sendDown(
          w,
          conn,
          { type: "connect-failed", connectionId: c.connectionId, cause: { kind: "refused", code } },
          null,
        );
        return;
      }
      const certificate = dev.auth === "certificate" && c.username === null;
      sendUp(w, conn, {
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
      if (conn.state === "open") sendUp(w, conn, { type: "client-disconnect", clientKey: conn.key });
      if (conn.state === "open" || conn.state === "broker-closed") conn.state = "device-closed";
      return;
    }
    case "subscribe": {
      const conn = dev.conns.get(c.connectionId);
      if (conn === undefined) return;
      conn.subscribeRefs.set(
        c.ref,
        c.topics.map((t) => t.topic),
      );
      sendUp(w, conn, { type: "client-subscribe", clientKey: conn.key, topics: c.topics }, c.ref);
      return;
    }
    case "publish": {
      const conn = dev.conns.get(c.connectionId);
      if (conn === undefined) return;
      const packet = findInflight(dev.state.session.inflight, c.ref);
      const rows =
        packet?.source === "outbox"
          ? packet.entries.map((e) => ({ id: rowId(dev, e.ref), topic: e.topic, line: e.line }))
          : undefined;
      sendUp(
        w,
        conn,
        { type: "client-publish", clientKey: conn.key, topic: c.topic, payload: c.payload, qos: c.qos },
        c.ref,
        c.qos,
        rows,
      );
      // QoS 0: the interpreter reports "written" at once.
      if (c.qos === 0 && conn.state === "open")
        w.at(0, {
          k: "local",
          dev,
          life: dev.life,
          event: { type: "published", connectionId: c.connectionId, ref: c.ref },
        });
      return;
    }
    case "timer-set":
      dev.timers.set(c.key, c.atMs);
      scheduleTimer(w, dev, c.key, c.atMs);
      return;
    case "timer-cancel":
      dev.timers.delete(c.key);
      return;
    case "persist": {
      const fail = w.faultsOn && w.rng.chance(w.plan.persistFail);
      dev.persists.push({ ref: c.ref, changes: c.changes, fail });
      const at = Math.max(w.now + w.rng.int(1, 25), dev.storageTail);
      dev.storageTail = at;
      w.atTime(at, { k: "persist", dev, life: dev.life, ref: c.ref });
      return;
    }
    case "load-outbox":
      return answerLoad(w, dev, c);
    case "execute-operation":
      checkHandOut(w, dev, c.key, c.operation);
      dev.pendingOps.add(c.key);
      w.at(w.rng.int(200, 5000), { k: "op-done", dev, life: dev.life, key: c.key, op: c.operation });
      return;
    case "report":
      return onReport(w, dev, c.report);
    default:
      return assertNever(c);
  }
};

/** Puts an engine timer (due at `atLocal` on the device's clock) on the agenda. */
export const scheduleTimer = (w: WorldContext, dev: Device, key: string, atLocal: number): void => {
  const global = atLocal - EPOCH_MS - dev.offset;
  w.atTime(Math.max(w.now, global), { k: "timer", dev, life: dev.life, key, atLocal });
};

/** The application's view of a report: follows its messages by tag and counts the rest. */
const onReport = (w: WorldContext, dev: Device, r: Report): void => {
  switch (r.kind) {
    case "accepted": {
      const m = r.tag === undefined ? undefined : w.messages.get(r.tag);
      if (m === undefined) return;
      m.acceptedMs = w.now;
      dev.refTags.set(r.ref, m.tag);
      return;
    }
    case "rejected": {
      const m = r.tag === undefined ? undefined : w.messages.get(r.tag);
      if (m !== undefined) m.rejected = r.reason;
      return;
    }
    case "dropped": {
      const m = r.tag === undefined ? undefined : w.messages.get(r.tag);
      if (m !== undefined) m.dropped = true;
      return;
    }
    case "delivered":
      for (const ref of r.refs) {
        const tag = dev.refTags.get(ref);
        const m = tag === undefined ? undefined : w.messages.get(tag);
        if (m !== undefined) m.acked = true;
      }
      return;
    case "platform-error":
      w.stats["platformErrors"]!++;
      return;
    case "phase":
      if (r.to === "online") w.stats["wentOnline"]!++;
      return;
    // Visible in the trace (the engine's step), nothing for the application to follow.
    case "connect-refused":
    case "connection-lost":
    case "subscription-refused":
    case "credentials-received":
    case "credentials-discarded":
    case "token":
    case "operation-ignored":
    case "operation-failed":
    case "downstream":
    case "invalid-input":
    case "persist-failed":
    case "stopped":
    case "operations-mode":
    case "batch": // the fake world submits row by row
    case "outbox-storage":
      return;
    default:
      return assertNever(r);
  }
};

/** The disk completes the oldest pending write (in order), or fails it. */
export const persistDone = (w: WorldContext, dev: Device, life: number, ref: number): void => {
  if (dev.life !== life || !dev.up) return;
  const head = dev.persists[0];
  if (head === undefined || head.ref !== ref) {
    w.violate("world-bug", `${dev.id}: storage completions out of order (${ref})`);
    return;
  }
  dev.persists.shift();
  if (head.fail) {
    w.stats["persistFailures"]!++;
    feed(w, dev, { type: "persist-failed", ref, message: "simulated disk error" });
    return;
  }
  write(w, dev, head);
  feed(w, dev, { type: "persisted", ref });
};

const write = (w: WorldContext, dev: Device, p: PendingPersist): void => {
  for (const { key, value } of p.changes) {
    if (value === null) dev.storage.delete(key);
    else {
      const lie = w.sabotage === "lying-disk" && typeof (value as { tag?: unknown }).tag === "string";
      if (!lie) dev.storage.set(key, value);
      if (key.startsWith(DURABLE.outboxPrefix)) {
        const tag = (value as { tag?: unknown }).tag;
        const m = typeof tag === "string" ? w.messages.get(tag) : undefined;
        if (m !== undefined) m.durable = true;
      }
    }
  }
};

/** A new life: fresh engine state started from what the disk holds; the application resumes. */
export const boot = (w: WorldContext, dev: Device): void => {
  dev.up = true;
  dev.life++;
  dev.state = initialState(dev.config);
  dev.laws = createInvariantChecker();
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
  w.trace(`BOOT ${dev.id}.${dev.life} with ${dev.storage.size} stored records`);
  feed(w, dev, { type: "start", durable });
  w.at(w.rng.int(0, w.settings.messageEveryMs), { k: "submit", dev, life: dev.life });
};

/** The process dies: memory, timers, connections and unfinished writes (but an in-order prefix) are gone. */
export const crash = (w: WorldContext, dev: Device, why: string): void => {
  if (!dev.up) return;
  w.stats["crashes"]!++;
  const kept = w.rng.int(0, dev.persists.length);
  w.trace(`CRASH ${dev.id}.${dev.life}: ${why} (${kept} of ${dev.persists.length} pending writes land)`);
  dev.up = false;
  for (const p of dev.persists.slice(0, kept)) if (!p.fail) write(w, dev, p);
  dev.persists = [];
  for (const conn of dev.conns.values()) {
    if (conn.state !== "broken") breakConn(w, conn, `process of ${dev.id} died`, false);
  }
  // Accepted messages that were neither on the platform nor in storage are legitimately gone.
  const stored = new Set<string>();
  for (const [key, value] of dev.storage) {
    if (!key.startsWith(DURABLE.outboxPrefix)) continue;
    const tag = (value as { tag?: unknown }).tag;
    if (typeof tag === "string") stored.add(tag);
  }
  for (const m of dev.submitted) {
    if (m.acceptedMs === null || m.acked || m.dropped || m.excused !== null) continue;
    if (stored.has(m.tag) || m.durable) continue;
    m.excused = `${dev.id} crashed at ${w.now} ms before its record was durable`;
  }
  dev.timers.clear();
  dev.pendingOps.clear();
  w.at(w.rng.int(500, 5000), { k: "boot", dev });
};
