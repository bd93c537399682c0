/**
 * bench:core, operations part — does the journal keep a step's cost bounded by its own rows?
 *
 * 1. Journal near its limit + slow application: the application submits measurements (each
 *    published and acknowledged) while operation lines keep arriving (one per 10 messages) and
 *    the application finishes one operation per line. Run once with the journal nearly empty
 *    and once with it held near `maxOpenOperations` (1,000: 990 open, one executing, the rest
 *    queued behind it on the same fragment), side by side; reported: messages delivered/s.
 * 2. One big `s/ds` message: a single step with 8,000 and with 80,000 distinct operation rows
 *    (default limit: 1,000 journaled, the rest refused; and a limit of 100,000: all journaled).
 *    Reported: µs per row; linear time means the ratio stays near 1.
 * 3. A JSON notification burst (by id): 8,000 and 80,000 notifications, one step each, on top
 *    of a journal that keeps them all; reported: µs per notification.
 */
import * as E from "fp-ts/lib/Either.js";
import { decodeConfig, initialState, step, type Command, type EngineState, type Event } from "@c8ylink/core";

const now = 0;

const makeConfig = (extra: Record<string, unknown>) => {
  const cfg = decodeConfig({
    deviceId: "bench",
    auth: { mode: "password", tenant: "t", user: "u", password: "p" },
    subscribeErrors: false,
    settleMs: 0,
    ...extra,
  });
  if (E.isLeft(cfg)) throw new Error("bad bench config");
  return cfg.right;
};

/** Feeds an event and answers every command like an instant broker and store (acks queued FIFO). */
class Driver {
  state: EngineState;
  readonly pending: Event[] = [];
  readonly executing: string[] = [];
  steps = 0;
  finished = 0;

  constructor(extra: Record<string, unknown>) {
    this.state = initialState(makeConfig(extra));
    this.feed({ type: "start", nowMs: now, durable: {} });
    this.feed({ type: "connected", nowMs: now, connectionId: this.state.connectionId });
    this.drain();
  }

  feed(event: Event): void {
    const r = step(this.state, event);
    this.state = r.state;
    this.steps++;
    this.answer(r.commands);
  }

  private answer(commands: readonly Command[]): void {
    const connectionId = this.state.connectionId;
    for (const c of commands) {
      if (c.type === "publish" && c.qos === 1)
        this.pending.push({ type: "published", nowMs: now, connectionId, ref: c.ref });
      else if (c.type === "persist") this.pending.push({ type: "persisted", nowMs: now, ref: c.ref });
      else if (c.type === "subscribe") {
        const granted = c.topics.map(() => 1);
        this.pending.push({ type: "subscribed", nowMs: now, connectionId, ref: c.ref, granted });
      } else if (c.type === "execute-operation") this.executing.push(c.key);
    }
  }

  drain(): void {
    for (let e = this.pending.shift(); e !== undefined; e = this.pending.shift()) this.feed(e);
  }

  message(topic: string, payload: string): void {
    this.feed({ type: "message", nowMs: now, connectionId: this.state.connectionId, topic, payload });
  }

  finishOne(): void {
    const key = this.executing.shift();
    if (key === undefined) return;
    this.finished++;
    this.feed({ type: "operation-result", nowMs: now, key, outcome: { status: "successful" } });
  }
}

const measurement = (value: number): Event => ({
  type: "submit",
  nowMs: now,
  message: { template: "200", fragment: "c8y_Temperature", series: "T", value, unit: "C" },
});

let lineNo = 0;
const commandLine = (): string => `511,bench,run ${lineNo++}`;

/** Messages delivered per second with `open` operations kept open by a slow application. */
const slowApplication = (open: number, messages: number) => {
  const d = new Driver({ operations: "static" });
  const start = lineNo;
  for (let i = 0; i < open; i++) d.message("s/ds", commandLine());
  d.drain();
  const delivered0 = d.state.counters.delivered;
  const t0 = performance.now();
  for (let i = 0; i < messages; i++) {
    d.feed(measurement(i));
    if (i % 10 === 0) {
      d.message("s/ds", commandLine());
      d.finishOne();
    }
    d.drain();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    perSecond: (d.state.counters.delivered - delivered0) / seconds,
    unfinished: lineNo - d.finished - start,
  };
};

/** µs per row of one `s/ds` message with `rows` distinct operation rows. */
const bigMessage = (rows: number, extra: Record<string, unknown>) => {
  const d = new Driver({ operations: "static", ...extra });
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) lines.push(commandLine());
  const payload = lines.join("\n");
  const t0 = performance.now();
  d.message("s/ds", payload);
  const ms = performance.now() - t0;
  d.drain();
  return { ms, microsPerRow: (ms * 1000) / rows, received: d.state.counters.operationsReceived };
};

let opId = 1;
const notification = (): string =>
  JSON.stringify({
    id: String(opId++),
    deviceId: "bench",
    status: "PENDING",
    c8y_Command: { text: `run ${opId}` },
  });

