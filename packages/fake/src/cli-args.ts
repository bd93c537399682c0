/**
 * The flags of `npm run simulate`, parsed with `node:util` parseArgs (as the `c8ylink` CLI
 * does). A bad flag or value becomes a `UsageError` that names it; the CLI exits 2 on it.
 */
import { parseArgs } from "node:util";
import type { OperationsMode } from "./context.js";

export class UsageError extends Error {}

export interface SimulateArgs {
  readonly seed: number;
  readonly runs: number;
  readonly devices: number;
  readonly faultMs: number;
  readonly healMs: number;
  readonly verbose: boolean;
  readonly none: boolean;
  readonly tolerateKnown: boolean;
  readonly operations: OperationsMode;
  readonly platformJson: boolean;
  readonly help: boolean;
}

export const DEFAULTS = {
  seed: 1,
  runs: 20,
  devices: 3,
  faultMs: 120_000,
  healMs: 300_000,
  operations: "by-id",
} as const;

export const USAGE = `usage: npm run simulate -- [options]

Runs seeded fake worlds (many engines against the platform model, under faults), one line
per world, then a summary. Exits 1 at the first failing seed with its explanation and the
command that reproduces it, 2 on a usage error.

  --seed N          first seed (default ${DEFAULTS.seed})
  --runs M          number of worlds, seeds N .. N+M-1 (default ${DEFAULTS.runs})
  --devices D       devices per world, at least 1 (default ${DEFAULTS.devices})
  --fault-ms X      virtual duration of the fault phase (default ${DEFAULTS.faultMs})
  --heal-ms Y       budget of the healing phase (default ${DEFAULTS.healMs})
  --operations M    how the engines take operations: by-id (JSON notifications, status by
                    id; default) or static (id-less s/ds lines)
  --no-platform-json  the platform refuses devicecontrol/notifications: a by-id engine falls
                    back to static, and the world judges it by static rules
  --no-faults       run without faults
  --tolerate-known  count violations matching a known engine issue instead of failing
                    (static rules only: by-id knows no known issues)
  --verbose         print the full trace of failing worlds (and of the world, with --runs 1)
  -h, --help        print this help`;

const OPTIONS = {
  seed: { type: "string" },
  runs: { type: "string" },
  devices: { type: "string" },
  "fault-ms": { type: "string" },
  "heal-ms": { type: "string" },
  "no-faults": { type: "boolean" },
  "tolerate-known": { type: "boolean" },
  operations: { type: "string" },
  "no-platform-json": { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const integer = (name: string, raw: string | undefined, fallback: number, min: number): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(
      `--${name} must be ${min === 0 ? "a non-negative integer" : `an integer of at least ${min}`} (got ${JSON.stringify(raw)})`,
    );
  return value;
};

/** node:util parseArgs, its errors (unknown flag, missing value, stray argument) as `UsageError`. */
const parseStrictly = (argv: readonly string[]) => {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const message =
      e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, "") : String(e);
    throw new UsageError(message);
  }
};

/** Parses the arguments after `npm run simulate --`; throws `UsageError` naming what is wrong. */
const operationsMode = (raw: string | undefined): OperationsMode => {
  if (raw === undefined) return DEFAULTS.operations;
  if (raw === "by-id" || raw === "static") return raw;
  throw new UsageError(`--operations must be "by-id" or "static" (got ${JSON.stringify(raw)})`);
};

export const parseSimulateArgs = (argv: readonly string[]): SimulateArgs => {
  const values = parseStrictly(argv);
  const operations = operationsMode(values.operations);
  const platformJson = values["no-platform-json"] !== true;
  const tolerateKnown = values["tolerate-known"] === true;
  if (tolerateKnown && operations === "by-id" && platformJson)
    throw new UsageError(
      "--tolerate-known needs static rules (--operations static, or --no-platform-json): by-id knows no known issues",
    );
  return {
    seed: integer("seed", values.seed, DEFAULTS.seed, 0),
    runs: integer("runs", values.runs, DEFAULTS.runs, 0),
    devices: integer("devices", values.devices, DEFAULTS.devices, 1),
    faultMs: integer("fault-ms", values["fault-ms"], DEFAULTS.faultMs, 0),
    healMs: integer("heal-ms", values["heal-ms"], DEFAULTS.healMs, 0),
    verbose: values.verbose === true,
    none: values["no-faults"] === true,
    tolerateKnown,
    operations,
    platformJson,
    help: values.help === true,
  };
};
