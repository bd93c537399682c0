/**
 * Executes one declared handler for one operation. A command handler runs its program; a step
 * handler runs its steps in order and records its progress durably around every step, so that
 * when the operation is handed out again after a crash or a reboot (`resumed`), it continues
 * after the last completed step:
 * - a `restart` step under way counts as done (the reboot happened);
 * - a `download` under way is done again (the transfer resumes or restarts the file);
 * - a `run` under way is run again only when it says `"idempotent": true`; otherwise the
 *   operation fails, naming the step (it may have half-happened: only the user knows).
 * An ended operation keeps its outcome in the progress file until the engine has its status
 * durably, so a crash in between reports the same outcome instead of running anything again.
 */
import { join } from "node:path";
import type { Transfer } from "../transfer/types.js";
import type { HandlerConfig, RestartStepConfig, RunStepConfig, StepConfig } from "./codec.js";
import { substitute, valuesOf } from "./fields.js";
import type { Progress, ProgressStore } from "./progress.js";
import type { RunRequest, RunResult } from "./runner.js";

export type HandlerOutcome =
  | { readonly status: "successful"; readonly parameters: readonly string[] }
  | { readonly status: "failed"; readonly reason: string }
  /** The restart command ran: the device is going down; the operation ends after the reboot. */
  | { readonly status: "rebooting"; readonly step: number };

export interface HandlerDeps {
  readonly progress: ProgressStore;
  readonly transfer: Transfer;
  readonly runProgram: (request: RunRequest) => Promise<RunResult>;
  /** The environment programs start with (the agent's own, usually). */
  readonly baseEnv: Readonly<Record<string, string>>;
}

export interface OperationInput {
  readonly fragment: string;
  readonly key: string;
  readonly deviceId: string;
  readonly resumed: boolean;
  readonly operation: Readonly<Record<string, unknown>>;
}

const DEFAULT_RUN_TIMEOUT_S = 300;
const DEFAULT_DOWNLOAD_TIMEOUT_S = 3600;
/** Longest failure reason taken from a program's output (the status row has a size limit). */
const MAX_REASON_CHARS = 1000;

type StepResult =
  | { readonly ok: true; readonly parameters: readonly string[] | null }
  | { readonly ok: false; readonly reason: string };

const tail = (text: string): string => {
  const trimmed = text.trim();
  return trimmed.length <= MAX_REASON_CHARS ? trimmed : `…${trimmed.slice(-MAX_REASON_CHARS)}`;
};

const describeStep = (step: StepConfig, i: number): string =>
  step.kind === "run"
    ? `step ${i + 1} (run ${step.run[0]})`
    : step.kind === "restart"
      ? `step ${i + 1} (restart ${step.restart[0]})`
      : `step ${i + 1} (download to ${step.to})`;

