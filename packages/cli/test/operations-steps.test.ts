/**
 * Issue 12: step handlers continue after the last completed step when resumed (a restart step
 * counts as done, an interrupted non-idempotent run fails naming the step), a checksum mismatch
 * fails with the reason, and command handlers map exit codes and output to the outcome. The
 * download goes through an in-memory `Transfer` of the contract's type; programs really run.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, describe, expect, it } from "vitest";
import { decodeOperations, type HandlerConfig } from "../src/operations/codec.js";
import { fileProgressStore } from "../src/operations/progress.js";
import { runProgram } from "../src/operations/runner.js";
import { executeHandler, type HandlerDeps, type OperationInput } from "../src/operations/steps.js";
import type { Transfer } from "../src/transfer/types.js";

const scratch = mkdtempSync(join(tmpdir(), "c8ylink-steps-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const IMAGE = Buffer.from("firmware image 2.0\n");
const IMAGE_SHA = createHash("sha256").update(IMAGE).digest("hex");

/** Serves `files` by URL; checks the SHA-256 as the contract says; counts downloads. */
const memoryTransfer = (files: Record<string, Buffer>) => {
  const calls: string[] = [];
  const transfer: Transfer = {
    download(url, dest, check) {
      calls.push(url);
      const body = files[url];
      if (body === undefined)
        return Promise.resolve({ ok: false, reason: `404 for ${url}`, retryable: false });
      const sha256 = createHash("sha256").update(body).digest("hex");
      if (check.sha256 !== undefined && check.sha256 !== sha256)
        return Promise.resolve({
          ok: false,
          reason: `checksum mismatch: expected ${check.sha256}, got ${sha256}`,
          retryable: false,
        });
      writeFileSync(dest, body);
      return Promise.resolve({ ok: true, path: dest, bytes: body.length, sha256 });
    },
    uploadEventBinary: () => Promise.resolve({ ok: false, reason: "not here", retryable: false }),
  };
  return { transfer, calls };
};

/** A program that appends its name and arguments to the log file (one line per run). */
const logger = (log: string, name: string, exit = 0) => [
  "/bin/sh",
  "-c",
  `echo "${name} $*" >> ${log}; exit ${exit}`,
  name,
];

const handlerOf = (json: unknown, fragment = "c8y_Firmware"): HandlerConfig => {
  const decoded = decodeOperations({ [fragment]: json }, { stateDir: true });
  if (E.isLeft(decoded)) throw new Error(JSON.stringify(decoded.left));
  return decoded.right[fragment]!;
};

let n = 0;
const setup = (files: Record<string, Buffer> = { "http://fw/2.0": IMAGE }) => {
  const dir = join(scratch, `case-${++n}`);
  const log = join(dir, "log.txt");
  const progress = fileProgressStore(join(dir, "operations"));
  const { transfer, calls } = memoryTransfer(files);
  const deps: HandlerDeps = { progress, transfer, runProgram, baseEnv: { PATH: process.env.PATH ?? "/bin" } };
  const lines = () =>
    existsSync(log)
      ? readFileSync(log, "utf8")
          .trim()
          .split("\n")
          .map((l) => l.trimEnd())
      : [];
  return { dir, log, progress, deps, calls, lines };
};

const firmwareOp = (extra: Record<string, unknown> = {}) => ({
  template: "515",
  fragment: "c8y_Firmware",
  deviceId: "d1",
  name: "fw",
  version: "2.0",
  url: "http://fw/2.0",
  ...extra,
});
const input = (resumed: boolean, operation: Record<string, unknown> = firmwareOp()): OperationInput => ({
  fragment: "c8y_Firmware",
  key: "id-9",
  deviceId: "d1",
  resumed,
  operation,
});

const firmwareHandler = (log: string, verify: { idempotent?: boolean } = {}) =>
  handlerOf({
    steps: [
      { download: "{url}", to: "firmware.bin", sha256: IMAGE_SHA },
      { run: [...logger(log, "flash"), "{workDir}/firmware.bin", "{version}"] },
      { restart: logger(log, "reboot") },
      { run: [...logger(log, "verify"), "{version}"], ...verify, result: { parameters: "stdout-lines" } },
    ],
  });

