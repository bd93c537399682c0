/**
 * Invariants judged at the end, and the report.
 *
 * Owns: liveness (`notDrained`, also polled every second of the healing phase), operation
 * histories and outcomes (`checkOperations`), message loss (`checkMessages`), and the
 * `WorldReport` a run returns.
 */
import { heldCount, openEntries } from "@c8ylink/core";
import {
  listAlarms,
  listEvents,
  listMeasurements,
  type PlatformState,
  type StoredOperation,
} from "@c8ylink/platform";
import { outOfOrder, targetOf } from "./checkers.js";
import {
  EPOCH_MS,
  RESTART_REASON,
  type AuthKind,
  type OperationsMode,
  type StatusReplay,
  type Violation,
  type WorldContext,
} from "./context.js";
import { describePlan, type FaultPlan } from "./faults.js";

export interface WorldReport {
  readonly seed: number;
  readonly devices: number;
  /** The engines' operations mode, whether the platform spoke JSON, and the rules judged by. */
  readonly operationsMode: OperationsMode;
  readonly platformJson: boolean;
  readonly rules: OperationsMode;
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

const describeOp = (op: StoredOperation): string =>
  `${Object.entries(op.fragments)
    .map(([k, v]) => `${k}${JSON.stringify(v) === "{}" ? "" : JSON.stringify(v)}`)
    .join("+")} for ${op.externalId}`;

/** A status row of the operation's (target, fragment) was replayed: see known issue status-replay. */
const replayExplains = (w: WorldContext, op: StoredOperation): boolean => {
  const fragment = Object.keys(op.fragments)[0];
  return w.findings.replays.some(
    (r) => targetOf(r.topic, r.dev) === op.externalId && r.line.split(",")[1] === fragment,
  );
};

/** Why the world is not drained yet, one line per device (empty: drained). */
export const notDrained = (w: WorldContext): string[] => {
  const problems: string[] = [];
  for (const dev of w.devices) {
    const s = dev.state;
    const what: string[] = [];
    if (!dev.up) what.push("process down");
    if (s.phase.name !== "online") what.push(`phase ${s.phase.name}`);
    const held = heldCount(s.outbox);
    if (held > 0) what.push(`${held} rows held in the outbox`);
    const inflight = s.session.inflight.count;
    if (inflight > 0) what.push(`${inflight} publishes in flight`);
    const journal = openEntries(s.journal);
    if (journal.length > 0)
      what.push(
        `journal: ${journal.map((e) => `${e.key} ${e.fragment}@${e.deviceId} ${e.stage}`).join(", ")}`,
      );
    if (dev.persists.length > 0) what.push(`${dev.persists.length} writes pending`);
    if (dev.pendingOps.size > 0) what.push(`${dev.pendingOps.size} operations with the application`);
    if (what.length > 0) problems.push(`${dev.id}: ${what.join("; ")}`);
  }
  const open = w.platform.operations.filter(
    (o) => o.status !== "SUCCESSFUL" && o.status !== "FAILED" && !(w.tolerateKnown && replayExplains(w, o)),
  );
  if (open.length > 0)
    problems.push(
      `platform operations not terminal: ${open
        .slice(0, 8)
        .map((o) => `${o.id} ${Object.keys(o.fragments).join("+")}@${o.externalId} ${o.status}`)
        .join(", ")}${open.length > 8 ? ` (+${open.length - 8})` : ""}`,
    );
  return problems;
};

export const drained = (w: WorldContext): boolean => notDrained(w).length === 0;

const checkOperations = (w: WorldContext): void => {
  const byId = new Map(w.created.map((c) => [c.id, c]));
  for (const op of w.platform.operations) {
    const seq = op.history.map((h) => h.status[0]).join("");
    if (!/^P(E[SF]?)?$/.test(seq)) {
      return w.violate(
        "operation-history",
        `operation ${op.id} (${describeOp(op)}) went through ${op.history
          .map((h) => `${h.status}@${h.atMs - EPOCH_MS} by "${h.cause}"`)
          .join(" → ")}; expected PENDING → EXECUTING → SUCCESSFUL|FAILED`,
      );
    }
    const c = byId.get(op.id);
    if (c === undefined) continue;
    const replayed = w.findings.replays.filter(
      (r) => targetOf(r.topic, r.dev) === op.externalId && r.line.split(",")[1] === c.fragment,
    );
    const doubled = w.findings.doubles.some((d) => d.target === op.externalId && d.fragment === c.fragment);
    const overtaken = outOfOrder(w, op.externalId, c.fragment);
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
      w.violate(
        "wrong-operation",
        `operation ${op.id} (${describeOp(op)}) is ${op.status}${
          op.failureReason === undefined ? "" : ` ("${op.failureReason}")`
        } but ${why}; history: ${op.history.map((h) => `${h.status} by "${h.cause}"`).join(" → ")}`,
        known,
      );
      return w.violation !== null;
    };
    const restarted = op.failureReason?.includes(RESTART_REASON) === true;
    const decided = w.decisions.get(c.text) ?? new Set<string>();
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
};

/** How often each application message (by tag) is on the platform. */
const platformContent = (platform: PlatformState): Map<string, number> => {
  const present = new Map<string, number>();
  const add = (tag: string) => present.set(tag, (present.get(tag) ?? 0) + 1);
  for (const m of listMeasurements(platform)) {
    const value = (
      (m.fragments["c8y_Sim"] as Record<string, unknown> | undefined)?.["s"] as
        { value?: unknown } | undefined
    )?.value;
    if (typeof value === "number") add(`m${value}`);
  }
  for (const e of listEvents(platform)) if (e.type === "sim_event") add(`m${e.text.slice(1)}`);
  for (const a of listAlarms(platform)) {
    if (a.type.startsWith("sim_alarm_")) {
      add(`m${a.type.slice("sim_alarm_".length)}`);
      if (a.count > 1) present.set(`m${a.type.slice("sim_alarm_".length)}`, a.count);
    }
  }
  return present;
};

const checkMessages = (w: WorldContext, present: Map<string, number>): void => {
  for (const m of w.messages.values()) {
    if (m.acceptedMs === null || present.has(m.tag) || m.dropped || m.excused !== null) continue;
    w.violate(
      "message-lost",
      `${m.kind} ${m.tag} of ${m.dev} was accepted at ${m.acceptedMs} ms, ${m.durable ? "durable" : "never durable"}, ` +
        `${m.acked ? "PUBACKed" : "never PUBACKed"}, not dropped by policy, not lost at a crash — and it is not on the platform`,
    );
    return;
  }
};

/**
 * A restart that was executing when the run ended is never excused, in either mode: the
 * device restarted (that is the execution) and must have said so.
 */
const checkRestarts = (w: WorldContext): void => {
  const stuck = w.platform.operations.find(
    (op) => op.status === "EXECUTING" && Object.hasOwn(op.fragments, "c8y_Restart"),
  );
  if (stuck === undefined) return;
  w.violate(
    "restart-stuck-executing",
    `operation ${stuck.id} (${describeOp(stuck)}) stays EXECUTING: ${stuck.history
      .map((h) => `${h.status} by "${h.cause}"`)
      .join(" → ")}`,
  );
};

/** Judges what is left to judge at the end of the run and builds the report. */
export const report = (w: WorldContext): WorldReport => {
  const present = platformContent(w.platform);
  if (w.violation === null) checkOperations(w);
  if (w.violation === null) checkRestarts(w);
  for (const op of w.platform.operations) {
    if (w.violation !== null || op.status === "SUCCESSFUL" || op.status === "FAILED") continue;
    if (replayExplains(w, op))
      w.violate(
        "liveness",
        `operation ${op.id} (${describeOp(op)}) stays ${op.status}: ${op.history
          .map((h) => `${h.status} by "${h.cause}"`)
          .join(" → ")}`,
        "status-replay: a replayed 501 moved this operation to EXECUTING although the device took it for a redelivery (identical line) of the one it was executing",
      );
  }
  if (w.violation === null && w.drainedAtMs === null) {
    const problems = notDrained(w);
    w.violate(
      "liveness",
      `not drained ${w.settings.healMs} ms after the faults healed:\n  ${problems.join("\n  ")}`,
    );
  }
  if (w.violation === null) checkMessages(w, present);
  const msgs = [...w.messages.values()];
  const ops = w.platform.operations;
  return {
    seed: w.seed,
    devices: w.devices.length,
    operationsMode: w.settings.operationsMode,
    platformJson: w.settings.platformJson,
    rules: w.settings.rules,
    plan: w.plan,
    faults: describePlan(w.plan),
    autoAccept: w.autoAccept,
    virtualMs: w.now,
    drainedAtMs: w.drainedAtMs,
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
    stats: { ...w.stats },
    violation: w.violation,
    ok: w.violation === null,
    knownIssues: [...w.knownIssues],
    statusReplays: [...w.findings.replays],
    traceHash: w.hash.hex(),
    traceTail: [...w.tail],
    ...(w.fullTrace === null ? {} : { trace: w.fullTrace }),
    platform: w.platform,
    deviceSummaries: w.devices.map((d) => ({
      id: d.id,
      auth: d.auth,
      children: d.children,
      lives: d.life,
      phase: d.state.phase.name,
    })),
  };
};