/** µs per notification (one step each, acks and persists answered as they come). */
const notificationBurst = (count: number) => {
  const d = new Driver({ operations: "by-id", maxOpenOperations: 100_000 });
  d.drain();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    d.message("devicecontrol/notifications", notification());
    d.drain();
  }
  const ms = performance.now() - t0;
  return { microsPerNotification: (ms * 1000) / count };
};

export interface JournalBench {
  readonly lines: string[];
  readonly rows: string[];
}

const goal = (name: string, value: number, op: "<=" | ">=", target: number, unit = ""): string =>
  `goal ${name}: ${value.toFixed(2)}${unit} (target ${op} ${target}${unit}) ${
    op === "<=" ? (value <= target ? "ok" : "short") : value >= target ? "ok" : "short"
  }`;

/** Progress on stderr: the slow cases of an old build take minutes. */
const log = (name: string, value: unknown): void => {
  if (process.env.BENCH_JOURNAL_PROGRESS !== undefined) console.error(name, JSON.stringify(value));
};

export const journalBench = (): JournalBench => {
  const messages = Number(process.env.BENCH_JOURNAL_MESSAGES ?? 20_000);
  slowApplication(0, 2_000); // warm-up
  const empty = slowApplication(0, messages);
  log("empty", empty);
  const full = slowApplication(990, messages);
  log("full", full);
  const slowRatio = full.perSecond / empty.perSecond;
  bigMessage(2_000, {}); // warm-up
  const small = bigMessage(8_000, {});
  log("small", small);
  const large = bigMessage(80_000, {});
  log("large", large);
  const big = Number(process.env.BENCH_JOURNAL_BIG ?? 80_000);
  const smallAll = bigMessage(big / 10, { maxOpenOperations: 100_000 });
  log("smallAll", smallAll);
  const largeAll = bigMessage(big, { maxOpenOperations: 100_000 });
  log("largeAll", largeAll);
  const burstSmall = notificationBurst(big / 10);
  log("burstSmall", burstSmall);
  const burstLarge = notificationBurst(big);
  log("burstLarge", burstLarge);
  const burstRatio = burstLarge.microsPerNotification / burstSmall.microsPerNotification;
  const lines: string[] = [
    `slow application: journal empty ${Math.round(empty.perSecond)} messages/s; journal near its limit (${full.unfinished} open) ${Math.round(full.perSecond)} messages/s; ratio ${slowRatio.toFixed(2)}`,
    `one s/ds message, default limit (1,000 journaled): 8,000 rows ${small.ms.toFixed(0)} ms (${small.microsPerRow.toFixed(2)} µs/row); 80,000 rows ${large.ms.toFixed(0)} ms (${large.microsPerRow.toFixed(2)} µs/row)`,
    `one s/ds message, limit 100,000 (all journaled): 8,000 rows ${smallAll.ms.toFixed(0)} ms (${smallAll.microsPerRow.toFixed(2)} µs/row); 80,000 rows ${largeAll.ms.toFixed(0)} ms (${largeAll.microsPerRow.toFixed(2)} µs/row)`,
    `JSON notification burst: 8,000 ${burstSmall.microsPerNotification.toFixed(1)} µs each; 80,000 ${burstLarge.microsPerNotification.toFixed(1)} µs each (ratio ${burstRatio.toFixed(2)})`,
    goal("journal near its limit / empty, messages/s", slowRatio, ">=", 0.5),
    goal("one 80,000-row s/ds message (default limit)", large.ms / 1000, "<=", 1, " s"),
    goal(
      "µs per row, 80,000 / 8,000 rows (all journaled)",
      largeAll.microsPerRow / smallAll.microsPerRow,
      "<=",
      2,
    ),
    goal("µs per notification, 80,000 / 8,000 burst", burstRatio, "<=", 2),
  ];
  const rows = [
    `| slow application, journal empty | ${Math.round(empty.perSecond).toLocaleString("en")} messages delivered/s |`,
    `| slow application, journal near its limit (990 of 1,000 open) | ${Math.round(full.perSecond).toLocaleString("en")} messages delivered/s |`,
    `| **near limit / empty** | **${slowRatio.toFixed(2)}** |`,
    `| one s/ds message, 8,000 rows (default limit: 1,000 journaled) | ${small.ms.toFixed(0)} ms (${small.microsPerRow.toFixed(2)} µs/row) |`,
    `| one s/ds message, 80,000 rows (default limit) | ${large.ms.toFixed(0)} ms (${large.microsPerRow.toFixed(2)} µs/row) |`,
    `| one s/ds message, 8,000 rows (limit 100,000: all journaled) | ${smallAll.ms.toFixed(0)} ms (${smallAll.microsPerRow.toFixed(2)} µs/row) |`,
    `| **one s/ds message, 80,000 rows (all journaled)** | **${largeAll.ms.toFixed(0)} ms** (${largeAll.microsPerRow.toFixed(2)} µs/row) |`,
    `| JSON notification burst, 8,000 / 80,000 (by id) | ${burstSmall.microsPerNotification.toFixed(1)} / ${burstLarge.microsPerNotification.toFixed(1)} µs per notification (ratio ${burstRatio.toFixed(2)}) |`,
  ];
  return { lines, rows };
};
