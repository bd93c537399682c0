/**
 * Log files: `"logs": { "<type>": { "file": "/var/log/x" } | { "command": ["journalctl", …] } }`.
 *
 * The types are declared with `118` (c8y_SupportedLogs). `c8y_LogfileRequest` (522: type, date
 * from, date to, search text, maximum lines) reads the file, or the output of the command (run
 * without a shell, killed after `timeoutSeconds`, default 60), keeps the matching lines
 * (log-filter.ts), uploads them as the binary of a `c8y_Logfile` event and ends SUCCESSFUL
 * with the binary's URL (`503,c8y_LogfileRequest,<url>`).
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import * as t from "io-ts";
import { refine, strictObject } from "@c8ylink/core";
import type { Operation, OperationContext, OperationHandler, OperationOutcome } from "@c8ylink/mqtt";
import {
  Argv,
  NonEmptyString,
  TimeoutSeconds,
  errorText,
  namedEntries,
  removeQuietly,
  safeName,
  type BuiltinDeps,
} from "./common.js";
import { LogSelection, requestTime } from "./log-filter.js";

export const LogEntryCodec = refine(
  strictObject("LogType", {}, { file: NonEmptyString, command: Argv, timeoutSeconds: TimeoutSeconds }),
  "LogType",
  (entry) =>
    (entry.file === undefined) === (entry.command === undefined)
      ? 'give exactly one of "file" (a path) or "command" (a list: program, then arguments)'
      : undefined,
);
export const LogsConfigCodec = namedEntries("LogTypes", LogEntryCodec);
export type LogsConfig = t.TypeOf<typeof LogsConfigCodec>;
type Entry = t.TypeOf<typeof LogEntryCodec>;

const DEFAULT_TIMEOUT_S = 60;

const failed = (reason: string): OperationOutcome => ({ status: "failed", reason });

/** Feeds every line of `input` to `each`; resolves at its end. */
const eachLine = async (input: Readable, each: (line: string) => void): Promise<void> => {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) each(line);
};

/** Reads the configured source line by line; a problem (unreadable file, failed command) as a string. */
const readSource = async (entry: Entry, each: (line: string) => void): Promise<string | undefined> => {
  if (entry.file !== undefined) {
    const path = entry.file;
    try {
      await eachLine(createReadStream(path), each);
      return undefined;
    } catch (e) {
      return `cannot read ${path}: ${errorText(e)}`;
    }
  }
  const argv = entry.command ?? [];
  const timeoutMs = (entry.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  return new Promise((resolve) => {
    const [program = "", ...args] = argv;
    let stderr = "";
    let problem: string | undefined;
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    const timer = setTimeout(() => {
      problem = `${program} timed out after ${timeoutMs / 1000} s`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => (problem ??= `${program}: ${e.message}`));
    const read = eachLine(child.stdout, each).catch((e: unknown) => {
      problem ??= `reading the output of ${program}: ${errorText(e)}`;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      void read.then(() => {
        if (problem === undefined && code !== 0) {
          const tail = stderr.trim().split("\n").slice(-3).join(" / ");
          problem = `${program} failed (${code === null ? `killed by ${signal ?? "a signal"}` : `exit ${code}`})${tail === "" ? "" : `: ${tail}`}`;
        }
        resolve(problem);
      });
    });
  });
};

/** `c8y_LogfileRequest` (522). */
export const logfileHandler =
  (config: LogsConfig, deps: BuiltinDeps, now: () => number = Date.now): OperationHandler =>
  async (op: Operation, context: OperationContext) => {
    if (op.template !== "522") return failed(`unexpected ${op.fragment} template ${op.template}`);
    const entry = Object.hasOwn(config, op.logFile) ? config[op.logFile] : undefined;
    if (entry === undefined)
      return failed(
        `log type "${op.logFile}" is not configured on this device (configured: ${Object.keys(config).join(", ")})`,
      );
    const selection = new LogSelection({
      fromMs: requestTime(op.dateFrom),
      toMs: requestTime(op.dateTo),
      searchText: op.searchText,
      maximumLines: op.maximumLines,
      nowMs: now(),
    });
    const problem = await readSource(entry, (line) => selection.add(line));
    if (problem !== undefined) return failed(problem);
    const lines = selection.lines();
    const file = join(deps.workDir, `log-${safeName(op.logFile)}-${safeName(context.key)}.log`);
    try {
      await writeFile(file, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
      const result = await deps.transfer.uploadEventBinary({
        deviceId: context.deviceId,
        eventType: "c8y_Logfile",
        text: `Log ${op.logFile}: ${lines.length} lines`,
        fileName: `${safeName(op.logFile)}.log`,
        contentType: "text/plain",
        path: file,
      });
      if (!result.ok) return failed(`upload of log ${op.logFile} failed: ${result.reason}`);
      return { status: "successful", parameters: [result.url] };
    } catch (e) {
      return failed(`cannot write ${file}: ${errorText(e)}`);
    } finally {
      await removeQuietly(file);
    }
  };
