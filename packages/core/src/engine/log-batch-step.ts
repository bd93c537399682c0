/**
 * Reading the bulk of a log fast: a `submit-batch` step holds up to hundreds of thousands of
 * rows, and the step codecs' generic walk over them cost more than replaying them. Used by
 * `parseLog` (log.ts) before the codecs.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { CommandCodec, type Command } from "./commands.js";
import { isExactBatchRow } from "./events.js";
import type { LogStep } from "./log.js";

const CommandsCodec = t.array(CommandCodec);

/**
 * A `submit-batch` step, decoded as the step codecs decode it but with its rows checked by
 * `isExactBatchRow` (the codecs' generic walk over 100,000 rows cost more than replaying them).
 * Undefined when anything is not in the exact form: then the codecs decode it and say why.
 */
export const batchStep = (json: unknown): LogStep | undefined => {
  if (typeof json !== "object" || json === null) return undefined;
  const line = json as {
    kind?: unknown;
    seq?: unknown;
    event?: unknown;
    digest?: unknown;
    commands?: unknown;
  };
  const event = line.event as { type?: unknown; nowMs?: unknown; rows?: unknown } | null | undefined;
  if (
    line.kind !== "step" ||
    typeof line.seq !== "number" ||
    typeof event !== "object" ||
    event === null ||
    event.type !== "submit-batch" ||
    typeof event.nowMs !== "number" ||
    !Array.isArray(event.rows) ||
    !event.rows.every(isExactBatchRow)
  )
    return undefined;
  if (typeof line.digest === "string") return { ...(json as LogStep), commands: [] };
  const commands = CommandsCodec.decode(line.commands);
  if (E.isLeft(commands)) return undefined;
  return commands.right === line.commands
    ? (json as LogStep)
    : { ...(json as LogStep), commands: commands.right as readonly Command[] };
};
