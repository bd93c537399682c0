/**
 * `c8ylink run` — a real device agent: one engine against a real tenant (or any broker),
 * configured by flags, `C8Y_*` environment variables and a config file (in that order of
 * precedence). SmartREST rows on stdin are sent as data; operations are printed as JSON
 * lines and executed by the configured handlers.
 */
import { execFile } from "node:child_process";
import { createInterface } from "node:readline";
import * as E from "fp-ts/lib/Either.js";
import { parseRows, type EngineConfigInput, type Report } from "@c8ylink/core";
import { createEngine, type Engine, type OperationHandler } from "@c8ylink/mqtt";
import { readStaticRow } from "@c8ylink/platform";
import { flag, parse, str, UsageError, type Parsed } from "../args.js";
import type { Io } from "../io.js";
import { outputFileProblem, stateDirProblem } from "../paths.js";
import {
  checkEngineConfig,
  checkKeyPair,
  checkTlsUrl,
  envWarnings,
  readConfigFile,
  readPemFile,
} from "../run-config.js";

export const RUN_HELP = `Usage: c8ylink run [options]

Runs a device agent against a Cumulocity tenant (or any MQTT broker).

Connection
  --url URL                  broker: mqtts://mqtt.<domain>:8883, mqtt://host:1883, wss://<domain>/mqtt   [C8Y_URL]
  --device-id ID             device serial / external id (no '/', '+', '#', ':')                         [C8Y_DEVICE_ID]
  --state-dir DIR            credentials, outbox and operation journal (crash-safe)                      [C8Y_STATE_DIR]
  --config FILE              JSON config file (see below)                                                [C8Y_CONFIG]
  --record FILE              write the event log (replay with 'c8ylink replay FILE')                     [C8Y_RECORD]

Credentials (one of)
  --tenant T --user U --password P         device user credentials            [C8Y_TENANT, C8Y_USER, C8Y_PASSWORD]
  --bootstrap-password P [--bootstrap-user U]
                                           request credentials (Step 0)       [C8Y_BOOTSTRAP_PASSWORD, C8Y_BOOTSTRAP_USER]
  --cert FILE --key FILE                   client certificate (mqtts only)    [C8Y_CERT, C8Y_KEY]
  --ca FILE                                extra trusted CA for the broker    [C8Y_CA]

Operations
  --shell                    execute c8y_Command operations with /bin/sh -c (result text = output)
  --restart-command CMD      run CMD for c8y_Restart (it completes as SUCCESSFUL after the reboot)
  --keep-running             keep running when stdin ends (default: flush, then exit)
  -h, --help                 this help

Data: each stdin line is a SmartREST static-template row, e.g.
  sensor | c8ylink run ...     with sensor printing   200,c8y_Temperature,T,21.5,C

Config file (JSON): { "url", "stateDir", "record", "tls": { "ca", "cert", "key" },
  "handlers": { "shell": true, "restartCommand": "..." }, "engine": { <engine config> } }
where "engine" takes every option of the engine configuration (deviceId, auth, children,
supportedOperations, inventory, outbox limits, backoff, ...). Unknown keys are refused.
Every engine option with its default, unit and purpose: docs/configuration.md.

Exit status: 0 stopped cleanly, 1 runtime failure, 2 usage or configuration error.`;

/** Everything `run` needs, resolved from flags > environment > config file. */
export interface RunSettings {
  readonly url: string;
  readonly stateDir: string | undefined;
  readonly record: string | undefined;
  readonly engineConfig: EngineConfigInput;
  readonly tls: { ca?: string; cert?: string; key?: string };
  readonly shell: boolean;
  readonly restartCommand: string | undefined;
  readonly keepRunning: boolean;
  /** Things worth saying that do not stop the start (a misspelt C8Y_* variable). */
  readonly warnings: readonly string[];
}

/** The environment variables `run` reads (see RUN_HELP). */
const RUN_ENV = [
  "C8Y_URL",
  "C8Y_DEVICE_ID",
  "C8Y_STATE_DIR",
  "C8Y_CONFIG",
  "C8Y_RECORD",
  "C8Y_TENANT",
  "C8Y_USER",
  "C8Y_PASSWORD",
  "C8Y_BOOTSTRAP_PASSWORD",
  "C8Y_BOOTSTRAP_USER",
  "C8Y_CERT",
  "C8Y_KEY",
  "C8Y_CA",
];

