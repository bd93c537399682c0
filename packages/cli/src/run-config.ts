/**
 * What `c8ylink run` reads besides flags: the JSON config file, the `C8Y_*` environment
 * and the PEM files. Everything is checked strictly before the engine starts: an unknown
 * key is refused with the nearest valid one, a PEM file that cannot work names the file and
 * the problem, and a variable that looks like a misspelt `C8Y_*` name is pointed out.
 */
import { readFileSync } from "node:fs";
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import {
  ConfigInputCodec,
  decode,
  formatProblems,
  nearestName,
  strictObject,
  type EngineConfigInput,
} from "@c8ylink/core";
import { certificateProblem, keyMatchProblem, privateKeyProblem } from "@c8ylink/mqtt";
import { UsageError } from "./args.js";
import { BUILTIN_CONFIG_PROPS } from "./operations/builtin/index.js";

const EngineSection = new t.Type<Record<string, unknown>, Record<string, unknown>, unknown>(
  "EngineConfigObject",
  t.UnknownRecord.is,
  (u, c) =>
    t.UnknownRecord.is(u) && !Array.isArray(u)
      ? t.success(u)
      : t.failure(u, c, "expected an object with the engine configuration (docs/configuration.md)"),
  t.identity,
);

/** Operation handlers: decoded in operations/codec.ts, which needs to know the state dir. */
const OperationsSection = new t.Type<unknown, unknown, unknown>(
  "OperationHandlers",
  (_u): _u is unknown => true,
  (u) => t.success(u),
  t.identity,
);

/** The config file of `c8ylink run` (docs/configuration.md is checked against it). */
export const ConfigFileCodec = strictObject(
  "RunConfigFile",
  {},
  {
    url: t.string,
    stateDir: t.string,
    record: t.string,
    tls: strictObject("Tls", {}, { ca: t.string, cert: t.string, key: t.string }),
    handlers: strictObject("Handlers", {}, { shell: t.boolean, restartCommand: t.string }),
    engine: EngineSection,
    operations: OperationsSection,
    ...BUILTIN_CONFIG_PROPS,
  },
);
export type ConfigFile = t.TypeOf<typeof ConfigFileCodec>;

const ENGINE_KEYS = [
  ...Object.keys(ConfigInputCodec.props.required),
  ...Object.keys(ConfigInputCodec.props.optional),
];

/** Reads and strictly decodes a `--config` file; every problem is a `UsageError` naming the file. */
export const readConfigFile = (path: string): ConfigFile => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`cannot read config file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const decoded = decode(ConfigFileCodec, json);
  if (E.isLeft(decoded)) {
    // An engine option written at the top level is the likeliest mistake: say where it goes.
    const problems = decoded.left.map((p) =>
      ENGINE_KEYS.includes(p.path)
        ? { ...p, message: `"${p.path}" is an engine option: move it into "engine"` }
        : p,
    );
    throw new UsageError(`config file ${path}:\n${formatProblems(problems)}`);
  }
  return decoded.right;
};

/**
 * Decodes the engine configuration assembled from the config file and the flags; problems are
 * named `engine.<key>` when a config file was given (that is where the user wrote them).
 */
export const checkEngineConfig = (
  engine: Record<string, unknown>,
  configPath: string | undefined,
): EngineConfigInput => {
  const decoded = decode(ConfigInputCodec, engine);
  if (E.isRight(decoded)) return decoded.right;
  const prefix = configPath === undefined ? "" : "engine.";
  const where = configPath === undefined ? "" : ` (config file ${configPath})`;
  throw new UsageError(
    `invalid engine configuration${where}:\n${formatProblems(
      decoded.left.map((p) => ({ ...p, path: `${prefix}${p.path}` })),
    )}\nSee docs/configuration.md for every option.`,
  );
};

export type PemKind = "CA certificate" | "client certificate" | "client key";

/** Reads a PEM file and refuses, naming the file, one that cannot work as `kind`. */
export const readPemFile = (kind: PemKind, path: string): string => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${kind} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const problem = kind === "client key" ? privateKeyProblem(text) : certificateProblem(text);
  if (problem !== undefined) throw new UsageError(`${kind} ${path} ${problem}`);
  return text;
};

/** Refuses a key file that does not belong to the certificate file. */
export const checkKeyPair = (certPath: string, cert: string, keyPath: string, key: string): void => {
  const problem = keyMatchProblem(cert, key);
  if (problem !== undefined)
    throw new UsageError(`client key ${keyPath} ${problem.replace("the client certificate", certPath)}`);
};

/** Refuses TLS files on a URL that is not encrypted: they would silently never be used. */
export const checkTlsUrl = (url: string, files: readonly (readonly [string, string | undefined])[]): void => {
  const given = files.filter(([, path]) => path !== undefined);
  if (given.length === 0) return;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return; // the engine reports a malformed URL
  }
  if (protocol === "mqtts:" || protocol === "wss:" || protocol === "ssl:" || protocol === "tls:") return;
  throw new UsageError(
    `${given.map(([flagName, path]) => `${flagName} ${path}`).join(", ")}: ${url} is not encrypted, so certificates are never used: use mqtts://<host>:8883 (or wss://<host>/mqtt)`,
  );
};

/**
 * One warning per `C8Y_*` variable that is not read but is a typo away from one that is
 * (only a warning: other Cumulocity tools read `C8Y_*` variables of their own).
 */
export const envWarnings = (
  env: Readonly<Record<string, string | undefined>>,
  known: readonly string[],
): string[] => {
  const suffixes = known.map((name) => name.slice("C8Y_".length));
  return Object.keys(env)
    .filter((name) => name.startsWith("C8Y_") && !known.includes(name))
    .flatMap((name) => {
      const near = nearestName(name.slice("C8Y_".length), suffixes);
      return near === undefined ? [] : [`${name} is not read by c8ylink run: did you mean C8Y_${near}?`];
    });
};
