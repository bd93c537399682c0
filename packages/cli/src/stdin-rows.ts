/**
 * SmartREST rows from standard input, read with backpressure, each read's rows submitted as
 * one batch (`submitMany`: one step and one storage write per read, not per row): rows read but not yet durable
 * (submitted and not written by the storage, or read and not yet submitted) never exceed
 * `maxUndurable`. Input is pulled in reads of at most `readBytes` bytes (so at most
 * `readBytes / 2` lines at a time, a row being at least one character and a newline), and only
 * while the rows submitted and not yet durable leave room for a whole read.
 */
import { StringDecoder } from "node:string_decoder";
import * as E from "fp-ts/lib/Either.js";
import { parseRows } from "@c8ylink/core";
import type { Engine, SubmitRow } from "@c8ylink/mqtt";
import { readStaticRow } from "@c8ylink/platform";
import type { InputSource } from "./io.js";

export const DEFAULT_MAX_UNDURABLE_ROWS = 1_000;
/** The smallest bound that leaves room to submit while a read is in hand. */
export const MIN_MAX_UNDURABLE_ROWS = 10;
/** A longer line is refused (it cannot be a row Cumulocity accepts) instead of growing memory. */
const MAX_LINE_BYTES = 64 * 1024;

export interface RowProgress {
  /** Lines read so far (the number of the last one). */
  readonly lines: number;
  /** Rows accepted by the engine. */
  readonly accepted: number;
  /** Rows accepted and durable (every earlier row is too: rows become durable in order). */
  readonly durable: number;
  /** The line of the last durable row (0: none yet). */
  readonly durableLine: number;
  /** Rows whose storage write failed: delivered from memory, lost on a crash. */
  readonly notDurable: number;
}

export interface RowReader {
  /** Resolves at the end of input, or soon after `stop()`. */
  readonly done: Promise<void>;
  /** Stops reading (a read already asked for may complete; its lines are not submitted). */
  stop(): void;
  progress(): RowProgress;
}

export interface RowReaderOptions {
  readonly maxUndurable: number;
  /** A line that is not a valid row, or a row the engine refused. */
  readonly onBadLine: (lineNumber: number, message: string) => void;
  /** A storage write failed: the rows are not durable (they stay queued in memory). */
  readonly onNotDurable: (message: string) => void;
}

export const readRows = (engine: Engine, input: InputSource, options: RowReaderOptions): RowReader => {
  const readBytes = Math.min(1024, options.maxUndurable);
  // Lines one read can complete: its bytes over two, plus the partial line carried before it.
  const linesPerRead = Math.floor(readBytes / 2) + 1;
  const submitLimit = Math.max(0, options.maxUndurable - linesPerRead);
  let stopped = false;
  let lineNumber = 0;
  let accepted = 0;
  let notDurable = 0;
  // Line numbers of the most recent accepted rows: the durable boundary lies among them.
  const recentLines: number[] = [];
  const remember = (line: number): void => {
    recentLines.push(line);
    if (recentLines.length > 2 * (options.maxUndurable + linesPerRead)) {
      recentLines.splice(0, recentLines.length - (options.maxUndurable + linesPerRead));
    }
  };

  /** Rows of the current read, with their line numbers: submitted together as one batch. */
  let pending: SubmitRow[] = [];
  let pendingLines: number[] = [];

  const takeLine = (line: string): void => {
    lineNumber++;
    if (line.trim() === "") return;
    const rows = parseRows(line);
    if (E.isLeft(rows)) return options.onBadLine(lineNumber, rows.left.message);
    for (const row of rows.right) {
      const message = readStaticRow(row);
      if (E.isLeft(message)) {
        options.onBadLine(lineNumber, `${message.left.text} (template ${row[0] ?? ""})`);
        continue;
      }
      pending.push({ message: message.right });
      pendingLines.push(lineNumber);
    }
  };

  /** Submits the rows of this read as one batch: one step, one storage write. */
  const submitPending = (): void => {
    if (pending.length === 0) return;
    const rows = pending;
    const lines = pendingLines;
    pending = [];
    pendingLines = [];
    const result = engine.submitMany(rows);
    let next = 0;
    for (const r of result.refused) {
      for (; next < r.index; next++) remember(lines[next] ?? 0);
      options.onBadLine(lines[r.index] ?? 0, `rejected: ${r.reason}`);
      next = r.index + 1;
    }
    for (; next < rows.length; next++) remember(lines[next] ?? 0);
    accepted += result.accepted;
  };

  /** Waits until a whole read fits under the bound. */
  const makeRoom = async (): Promise<void> => {
    while (!stopped && engine.undurableCount() > submitLimit) {
      const before = engine.undurableCount();
      try {
        await engine.whenDurable();
      } catch (e) {
        if (stopped) return;
        // A failed write took them out of the count: they will not become durable.
        notDurable += Math.max(0, before - engine.undurableCount());
        options.onNotDurable(e instanceof Error ? e.message : String(e));
        if (engine.undurableCount() >= before) return; // the engine stopped
      }
    }
  };

  const run = async (): Promise<void> => {
    const decoder = new StringDecoder("utf8");
    let carry = "";
    // Inside an over-long line (already reported): its rest is skipped up to its newline.
    let skipping = false;
    for (;;) {
      await makeRoom();
      if (stopped) return;
      const chunk = await input.read(readBytes);
      if (stopped) return;
      if (chunk === null) break;
      const lines = (carry + decoder.write(chunk)).split("\n");
      carry = lines.pop() ?? "";
      if (skipping) {
        if (lines.length > 0) {
          lines.shift();
          skipping = false;
        } else carry = "";
      }
      for (const line of lines) takeLine(line.replace(/\r$/, ""));
      submitPending();
      if (carry.length > MAX_LINE_BYTES) {
        lineNumber++;
        options.onBadLine(lineNumber, `line longer than ${MAX_LINE_BYTES} bytes: skipped`);
        carry = "";
        skipping = true;
      }
    }
    if (skipping) carry = "";
    const last = carry + decoder.end();
    if (last !== "") takeLine(last.replace(/\r$/, ""));
    submitPending();
  };

  return {
    done: run(),
    stop: () => {
      stopped = true;
    },
    progress: () => {
      const durable = Math.max(0, accepted - notDurable - engine.undurableCount());
      const undurable = accepted - notDurable - durable;
      const boundaryIndex = recentLines.length - 1 - undurable;
      return {
        lines: lineNumber,
        accepted,
        durable,
        durableLine: durable === 0 ? 0 : (recentLines[Math.max(0, boundaryIndex)] ?? 0),
        notDurable,
      };
    },
  };
};