export const executeHandler = async (
  handler: HandlerConfig,
  input: OperationInput,
  deps: HandlerDeps,
): Promise<HandlerOutcome> => {
  const workDir = deps.progress.workDir(input.key);
  const values = valuesOf(input.operation, { deviceId: input.deviceId, operationKey: input.key, workDir });
  const env = (extra: Readonly<Record<string, string>> | undefined): Record<string, string> | string => {
    const out: Record<string, string> = {
      ...deps.baseEnv,
      C8Y_OPERATION_KEY: input.key,
      C8Y_OPERATION_FRAGMENT: input.fragment,
      C8Y_DEVICE_ID: input.deviceId,
      C8Y_WORK_DIR: workDir,
    };
    for (const [name, template] of Object.entries(extra ?? {})) {
      const v = substitute(template, values);
      if (!v.ok) return `env.${name}: ${v.error}`;
      out[name] = v.value;
    }
    return out;
  };
  const argvOf = (argv: readonly string[], shell: boolean | undefined): string[] | string => {
    const out: string[] = [];
    for (const [i, template] of argv.entries()) {
      // A shell script is taken literally (the codec refuses placeholders in it).
      const v =
        shell === true && i === 0 ? { ok: true as const, value: template } : substitute(template, values);
      if (!v.ok) return `argument ${i + 1}: ${v.error}`;
      out.push(v.value);
    }
    return shell === true ? ["/bin/sh", "-c", out[0]!, "c8ylink-operation", ...out.slice(1)] : out;
  };

  const runStep = async (
    step: RunStepConfig | RestartStepConfig,
    argvTemplate: readonly string[],
  ): Promise<StepResult> => {
    const argv = argvOf(argvTemplate, step.shell);
    if (typeof argv === "string") return { ok: false, reason: argv };
    const runEnv = env("env" in step ? step.env : undefined);
    if (typeof runEnv === "string") return { ok: false, reason: runEnv };
    const timeoutS = step.timeoutSeconds ?? DEFAULT_RUN_TIMEOUT_S;
    const r = await deps.runProgram({ argv, env: runEnv, timeoutMs: timeoutS * 1000, cwd: workDir });
    const result = "result" in step ? step.result : undefined;
    if (r.startError !== null) return { ok: false, reason: `cannot start ${argv[0]}: ${r.startError}` };
    if (r.timedOut) return { ok: false, reason: `timed out after ${timeoutS} s (process group killed)` };
    const codes = result?.successExitCodes ?? [0];
    if (r.code === null || !codes.includes(r.code)) {
      const how = r.code === null ? `killed by ${r.signal ?? "a signal"}` : `exit ${r.code}`;
      const from = result?.failureReason ?? "stderr";
      const text = from === "exit-code" ? "" : tail(from === "stdout" ? r.stdout : r.stderr);
      return { ok: false, reason: text === "" ? how : `${how}: ${text}` };
    }
    switch (result?.parameters ?? "none") {
      case "none":
        return { ok: true, parameters: null };
      case "stdout":
        return { ok: true, parameters: [r.stdout.trimEnd()] };
      case "stdout-lines":
        return { ok: true, parameters: r.stdout.split("\n").filter((l) => l.trim() !== "") };
      default:
        return { ok: true, parameters: null };
    }
  };

  if (handler.kind === "run") {
    // Resumed only when the user lists the fragment in engine.resumableOperations by hand: the
    // command may have half-run, and a command handler keeps no progress to tell.
    if (input.resumed)
      return {
        status: "failed",
        reason: `c8ylink restarted while the ${input.fragment} command was running; it is not run again (a step handler with "idempotent": true may be)`,
      };
    const r = await runStep(handler, handler.run);
    return r.ok
      ? { status: "successful", parameters: r.parameters ?? [] }
      : { status: "failed", reason: r.reason };
  }

  // A step handler: where to start.
  let progress: Progress = {
    version: 1,
    fragment: input.fragment,
    completed: 0,
    started: null,
    parameters: null,
    outcome: null,
  };
  if (input.resumed) {
    const found = deps.progress.read(input.key);
    if (found.kind === "unreadable")
      return end({
        status: "failed",
        reason: `progress of the interrupted operation unreadable: ${found.reason}`,
      });
    if (found.kind === "found") {
      progress = found.progress;
      if (progress.outcome !== null)
        return progress.outcome.status === "successful"
          ? { status: "successful", parameters: progress.outcome.parameters }
          : { status: "failed", reason: progress.outcome.reason };
      if (progress.fragment !== input.fragment || progress.completed > handler.steps.length)
        return end({
          status: "failed",
          reason: `progress of the interrupted operation does not match the ${input.fragment} handler (${progress.fragment}, ${progress.completed} steps completed)`,
        });
      if (progress.started !== null) {
        const i = progress.started;
        const step = handler.steps[i];
        if (step === undefined)
          return end({
            status: "failed",
            reason: `progress names step ${i + 1}, the handler has ${handler.steps.length}`,
          });
        const redo = step.kind === "download" || (step.kind === "run" && step.idempotent === true);
        if (step.kind === "restart") progress = { ...progress, completed: i + 1, started: null };
        else if (redo) progress = { ...progress, completed: i, started: null };
        else
          return end({
            status: "failed",
            reason: `${describeStep(step, i)} was interrupted by a restart of c8ylink and is not run again (it is not marked "idempotent": true)`,
          });
      }
    }
  }

  for (let i = progress.completed; i < handler.steps.length; i++) {
    const step = handler.steps[i]!;
    progress = { ...progress, completed: i, started: i };
    try {
      deps.progress.write(input.key, progress);
    } catch (e) {
      return end({
        status: "failed",
        reason: `cannot record the progress before ${describeStep(step, i)}: ${(e as Error).message}`,
      });
    }
    let r: StepResult;
    if (step.kind === "download") r = await download(step);
    else r = await runStep(step, step.kind === "run" ? step.run : step.restart);
    if (!r.ok) return end({ status: "failed", reason: `${describeStep(step, i)}: ${r.reason}` });
    if (step.kind === "restart") return { status: "rebooting", step: i };
    progress = {
      ...progress,
      completed: i + 1,
      started: null,
      parameters: r.parameters === null ? progress.parameters : [...r.parameters],
    };
    try {
      deps.progress.write(input.key, progress);
    } catch (e) {
      return end({
        status: "failed",
        reason: `cannot record the progress after ${describeStep(step, i)}: ${(e as Error).message}`,
      });
    }
  }
  return end({ status: "successful", parameters: progress.parameters ?? [] });

  async function download(step: Extract<StepConfig, { kind: "download" }>): Promise<StepResult> {
    const url = substitute(step.download, values);
    if (!url.ok) return { ok: false, reason: `download: ${url.error}` };
    const sha = step.sha256 === undefined ? undefined : substitute(step.sha256, values);
    if (sha !== undefined && !sha.ok) return { ok: false, reason: `sha256: ${sha.error}` };
    const sha256 = sha?.value.trim().toLowerCase();
    if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256))
      return { ok: false, reason: `sha256: ${JSON.stringify(sha256)} is not a SHA-256 in hex` };
    const timeoutS = step.timeoutSeconds ?? DEFAULT_DOWNLOAD_TIMEOUT_S;
    const result = await deps.transfer.download(
      url.value,
      join(workDir, step.to),
      sha256 === undefined ? {} : { sha256 },
      AbortSignal.timeout(timeoutS * 1000),
    );
    return result.ok ? { ok: true, parameters: null } : { ok: false, reason: result.reason };
  }

  /** Records the outcome durably (see the file comment) and returns it. */
  function end(
    outcome: { status: "successful"; parameters: readonly string[] } | { status: "failed"; reason: string },
  ): HandlerOutcome {
    const stored: Progress["outcome"] =
      outcome.status === "successful"
        ? { status: "successful", parameters: [...outcome.parameters] }
        : { status: "failed", reason: outcome.reason };
    try {
      deps.progress.write(input.key, { ...progress, started: null, outcome: stored });
    } catch {
      // The outcome still goes to the engine; only a crash right now would run steps again.
    }
    return outcome;
  }
};
