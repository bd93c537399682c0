/**
 * The declared handlers as engine operation handlers: each runs `executeHandler`, waits for the
 * reboot after a restart step, reports the installed firmware when asked, and removes an
 * operation's progress file once the engine no longer needs it (its terminal status is in the
 * engine's durable journal, or already delivered).
 */
import { entryOf, type EngineState } from "@c8ylink/core";
import type { Engine, OperationHandler } from "@c8ylink/mqtt";
import type { Transfer } from "../transfer/types.js";
import type { HandlerConfig, OperationsConfig } from "./codec.js";
import type { ProgressStore } from "./progress.js";
import { runProgram } from "./runner.js";
import { executeHandler, type HandlerDeps } from "./steps.js";

export interface DeclaredHandlers {
  readonly handlers: ReadonlyMap<string, OperationHandler>;
  /** Removes progress files of operations the engine has ended durably (call now and then). */
  sweep(): void;
}

/** The progress of `key` is no longer needed: its operation is gone or ended durably. */
const settled = (state: EngineState, key: string): boolean => {
  const entry = entryOf(state.journal, key);
  return entry === undefined || (entry.stage === "finished" && entry.persistRef === null);
};

const reportFirmware = (
  engine: Engine,
  handler: HandlerConfig,
  op: Record<string, unknown>,
  deviceId: string,
) => {
  if (handler.report !== "firmware") return;
  const field = (name: string) => (typeof op[name] === "string" ? (op[name] as string) : undefined);
  const child = deviceId === engine.state().config.deviceId ? {} : { child: deviceId };
  engine.submit(
    {
      template: "115",
      ...(field("name") === undefined ? {} : { name: field("name") }),
      ...(field("version") === undefined ? {} : { version: field("version") }),
      ...(field("url") === undefined ? {} : { url: field("url") }),
    },
    child,
  );
};

export const declaredHandlers = (
  engine: Engine,
  operations: OperationsConfig,
  deps: {
    readonly progress: ProgressStore;
    readonly transfer: Transfer;
    readonly env: Readonly<Record<string, string | undefined>>;
  },
): DeclaredHandlers => {
  const baseEnv = Object.fromEntries(
    Object.entries(deps.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const handlerDeps: HandlerDeps = { progress: deps.progress, transfer: deps.transfer, runProgram, baseEnv };
  const handlers = new Map<string, OperationHandler>();
  for (const [fragment, handler] of Object.entries(operations)) {
    handlers.set(fragment, async (op, ctx) => {
      const operation = op as unknown as Record<string, unknown>;
      const outcome = await executeHandler(
        handler,
        { fragment, key: ctx.key, deviceId: ctx.deviceId, resumed: ctx.resumed, operation },
        handlerDeps,
      );
      switch (outcome.status) {
        case "rebooting":
          // The device is going down; the operation continues when the agent starts again.
          return new Promise(() => {});
        case "successful":
          reportFirmware(engine, handler, operation, ctx.deviceId);
          return outcome;
        case "failed":
          return outcome;
      }
    });
  }
  return {
    handlers,
    sweep() {
      const state = engine.state();
      for (const key of deps.progress.keys()) if (settled(state, key)) deps.progress.remove(key);
    },
  };
};
