/**
 * Command-line parsing on top of `node:util` parseArgs, with errors that say what to do.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { nearestName } from "@c8ylink/core";

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/** ": did you mean --x?" for an unknown option near a known one, else "". */
const flagSuggestion = (message: string, options: Options): string => {
  const unknown = /^Unknown option '--([^'=]+)'/.exec(message)?.[1];
  if (unknown === undefined) return "";
  const near = nearestName(unknown, [...Object.keys(options), "help"]);
  return near === undefined ? "" : `: did you mean --${near}?`;
};

/** Parses `argv` for `command`; unknown flags and missing values become a `UsageError`. */
export const parse = (
  command: string,
  argv: readonly string[],
  options: Options,
  positionals = 0,
): Parsed => {
  try {
    const result = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (result.positionals.length > positionals) {
      throw new UsageError(`unexpected argument ${JSON.stringify(result.positionals[positionals])}`);
    }
    return { values: result.values as Parsed["values"], positionals: result.positionals };
  } catch (e) {
    const message =
      e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/, "") : String(e);
    throw new UsageError(
      `${message}${flagSuggestion(message, options)}\nRun 'c8ylink ${command} --help' for the options.`,
    );
  }
};

export const str = (p: Parsed, name: string): string | undefined => {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
};

export const flag = (p: Parsed, name: string): boolean => p.values[name] === true;

/** A non-negative integer flag, or a `UsageError` naming the flag. */
export const int = (p: Parsed, name: string): number | undefined => {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v))
    throw new UsageError(`--${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
  return Number(v);
};
