/**
 * `c8ylink replay <log>` — re-runs `step` over a recorded event log and reports the first
 * step whose commands differ from the recorded ones.
 */
import * as E from "fp-ts/lib/Either.js";
import { canonicalJson, replay, snapshotState, type LogStep } from "@c8ylink/core";
import { readLogFile } from "@c8ylink/mqtt";
import { int, flag, parse, UsageError } from "../args.js";
import { diffJson } from "../diff.js";
import type { Io } from "../io.js";
import { splitLives, type Life } from "../log-lives.js";

export const REPLAY_HELP = `Usage: c8ylink replay <log> [--life K] [--at N] [--summary]

Re-runs the engine over a recorded event log (see docs/event-log.md) from its initial
state and compares every step's commands with the recorded ones.

  <log>          the event log (JSON Lines, as written by --record / recordTo)
  --life K       only the K-th life of the log (1 = the oldest)
  --at N         print the engine state after step N (seq) instead of checking all steps
                 (in a log of several lives, of the life chosen with --life)
  --summary      print counts: steps, events by type, commands by type, reports by kind
  -h, --help     this help

A log appended to by several starts ('c8ylink run --record') holds one life per start, each
from its own header: every life is replayed on its own.
Corrupt or truncated lines are reported with their line number and skipped.
Exit status: 0 no divergence, 1 divergence found, 2 unusable input or --at past the last step.`;

const countBy = <T>(items: readonly T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
};

const summary = (steps: readonly LogStep[]): string[] => {
  const commands = steps.flatMap((s) => s.commands);
  const digested = steps.filter((s) => s.digest !== undefined).length;
  const reports = commands.flatMap((c) => (c.type === "report" ? [c.report.kind] : []));
  const fmt = (r: Record<string, number>) =>
    Object.entries(r)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
  const first = steps[0]?.event.nowMs ?? 0;
  const last = steps.at(-1)?.event.nowMs ?? 0;
  return [
    `steps: ${steps.length} over ${((last - first) / 1000).toFixed(1)} s`,
    `events: ${fmt(countBy(steps, (s) => s.event.type))}`,
    `commands: ${fmt(countBy(commands, (c) => c.type))}`,
    `reports: ${fmt(countBy(reports, (r) => r))}`,
    ...(digested > 0 ? [`(commands of ${digested} steps recorded as a digest: not counted above)`] : []),
  ];
};

export const replayCommand = (argv: readonly string[], io: Io): number => {
  const args = parse(
    "replay",
    argv,
    { at: { type: "string" }, life: { type: "string" }, summary: { type: "boolean" } },
    1,
  );
  if (flag(args, "help")) {
    io.out(REPLAY_HELP);
    return 0;
  }
  const path = args.positionals[0];
  if (path === undefined) throw new UsageError("missing <log>\nRun 'c8ylink replay --help' for the options.");
  const at = int(args, "at");
  const lifeNumber = int(args, "life");
  let text: string;
  try {
    text = readLogFile(path);
  } catch (e) {
    io.err(`c8ylink replay: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const lives = splitLives(text);
  if (lifeNumber !== undefined && (lifeNumber < 1 || lifeNumber > lives.length)) {
    throw new UsageError(
      `--life ${lifeNumber}: ${path} holds ${lives.length} ${lives.length === 1 ? "life" : "lives"} (1-${lives.length})`,
    );
  }
  const chosen = lifeNumber === undefined ? lives : lives.filter((l) => l.index === lifeNumber);
  if (at !== undefined && chosen.length > 1) {
    throw new UsageError(`${path} holds ${lives.length} lives: choose the one for --at with --life K`);
  }
  let worst = 0;
  for (const life of chosen) {
    if (lives.length > 1)
      io.out(`life ${life.index} of ${lives.length} (from line ${life.firstLine}) of ${path}:`);
    worst = Math.max(worst, replayLife(path, life, at, args.values.summary === true, io));
  }
  // Unusable input (2) outranks a divergence (1), which outranks a clean replay (0).
  return worst;
};

/** Replays one life: its exit status (0 no divergence, 1 divergence, 2 unusable). */
const replayLife = (
  path: string,
  log: Life,
  at: number | undefined,
  withSummary: boolean,
  io: Io,
): number => {
  for (const p of log.problems) io.err(`${path}:${p.line}: skipped: ${p.reason}`);
  if (log.header === null) {
    io.err(
      `c8ylink replay: ${path}${log.index > 1 ? ` (life ${log.index})` : ""} has no valid header line: nothing to replay from`,
    );
    return 2;
  }
  if (withSummary) {
    io.out(
      [
        `log: ${path} (engine ${log.header.engineVersion}, schema ${log.header.schemaVersion})`,
        ...summary(log.steps),
      ].join("\n"),
    );
  }
  const lastSeq = log.steps.at(-1)?.seq;
  if (at !== undefined && (lastSeq === undefined || at > lastSeq)) {
    io.err(
      `c8ylink replay: --at ${at} is past the end of ${path}: ${lastSeq === undefined ? "it has no steps" : `its last step is ${lastSeq}`}`,
    );
    return 2;
  }
  const result = replay(log.header, log.steps, at === undefined ? {} : { untilSeq: at });
  if (E.isLeft(result)) {
    io.err(`c8ylink replay: ${result.left}`);
    return 2;
  }
  const { divergence, state, steps } = result.right;
  if (at !== undefined && divergence === null) {
    io.out(`state after step ${at} (${steps} steps replayed):`);
    io.out(JSON.stringify(snapshotState(state), null, 2));
    return 0;
  }
  if (divergence === null) {
    io.out(`replayed ${steps} steps: no divergence`);
    return 0;
  }
  const lines = [
    `divergence at step ${divergence.seq} (${steps} steps replayed)`,
    `event: ${JSON.stringify(divergence.event)}`,
    "recorded commands:",
    ...(divergence.recordedDigest === undefined
      ? divergence.recorded.map((c) => `  ${canonicalJson(c)}`)
      : [
          `  (recorded as digest ${divergence.recordedDigest}; the replayed commands digest to ${divergence.replayedDigest ?? "?"})`,
        ]),
    "replayed commands:",
    ...divergence.replayed.map((c) => `  ${canonicalJson(c)}`),
    "state change at this step (replayed):",
    ...diffJson(snapshotState(divergence.before), snapshotState(state)).map((l) => `  ${l}`),
  ];
  io.out(lines.join("\n"));
  return 1;
};