export const resolveSettings = (args: Parsed, env: Io["env"]): RunSettings => {
  const pick = (flagName: string, envName: string): string | undefined => str(args, flagName) ?? env[envName];
  const configPath = pick("config", "C8Y_CONFIG");
  const file = configPath === undefined ? {} : readConfigFile(configPath);
  const engine: Record<string, unknown> = { ...(file.engine ?? {}) };
  const deviceId = pick("device-id", "C8Y_DEVICE_ID");
  if (deviceId !== undefined) engine.deviceId = deviceId;
  if (engine.deviceId === undefined)
    throw new UsageError("missing --device-id (or C8Y_DEVICE_ID, or engine.deviceId in --config)");
  const url = pick("url", "C8Y_URL") ?? file.url;
  if (url === undefined) throw new UsageError("missing --url (or C8Y_URL, or url in --config)");

  const tenant = pick("tenant", "C8Y_TENANT");
  const user = pick("user", "C8Y_USER");
  const password = pick("password", "C8Y_PASSWORD");
  const bootstrapPassword = pick("bootstrap-password", "C8Y_BOOTSTRAP_PASSWORD");
  const bootstrapUser = pick("bootstrap-user", "C8Y_BOOTSTRAP_USER");
  const certPath = pick("cert", "C8Y_CERT") ?? file.tls?.cert;
  const keyPath = pick("key", "C8Y_KEY") ?? file.tls?.key;
  const caPath = pick("ca", "C8Y_CA") ?? file.tls?.ca;
  if (tenant !== undefined || user !== undefined || password !== undefined) {
    const missing = [
      ["--tenant", tenant],
      ["--user", user],
      ["--password", password],
    ].filter(([, v]) => v === undefined);
    if (missing.length > 0) {
      throw new UsageError(`password login needs ${missing.map(([n]) => n).join(" and ")} as well`);
    }
    engine.auth = { mode: "password", tenant, user, password };
  } else if (bootstrapPassword !== undefined) {
    engine.auth = {
      mode: "bootstrap",
      bootstrapPassword,
      ...(bootstrapUser === undefined ? {} : { bootstrapUser }),
    };
  } else if (certPath !== undefined || keyPath !== undefined) {
    if (certPath === undefined || keyPath === undefined)
      throw new UsageError("certificate login needs both --cert and --key");
    engine.auth = { mode: "certificate" };
  } else if (engine.auth === undefined) {
    throw new UsageError(
      "no credentials: give --tenant/--user/--password, --bootstrap-password, or --cert/--key (or engine.auth in --config)",
    );
  }
  const shell = flag(args, "shell") || file.handlers?.shell === true;
  const restartCommand = str(args, "restart-command") ?? file.handlers?.restartCommand;
  if (engine.supportedOperations === undefined) {
    engine.supportedOperations = [
      ...(shell ? ["c8y_Command"] : []),
      ...(restartCommand !== undefined ? ["c8y_Restart"] : []),
    ];
  }
  checkTlsUrl(url, [
    ["--ca", caPath],
    ["--cert", certPath],
    ["--key", keyPath],
  ]);
  const tls: RunSettings["tls"] = {};
  if (caPath !== undefined) tls.ca = readPemFile("CA certificate", caPath);
  if (certPath !== undefined) tls.cert = readPemFile("client certificate", certPath);
  if (keyPath !== undefined) tls.key = readPemFile("client key", keyPath);
  if (certPath !== undefined && keyPath !== undefined && tls.cert !== undefined && tls.key !== undefined)
    checkKeyPair(certPath, tls.cert, keyPath, tls.key);
  const stateDir = pick("state-dir", "C8Y_STATE_DIR") ?? file.stateDir;
  const record = pick("record", "C8Y_RECORD") ?? file.record;
  const pathProblem =
    (stateDir === undefined ? undefined : stateDirProblem("state directory", stateDir)) ??
    (record === undefined ? undefined : outputFileProblem("event log (--record)", record));
  if (pathProblem !== undefined) throw new UsageError(pathProblem);
  return {
    url,
    stateDir,
    record,
    engineConfig: checkEngineConfig(engine, configPath),
    tls,
    shell,
    restartCommand,
    keepRunning: flag(args, "keep-running"),
    warnings: envWarnings(env, RUN_ENV),
  };
};

const runProcess = (command: string, args: readonly string[], timeoutMs: number) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (error?.message ?? "")) });
    });
  });

const shellHandler: OperationHandler = async (op) => {
  if (op.template !== "511") return { status: "failed", reason: `unexpected ${op.fragment} line` };
  const result = await runProcess("/bin/sh", ["-c", op.text], 5 * 60_000);
  return result.code === 0
    ? { status: "successful", parameters: [result.stdout.trimEnd()] }
    : { status: "failed", reason: `exit ${result.code}: ${result.stderr.trim()}` };
};

