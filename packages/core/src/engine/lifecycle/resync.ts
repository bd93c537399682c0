/**
 * Id-less mode: resynchronising on the platform's `s/e` answer to a status row that matched
 * nothing (spec §2.6, §4.9; issue 8).
 *
 * After a connection loss or a crash, a `501` whose fate is unknown and whose operation's line
 * came back in the `500` answer is ambiguous: either the 501 was not applied (the line is that
 * operation, still PENDING), or it was and the line is an identical newer operation (two
 * `510,<device>` restarts look the same). Re-sending the 501 in the second case starts the
 * newer operation behind the device's back (the `507` cleanup then fails a restart that never
 * ran). So when the platform reports errors on `s/e`, the engine takes the 501 as applied and
 * watches the operation's terminal row (a probe): if the platform answers it with
 * `No EXECUTING operation with fragment <f> for device <d>` and the operation's line then comes
 * back in the answer to a fresh `500`, the 501 had not been applied, and the engine sends
 * `501,<f>` and the terminal row again. Status rows of one fragment are
 * fungible for the platform (501 starts the oldest PENDING, 503 ends the oldest EXECUTING), so
 * restoring the missing 501 restores the count.
 *
 * A probe lives until 5 × `settleMs` after its terminal row was acknowledged (the error line
 * comes with the processing of that row, but may lag like the 500 answer), in memory only: a
 * crash in that window loses it (then the operation, still PENDING, can run again).
 */
import { parseRows } from "../../smartrest/csv.js";
import type { ErrorLine } from "../../smartrest/control.js";
import { sameRow, type JournalEntry } from "../journal.js";
import type { Row } from "../../smartrest/types.js";
import { enqueueStatus } from "./statuses.js";
import type { Tx } from "./tx.js";

export interface Probe {
  readonly key: string;
  readonly deviceId: string;
  readonly fragment: string;
  /** The operation's line: seen again after its terminal row, it is still PENDING. */
  readonly raw: Row;
  /** The terminal status line, once acknowledged. */
  readonly terminal: string | null;
  /** The platform said the terminal row matched nothing: 500 was asked to confirm. */
  readonly matchedNothing: boolean;
  readonly untilMs: number;
}

/** Whether uncertain 501s may be taken as applied: only when the platform's errors reach us. */
export const canProbe = (tx: Tx): boolean => tx.config.subscribeErrors;

/** An uncertain 501 of `entry` was dropped as applied: watch its terminal row. */
export const probeStart = (tx: Tx, entry: JournalEntry): void => {
  const probe: Probe = {
    key: entry.key,
    deviceId: entry.deviceId,
    fragment: entry.fragment,
    raw: entry.raw,
    terminal: null,
    matchedNothing: false,
    untilMs: Number.MAX_SAFE_INTEGER,
  };
  tx.set({ probes: [...tx.s.probes.filter((p) => p.key !== entry.key), probe] });
};

/** The terminal row of journal entry `key` was acknowledged. */
export const onProbedTerminalDelivered = (tx: Tx, key: string, line: string): void => {
  const probe = tx.s.probes.find((p) => p.key === key);
  if (probe === undefined) return;
  const delivered: Probe = { ...probe, terminal: line, untilMs: tx.now + PROBE_SETTLES * tx.config.settleMs };
  tx.set({ probes: tx.s.probes.map((p) => (p === probe ? delivered : p)) });
};

/** `s/e` lines may lag their row like answer lines do: as long as settling may last at most. */
const PROBE_SETTLES = 5;

const NOTHING_EXECUTING = /^No EXECUTING operation with fragment (\S+) for device (\S+)$/;

/** An `s/e` line: a terminal row of a probed operation that matched nothing resynchronises. */
export const onErrorForProbes = (tx: Tx, line: ErrorLine): void => {
  const live = tx.s.probes.filter((p) => p.untilMs > tx.now);
  if (live.length !== tx.s.probes.length) tx.set({ probes: live });
  if (line.reference !== "502" && line.reference !== "503") return;
  const m = NOTHING_EXECUTING.exec(line.text);
  if (m === null) return;
  const [, fragment, deviceId] = m;
  const probe = live.find((p) => p.fragment === fragment && p.deviceId === deviceId);
  if (probe === undefined || probe.matchedNothing) return;
  // The same error follows a replay of a terminal row that was applied (a lost PUBACK): only
  // the operation's line coming back in the answer to 500 shows its 501 was not applied.
  const untilMs = Math.max(probe.untilMs, tx.now + PROBE_SETTLES * tx.config.settleMs);
  tx.set({ probes: live.map((p) => (p === probe ? { ...p, matchedNothing: true, untilMs } : p)) });
  enqueueStatus(tx, undefined, ["500"], undefined);
};

/** An operation line arrived: the operation of a probe that matched nothing is still PENDING. */
export const onLineForProbes = (tx: Tx, deviceId: string, row: Row): void => {
  const probe = tx.s.probes.find(
    (p) =>
      p.matchedNothing &&
      p.terminal !== null &&
      p.untilMs > tx.now &&
      p.deviceId === deviceId &&
      sameRow(p.raw, row),
  );
  if (probe !== undefined) resync(tx, probe);
};

const resync = (tx: Tx, probe: Probe): void => {
  tx.set({ probes: tx.s.probes.filter((p) => p !== probe) });
  const rows = probe.terminal === null ? undefined : parseRows(probe.terminal);
  const terminal = rows?._tag === "Right" ? rows.right[0] : undefined;
  if (terminal === undefined) return;
  // The platform had not applied the 501 (its s/e line was reported as a platform-error).
  const target = { deviceId: probe.deviceId, key: probe.key };
  enqueueStatus(tx, target, ["501", probe.fragment], undefined);
  enqueueStatus(tx, target, terminal, undefined);
};