describe("step handlers", () => {
  it("runs the steps up to the restart, then continues after it when resumed, exactly once", async () => {
    const s = setup();
    const handler = firmwareHandler(s.log);
    const first = await executeHandler(handler, input(false), s.deps);
    expect(first).toEqual({ status: "rebooting", step: 2 });
    expect(s.lines()).toEqual([
      `flash ${join(s.dir, "operations", "id-9.files", "firmware.bin")} 2.0`,
      "reboot",
    ]);
    expect(s.progress.read("id-9")).toMatchObject({ kind: "found", progress: { completed: 2, started: 2 } });
    // The device rebooted: the engine hands the operation out again.
    const second = await executeHandler(handler, input(true), s.deps);
    expect(second).toEqual({ status: "successful", parameters: [] });
    expect(s.lines().slice(2)).toEqual(["verify 2.0"]);
    expect(s.calls).toEqual(["http://fw/2.0"]);
    // Handed out once more before the engine had the status durably: the same outcome, nothing runs.
    const third = await executeHandler(handler, input(true), s.deps);
    expect(third).toEqual(second);
    expect(s.lines()).toHaveLength(3);
  });

  it("fails an interrupted run step that is not idempotent, naming it, without running it", async () => {
    const s = setup();
    const handler = firmwareHandler(s.log);
    s.progress.write("id-9", {
      version: 1,
      fragment: "c8y_Firmware",
      completed: 1,
      started: 1,
      parameters: null,
      outcome: null,
    });
    const outcome = await executeHandler(handler, input(true), s.deps);
    expect(outcome).toEqual({
      status: "failed",
      reason:
        'step 2 (run /bin/sh) was interrupted by a restart of c8ylink and is not run again (it is not marked "idempotent": true)',
    });
    expect(s.lines()).toEqual([]);
  });

  it("runs an interrupted idempotent step again, and an interrupted download again", async () => {
    const s = setup();
    const handler = firmwareHandler(s.log, { idempotent: true });
    const base = { version: 1 as const, fragment: "c8y_Firmware", parameters: null, outcome: null };
    s.progress.write("id-9", { ...base, completed: 3, started: 3 });
    expect(await executeHandler(handler, input(true), s.deps)).toEqual({
      status: "successful",
      parameters: [],
    });
    expect(s.lines()).toEqual(["verify 2.0"]);
    const t = setup();
    t.progress.write("id-9", { ...base, completed: 0, started: 0 });
    expect(await executeHandler(firmwareHandler(t.log), input(true), t.deps)).toEqual({
      status: "rebooting",
      step: 2,
    });
    expect(t.calls).toHaveLength(1);
  });

  it("starts from the first step when resumed before any progress was written", async () => {
    const s = setup();
    expect(await executeHandler(firmwareHandler(s.log), input(true), s.deps)).toEqual({
      status: "rebooting",
      step: 2,
    });
    expect(s.lines().map((l) => l.split(" ")[0])).toEqual(["flash", "reboot"]);
  });

  it("fails with a clear reason on an unreadable progress file, never crashing", async () => {
    const s = setup();
    s.progress.write("id-9", {
      version: 1,
      fragment: "c8y_Firmware",
      completed: 0,
      started: null,
      parameters: null,
      outcome: null,
    });
    writeFileSync(join(s.dir, "operations", "id-9.json"), "\u0000garbage");
    const outcome = await executeHandler(firmwareHandler(s.log), input(true), s.deps);
    expect(outcome.status).toBe("failed");
    expect(outcome.status === "failed" && outcome.reason).toContain(
      "progress of the interrupted operation unreadable",
    );
    expect(s.lines()).toEqual([]);
  });

  it("ends FAILED with the reason on a checksum mismatch, before flashing", async () => {
    const s = setup({ "http://fw/2.0": Buffer.from("tampered") });
    const outcome = await executeHandler(firmwareHandler(s.log), input(false), s.deps);
    expect(outcome.status).toBe("failed");
    expect(outcome.status === "failed" && outcome.reason).toMatch(
      /^step 1 \(download to firmware\.bin\): checksum mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}$/,
    );
    expect(s.lines()).toEqual([]);
  });

  it("fails a step that exits non-zero with its stderr and does not run the rest", async () => {
    const s = setup();
    const handler = handlerOf({
      steps: [
        { run: ["/bin/sh", "-c", "echo flash failed: bad block >&2; exit 4"] },
        { run: logger(s.log, "after") },
      ],
    });
    expect(await executeHandler(handler, input(false), s.deps)).toEqual({
      status: "failed",
      reason: "step 1 (run /bin/sh): exit 4: flash failed: bad block",
    });
    expect(s.lines()).toEqual([]);
  });
});

describe("command handlers", () => {
  const command = (text: string): OperationInput => ({
    fragment: "c8y_Command",
    key: "op-1",
    deviceId: "d1",
    resumed: false,
    operation: { template: "511", fragment: "c8y_Command", deviceId: "d1", text },
  });

  it("maps exit codes, output lines and the failure reason as configured", async () => {
    const s = setup();
    const echo = handlerOf(
      {
        run: [
          process.execPath,
          "-e",
          "console.log(process.argv[1]); console.log('two'); process.exit(3)",
          "{text}",
        ],
        result: { successExitCodes: [0, 3], parameters: "stdout-lines" },
      },
      "c8y_Command",
    );
    expect(await executeHandler(echo, command("a; rm -rf /"), s.deps)).toEqual({
      status: "successful",
      parameters: ["a; rm -rf /", "two"],
    });
    const failing = handlerOf(
      {
        run: ["/bin/sh", "-c", 'echo "why: $1"; exit 2', "sh", "{text}"],
        result: { failureReason: "stdout" },
      },
      "c8y_Command",
    );
    expect(await executeHandler(failing, command("disk"), s.deps)).toEqual({
      status: "failed",
      reason: "exit 2: why: disk",
    });
    const slow = handlerOf({ run: ["/bin/sleep", "30"], timeoutSeconds: 1 }, "c8y_Command");
    expect(await executeHandler(slow, command("x"), s.deps)).toEqual({
      status: "failed",
      reason: "timed out after 1 s (process group killed)",
    });
  });

  it("does not run a command again when resumed (it may have half-run)", async () => {
    const s = setup();
    const handler = handlerOf({ run: logger(s.log, "cmd") }, "c8y_Command");
    expect(await executeHandler(handler, { ...command("x"), resumed: true }, s.deps)).toEqual({
      status: "failed",
      reason:
        'c8ylink restarted while the c8y_Command command was running; it is not run again (a step handler with "idempotent": true may be)',
    });
    expect(s.lines()).toEqual([]);
  });

  it("passes fields to a shell script as positional parameters, never as code", async () => {
    const s = setup();
    const handler = handlerOf(
      {
        run: ['printf "%s" "$1"', "{text}"],
        shell: true,
        result: { parameters: "stdout" },
      },
      "c8y_Command",
    );
    const marker = join(s.dir, "pwned");
    expect(await executeHandler(handler, command(`$(touch ${marker})`), s.deps)).toEqual({
      status: "successful",
      parameters: [`$(touch ${marker})`],
    });
    expect(existsSync(marker)).toBe(false);
  });
});