const restartHandler =
  (command: string): OperationHandler =>
  async () => {
    const result = await runProcess("/bin/sh", ["-c", command], 60_000);
    if (result.code !== 0)
      return {
        status: "failed",
        reason: `restart command failed (exit ${result.code}): ${result.stderr.trim()}`,
      };
    // The device is going down; the core completes c8y_Restart as SUCCESSFUL after the reboot.
    return new Promise(() => {});
  };

/** Human-readable lines for the reports an operator needs to see. */
export const describeReport = (url: string, r: Report): string | undefined => {
  switch (r.kind) {
    case "phase":
      return `phase ${r.from} → ${r.to} (${r.reason})`;
    case "connect-refused":
      return `${url} refused the connection: ${r.meaning}; retrying in ${Math.round(r.retryInMs / 1000)} s`;
    case "connection-lost":
      return `cannot reach ${url}: ${r.cause}; retrying in ${Math.round(r.retryInMs / 1000)} s`;
    case "subscription-refused":
      return `subscription refused for ${r.topics.join(", ")}; retrying in ${Math.round(r.retryInMs / 1000)} s`;
    case "platform-error":
      return `platform error ${r.code} (${r.errorKind}) for ${r.reference ?? "?"}: ${r.text}`;
    case "rejected":
      return `rejected: ${r.reason}`;
    case "dropped":
      return `dropped ${r.class} row ${r.ref}: ${r.reason}`;
    case "credentials-received":
      return `received device credentials for ${r.tenant}/${r.user}`;
    case "credentials-discarded":
      return `discarded stored credentials: ${r.reason}`;
    case "operation-ignored":
      return `operation ignored (${r.reason}): ${r.raw.join(",")}`;
    case "operation-failed":
      return `operation ${r.key} ${r.fragment} failed: ${r.reason}`;
    case "invalid-input":
      return `invalid input from ${r.source}: ${r.reason}`;
    case "persist-failed":
      return `storage write failed: ${r.message}`;
    case "stopped":
      return `stopped (${r.undelivered} rows undelivered, kept in the state directory)`;
    default:
      return undefined;
  }
};

/** Sends stdin rows as data; resolves at end of input. */
const pipeStdin = async (engine: Engine, io: Io): Promise<void> => {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === "") continue;
    const rows = parseRows(line);
    if (E.isLeft(rows)) {
      io.err(`stdin:${lineNumber}: ${rows.left.message}`);
      continue;
    }
    for (const row of rows.right) {
      const message = readStaticRow(row);
      if (E.isLeft(message)) {
        io.err(`stdin:${lineNumber}: ${message.left.text} (template ${row[0] ?? ""})`);
        continue;
      }
      const result = engine.submit(message.right);
      if (!result.accepted) io.err(`stdin:${lineNumber}: rejected: ${result.reason}`);
    }
  }
};

export const runCommand = async (argv: readonly string[], io: Io): Promise<number> => {
  const args = parse("run", argv, {
    url: { type: "string" },
    "device-id": { type: "string" },
    "state-dir": { type: "string" },
    config: { type: "string" },
    record: { type: "string" },
    tenant: { type: "string" },
    user: { type: "string" },
    password: { type: "string" },
    "bootstrap-user": { type: "string" },
    "bootstrap-password": { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    ca: { type: "string" },
    shell: { type: "boolean" },
    "restart-command": { type: "string" },
    "keep-running": { type: "boolean" },
  });
  if (flag(args, "help")) {
    io.out(RUN_HELP);
    return 0;
  }
  const settings = resolveSettings(args, io.env);
  for (const warning of settings.warnings) io.err(`c8ylink run: warning: ${warning}`);
  let engine: Engine;
  try {
    engine = createEngine({
      config: settings.engineConfig,
      url: settings.url,
      ...(settings.stateDir === undefined ? {} : { stateDir: settings.stateDir }),
      ...(settings.record === undefined ? {} : { recordTo: settings.record }),
      tls: settings.tls,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  engine.onReport((r) => {
    const line = describeReport(settings.url, r);
    if (line !== undefined) io.err(line);
  });
  engine.onOperation((op, ctx) =>
    io.out(JSON.stringify({ key: ctx.key, deviceId: ctx.deviceId, operation: op })),
  );
  if (settings.shell) engine.handle("c8y_Command", shellHandler);
  if (settings.restartCommand !== undefined)
    engine.handle("c8y_Restart", restartHandler(settings.restartCommand));
  await engine.start();
  const piped = io.stdin.isTTY !== true;
  const input = piped ? pipeStdin(engine, io) : new Promise<void>(() => {});
  const endOfInput = input.then(async () => {
    if (settings.keepRunning) return new Promise<void>(() => {});
    await engine.whenDrained().catch(() => {});
  });
  await Promise.race([io.interrupted, endOfInput]);
  await engine.stop();
  return 0;
};
