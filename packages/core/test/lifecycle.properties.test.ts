/**
 * Laws of the lifecycle reducer, checked over arbitrary event sequences.
 *
 * A fast-check "move" list drives the harness: each move answers one outstanding request
 * (CONNACK with any code, SUBACK granting or refusing, PUBACK of any in-flight publish,
 * persist success or failure), or injects something from outside (submissions, operation
 * lines, garbage, stale results from dead connections, connection loss, time, a crash and
 * restart from what storage holds, stop). After every step the invariants must hold;
 * after healing every fault the engine must drain. Failures print the seed and path.
 */
import { afterAll, describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import {
  createInvariantChecker,
  formatViolations,
  entryOf,
  heldCount,
  openEntries,
  parseLog,
  replay,
  makeLogHeader,
  makeLogStep,
} from "@c8ylink/core";
import type { Command } from "@c8ylink/core";
import { Harness } from "./support/harness.js";

type Mode = "static" | "by-id";
const configFor = (operations: Mode) => ({ ...baseConfig, operations });
const baseConfig = {
  deviceId: "dev",
  auth: { mode: "bootstrap", bootstrapPassword: "bs" },
  children: [{ id: "kid" }, { id: "grandkid", parent: "kid" }],
  supportedOperations: ["c8y_Restart", "c8y_Command", "set_wifi"],
  customTemplates: ["ops"],
  customOperations: [{ xid: "ops", messageId: "dm1", fragment: "set_wifi", operationIdField: 0 }],
  inventory: { requiredIntervalMinutes: 5 },
  inflightWindow: 3,
  outbox: { measurement: { maxMessages: 1 }, event: { maxMessages: 2, maxBytes: 200 } },
  backoff: { floorMs: 1000, capMs: 30_000, stableMs: 20_000, configErrorDelayMs: 60_000 },
  credentialRejectLimit: 2,
  maxOpenOperations: 5,
};

const opLines = [
  "510,dev",
  "510,kid",
  "511,dev,ls -la",
  '511,dev,"echo \\"x\\""',
  "511,grandkid,uptime",
  "513,dev,cfg",
  "530,dev,host,bad,key",
  "512,dev",
  "106,kid",
  "511",
];

/** Operations as JSON (by-id mode): duplicate ids, a child, an EXECUTING one, a twin of an s/ds line, garbage. */
const jsonOps = [
  { id: "11", c8y_Restart: {} },
  { id: "12", c8y_Command: { text: "ls" } },
  { id: "13", externalSource: { externalId: "kid", type: "c8y_Serial" }, c8y_Restart: {} },
  { id: "14", status: "EXECUTING", c8y_Command: { text: "x" } },
  { id: "15", c8y_Relay: { relayState: "OPEN" } },
  { id: "16", c8y_Command: { text: "ls -la" } },
  {
    id: "17",
    externalSource: { externalId: "grandkid", type: "c8y_Serial" },
    c8y_Command: { text: "uptime" },
  },
  { id: "1,2", c8y_Restart: {} },
].map((o) => JSON.stringify(o));

const moveArb = fc.oneof(
  // The natural next step (answer the oldest request positively), so runs get far into the lifecycle.
  { weight: 60, arbitrary: fc.record({ k: fc.constant("progress" as const) }) },
  {
    weight: 12,
    arbitrary: fc.record({ k: fc.constant("connack" as const), code: fc.constantFrom(0, 0, 0, 3, 4, 5, 2) }),
  },
  { weight: 12, arbitrary: fc.record({ k: fc.constant("suback" as const), refuse: fc.boolean() }) },
  { weight: 20, arbitrary: fc.record({ k: fc.constant("ack" as const), which: fc.nat(5) }) },
  { weight: 16, arbitrary: fc.record({ k: fc.constant("persist" as const), fail: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("persist-batch" as const), fail: fc.boolean() }) },
  {
    weight: 12,
    arbitrary: fc.record({ k: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 90_000 }) }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("drop" as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("submit" as const),
      kind: fc.constantFrom("measurement", "event", "alarm", "child", "bad"),
      n: fc.integer({ min: -5, max: 1000 }),
    }),
  },
  { weight: 12, arbitrary: fc.record({ k: fc.constant("op" as const), line: fc.constantFrom(...opLines) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant("json-op" as const),
      payload: fc.constantFrom(...jsonOps, "{", "[]"),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("custom-op" as const),
      line: fc.constantFrom("dm1,dev,41,a", "dm1,kid,42,b", "dm1,dev,,c", "dm9,dev,1"),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({ k: fc.constant("finish" as const), which: fc.nat(3), ok: fc.boolean() }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("credentials" as const) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("error-line" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("garbage" as const),
      topic: fc.constantFrom("s/ds", "s/e", "s/dcr", "s/dat", "x/y"),
      payload: fc.string({ maxLength: 30 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("stale" as const), ref: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("restart" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("stop" as const) }) },
);
type Move = typeof moveArb extends fc.Arbitrary<infer M> ? M : never;

/**
 * Judges every step of `h` with the core's invariants (see invariants.ts) and checks the
 * harness's own timer model against the state; throws with the named violations.
 */
const watchLaws = (h: Harness): void => {
  const laws = createInvariantChecker();
  h.observers.push((event, commands, before, after) => {
    const violations = laws.check(before, event, after, commands);
    if (violations.length > 0) throw new Error(formatViolations(violations));
    const modelTimers = JSON.stringify([...h.timers.entries()].sort());
    const stateTimers = JSON.stringify(Object.entries(after.timers).sort());
    if (modelTimers !== stateTimers) {
      throw new Error(`timers out of sync: commands say ${modelTimers}, state ${stateTimers}`);
    }
  });
};

/** Runs the moves; returns the final harness (and every life's event log). */
const run = (moves: readonly Move[], provisioned = false, mode: Mode = "static") => {
  const config = configFor(mode);
  let h = new Harness(config);
  watchLaws(h);
  const lives: Harness[] = [h];
  const exec = (f: () => Command[]) => void f();
  exec(() =>
    h.start(provisioned ? { credentials: { tenant: "t9", user: "device_dev", password: "pw9" } } : {}),
  );
  for (const m of moves) {
    if (h.state.phase.name === "stopped" && m.k !== "restart") continue;
    switch (m.k) {
      case "progress":
        healStep(h);
        break;
      case "connack":
        if (h.pendingConnect !== null) exec(() => h.connack(m.code));
        break;
      case "suback": {
        const sub = h.pendingSubscribes[0];
        if (sub === undefined) break;
        const granted = sub.topics.map((t, i) => (m.refuse && i === sub.topics.length - 1 ? 0x80 : t.qos));
        exec(() => h.suback(granted));
        break;
      }
      case "ack": {
        const p = h.inflight.splice(Math.min(m.which, h.inflight.length - 1), 1)[0];
        if (p !== undefined)
          exec(() => h.send({ type: "published", connectionId: p.connectionId, ref: p.ref }));
        break;
      }
      case "persist":
        if (h.pendingPersists.length > 0) exec(() => (m.fail ? h.failPersist() : h.persistAll(1)));
        break;
      case "persist-batch":
        exec(() => (m.fail ? h.failPersistBatch() : h.persistBatch()));
        break;
      case "advance":
        exec(() => h.advance(m.ms));
        break;
      case "drop":
        exec(() => h.drop());
        break;
      case "submit":
        exec(() =>
          m.kind === "measurement"
            ? h.send({ type: "submit", message: { template: "200", fragment: "f", series: "s", value: m.n } })
            : m.kind === "event"
              ? h.send({
                  type: "submit",
                  message: { template: "400", type: "e", text: "x".repeat(Math.abs(m.n) % 120) },
                })
              : m.kind === "alarm"
                ? h.send({ type: "submit", message: { template: "301", type: `a${m.n % 3}` } })
                : m.kind === "child"
                  ? h.send({
                      type: "submit",
                      child: "grandkid",
                      message: { template: "211", temperature: m.n },
                    })
                  : h.send({
                      type: "submit",
                      child: "bad/child",
                      message: { template: "212", battery: m.n },
                    }),
        );
        break;
      case "op":
        exec(() => h.deliver("s/ds", m.line));
        break;
      case "custom-op":
        exec(() => h.deliver("s/dc/ops", m.line));
        break;
      case "json-op":
        exec(() => h.deliver("devicecontrol/notifications", m.payload));
        break;
      case "finish": {
        const open = h.handedOut.filter((o) => entryOf(h.state.journal, o.key)?.stage === "executing");
        const op = open[m.which % Math.max(open.length, 1)];
        if (op !== undefined) {
          exec(() =>
            h.finish(
              op.key,
              m.ok ? { status: "successful", parameters: ["done"] } : { status: "failed", reason: "no" },
            ),
          );
        }
        break;
      }
      case "credentials":
        exec(() => h.deliver("s/dcr", "70,t9,device_dev,pw9"));
        break;
      case "error-line":
        exec(() => h.deliver("s/e", "45,200,Wrong number of arguments"));
        break;
      case "garbage":
        exec(() => h.deliver(m.topic, m.payload));
        break;
      case "stale":
        exec(() => h.send({ type: "published", connectionId: h.connectionId - 1, ref: m.ref }));
        exec(() =>
          h.send({ type: "subscribed", connectionId: h.connectionId + 5, ref: m.ref, granted: [0] }),
        );
        exec(() => h.send({ type: "persisted", ref: m.ref + 100_000 }));
        break;
      case "restart": {
        const storage = Object.fromEntries(h.storage);
        h = new Harness(config);
        for (const [k, v] of Object.entries(storage)) h.storage.set(k, v);
        watchLaws(h);
        lives.push(h);
        exec(() => h.start(storage));
        break;
      }
      case "stop":
        exec(() => h.send({ type: "stop" }));
        break;
    }
  }
  return { h, lives };
};

/** Heals every fault: answers everything positively until nothing is outstanding. */
const heal = (h: Harness): void => {
  for (let round = 0; round < 400; round++) if (!healStep(h)) return;
};

/** One positive answer to the oldest outstanding request; false when nothing is left to do. */
function healStep(h: Harness): boolean {
  const exec = (f: () => Command[]) => void f();
  {
    if (h.pendingConnect !== null) exec(() => h.connack(0));
    else if (h.pendingSubscribes.length > 0) {
      const sub = h.pendingSubscribes[0]!;
      const granted = sub.topics.map((t) => t.qos);
      exec(() => h.suback(granted));
    } else if (h.pendingPersists.length > 0) exec(() => h.persistAll());
    else if (h.inflight.length > 0) exec(() => h.ackAll());
    else if (h.state.phase.name === "bootstrapping") exec(() => h.deliver("s/dcr", "70,t9,device_dev,pw9"));
    else {
      const open = h.handedOut.filter((o) => entryOf(h.state.journal, o.key)?.stage === "executing");
      if (open.length > 0) exec(() => h.finish(open[0]!.key, { status: "successful" }));
      else if (h.timers.size > 0 && h.state.phase.name !== "online") exec(() => h.advance(60_000));
      else if (h.timers.has("persist-retry") || h.timers.has("settle")) exec(() => h.advance(60_000));
      else return false;
    }
  }
  return true;
}

/** Coverage guard: the generator must actually reach the interesting parts of the lifecycle. */
const stats = { runs: 0, steps: 0, online: 0, handedOut: 0, delivered: 0, dropped: 0 };
afterAll(() => {
  if (stats.runs === 0) return; // filtered run (-t): nothing to judge
  expect(stats.online / stats.runs).toBeGreaterThan(0.5);
  expect(stats.handedOut).toBeGreaterThan(stats.runs / 10);
  expect(stats.delivered).toBeGreaterThan(stats.runs);
  expect(stats.dropped).toBeGreaterThan(0);
});
describe("lifecycle laws", () => {
  test.prop(
    [
      fc.array(moveArb, { minLength: 20, maxLength: 200 }),
      fc.boolean(),
      fc.constantFrom<Mode>("static", "by-id"),
    ],
    { numRuns: 300 },
  )("totality and invariants hold after every step of any event sequence", (moves, provisioned, mode) => {
    const { lives } = run(moves, provisioned, mode);
    stats.runs++;
    stats.steps += lives.reduce((n, l) => n + l.events.length, 0);
    const wentOnline = (l: Harness) =>
      l.commands.some((c) => c.type === "report" && c.report.kind === "phase" && c.report.to === "online");
    if (lives.some(wentOnline)) stats.online++;
    stats.handedOut += lives.reduce((n, l) => n + l.handedOut.length, 0);
    stats.delivered += lives.reduce((n, l) => n + l.state.counters.delivered, 0);
    stats.dropped += lives.reduce((n, l) => n + l.state.counters.dropped, 0);
  });

  test.prop(
    [
      fc.array(moveArb, { minLength: 20, maxLength: 200 }),
      fc.boolean(),
      fc.constantFrom<Mode>("static", "by-id"),
    ],
    { numRuns: 200 },
  )(
    "after faults heal, the engine is online with an empty outbox and no open operation",
    (moves, provisioned, mode) => {
      const { h } = run(
        moves.filter((m) => m.k !== "stop"),
        provisioned,
        mode,
      );
      heal(h);
      expect(h.state.phase.name).toBe("online");
      expect(heldCount(h.state.outbox)).toBe(0);
      expect(h.state.session.inflight.count).toBe(0);
      expect(openEntries(h.state.journal)).toEqual([]);
      expect(h.pendingPersists).toEqual([]);
    },
  );

  test.prop(
    [
      fc.array(moveArb, { minLength: 20, maxLength: 120 }),
      fc.boolean(),
      fc.constantFrom<Mode>("static", "by-id"),
    ],
    { numRuns: 150 },
  )(
    "determinism: replaying a life's recorded events (through the redacting log) reproduces its commands",
    (moves, provisioned, mode) => {
      const { lives } = run(moves, provisioned, mode);
      for (const life of lives) {
        const header = makeLogHeader(configFor(mode), "test", 1);
        const steps: string[] = [JSON.stringify(header)];
        let cursor = 0;
        // Re-derive each step's commands by re-running (the harness keeps events and all commands).
        const fresh = new Harness(configFor(mode));
        for (const [seq, event] of life.events.entries()) {
          fresh.now = event.nowMs;
          const commands = fresh.send(event as never, { raw: true });
          steps.push(JSON.stringify(makeLogStep(seq, event, commands)));
          cursor += commands.length;
        }
        expect(cursor).toBe(life.commands.length);
        expect(JSON.stringify(fresh.commands)).toBe(JSON.stringify(life.commands));
        const parsed = parseLog(steps.join("\n"));
        expect(parsed.problems).toEqual([]);
        const replayed = replay(parsed.header!, parsed.steps);
        expect(replayed._tag).toBe("Right");
        if (replayed._tag === "Right") expect(replayed.right.divergence).toBeNull();
      }
    },
  );
});
