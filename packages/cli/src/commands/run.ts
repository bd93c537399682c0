/**
 * `c8ylink run` — a real device agent: one engine against a real tenant (or any broker),
 * configured by flags, `C8Y_*` environment variables and a config file (in that order of
 * precedence). SmartREST rows on stdin are sent as data; operations are printed as JSON
 * lines and executed by the configured handlers.
 *
 * It runs as a service (until SIGTERM/SIGINT, whatever stdin does) unless `--exit-on-eof`
 * asks for pipe mode (flush and exit at the end of stdin).
 */
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as t from "io-ts";
import { type EngineConfigInput, type Report } from "@c8ylink/core";
import { createEngine, type Engine, type OperationHandler } from "@c8ylink/mqtt";
import { flag, int, parse, str, UsageError, type Parsed } from "../args.js";
import type { Io } from "../io.js";
import { createLogger, LOG_FORMATS, type LogFormat, type Logger } from "../log.js";
import {
  DEFAULT_MAX_UNDURABLE_ROWS,
  MIN_MAX_UNDURABLE_ROWS,
  readRows,
  type RowReader,
} from "../stdin-rows.js";
import { outputFileProblem, stateDirProblem } from "../paths.js";
import {
  builtinFragments,
  builtinHttpUrl,
  builtinInventory,
  createBuiltins,
  type BuiltinConfig,
} from "../operations/builtin/index.js";
import {
  checkEngineConfig,
  checkKeyPair,
  checkTlsUrl,
  envWarnings,
  readConfigFile,
  readPemFile,
} from "../run-config.js";
import type { OperationsConfig } from "../operations/codec.js";
import { resolveOperations, withOperationOptions } from "../operations/settings.js";
import { declaredHandlers } from "../operations/handlers.js";
import { fileProgressStore } from "../operations/progress.js";
import { downloadsFiles } from "../operations/codec.js";
import { tenantHttpUrl } from "../transfer/config.js";
import { createHttpTransfer } from "../transfer/http-transfer.js";
import type { Transfer } from "../transfer/types.js";

export const RUN_HELP = `Usage: c8ylink run [options]

Runs a device agent against a Cumulocity tenant (or any MQTT broker).

Connection
  --url URL                  broker: mqtts://mqtt.<domain>:8883, mqtt://host:1883, wss://<domain>/mqtt   [C8Y_URL]
  --device-id ID             device serial / external id (no '/', '+', '#', ':')                         [C8Y_DEVICE_ID]
  --state-dir DIR            credentials, outbox and operation journal (crash-safe)                      [C8Y_STATE_DIR]
  --config FILE              JSON config file (see below)                                                [C8Y_CONFIG]
  --record FILE              append this run's event log to FILE (replay with 'c8ylink replay FILE')     [C8Y_RECORD]

Credentials (one of)
  --tenant T --user U --password P         device user credentials            [C8Y_TENANT, C8Y_USER, C8Y_PASSWORD]
  --bootstrap-password P [--bootstrap-user U]
                                           request credentials (Step 0)       [C8Y_BOOTSTRAP_PASSWORD, C8Y_BOOTSTRAP_USER]
  --cert FILE --key FILE                   client certificate (mqtts only)    [C8Y_CERT, C8Y_KEY]
  --ca FILE                                extra trusted CA for the broker    [C8Y_CA]

Operations
  --shell                    execute c8y_Command operations with /bin/sh -c (result text = output)
  --restart-command CMD      run CMD for c8y_Restart (it completes as SUCCESSFUL after the reboot)

Process
  --exit-on-eof              pipe mode: when stdin ends, flush and exit (default: service mode, keep
                             running until SIGTERM/SIGINT whether stdin ends, is /dev/null or closed;
                             a terminal on stdin is read only in pipe mode)
  --keep-running             service mode (the default; kept for older scripts)
  --log-format text|json     log lines on stderr: text with a timestamp (default), or one JSON object per line
  --max-undurable-rows N     rows read from stdin but not yet durable, at most (default ${DEFAULT_MAX_UNDURABLE_ROWS}):
                             reading pauses until the storage has written them
  -h, --help                 this help

  SIGTERM or SIGINT stops cleanly: the outbox is flushed for up to engine.stopDeadlineMs
  (default 10 s), the event log is closed, "stopped: ..." is the last line, exit status 0.
  A second signal forces the exit (status 130 / 143). A state dir is locked while an agent
  uses it (<dir>/lock) and bound to its device id (<dir>/device.json): a second agent on it,
  or another device id, is refused (exit status 1).

Data: each stdin line is a SmartREST static-template row, e.g.
  sensor | c8ylink run ... --state-dir DIR     with sensor printing   200,c8y_Temperature,T,21.5,C
Rows are durable once written to --state-dir; without --state-dir they are held in memory
and lost when the process ends.

Config file (JSON): { "url", "stateDir", "record", "tls": { "ca", "cert", "key" },
  "handlers": { "shell": true, "restartCommand": "..." }, "engine": { <engine config> },
  "operations": { "<fragment>": <handler> }, "http", "configuration", "logs", "software",
  "deviceProfile" (operation handlers: docs/operations.md) }
where "engine" takes every option of the engine configuration (deviceId, auth, children,
supportedOperations, inventory, outbox limits, backoff, ...). Unknown keys are refused.
Every engine option with its default, unit and purpose: docs/configuration.md. Operation handlers
(a command, or download/run/restart steps that survive a reboot): docs/operations.md.

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
  /** Declared operation handlers (docs/operations.md). */
  readonly operations: OperationsConfig;
  /** The built-in handlers' config (docs/operations.md) and the tenant's HTTP URL they use. */
  readonly builtins: BuiltinConfig;
  readonly httpUrl: string | undefined;
  /** Pipe mode: flush and exit at the end of stdin. */
  readonly exitOnEof: boolean;
  readonly logFormat: LogFormat;
  readonly maxUndurableRows: number;
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
      ...builtinFragments(file),
    ];
  }
  const stateDir = pick("state-dir", "C8Y_STATE_DIR") ?? file.stateDir;
  const operations = resolveOperations(
    file.operations,
    { configPath, stateDir },
    { shell, restartCommand },
    builtinFragments(file),
  );
  withOperationOptions(engine, operations, file);
  const inventory = builtinInventory(file);
  if (Object.keys(inventory).length > 0)
    engine.inventory = { ...inventory, ...(t.UnknownRecord.is(engine.inventory) ? engine.inventory : {}) };
  const http =
    builtinHttpUrl(file, url) ?? (downloadsFiles(operations) ? tenantHttpUrl(file.http, url) : undefined);
  if (http !== undefined && "problem" in http) throw new UsageError(http.problem);
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
    operations,
    builtins: file,
    httpUrl: http?.url,
    exitOnEof: flag(args, "exit-on-eof"),
    logFormat: logFormatOf(args),
    maxUndurableRows: maxUndurableOf(args),
    warnings: envWarnings(env, RUN_ENV),
  };
};

const logFormatOf = (args: Parsed): LogFormat => {
  const value = str(args, "log-format") ?? "text";
  const format = LOG_FORMATS.find((f) => f === value);
  if (format === undefined)
    throw new UsageError(`--log-format must be ${LOG_FORMATS.join(" or ")} (got ${JSON.stringify(value)})`);
  return format;
};

const maxUndurableOf = (args: Parsed): number => {
  const value = int(args, "max-undurable-rows") ?? DEFAULT_MAX_UNDURABLE_ROWS;
  if (value < MIN_MAX_UNDURABLE_ROWS)
    throw new UsageError(`--max-undurable-rows must be at least ${MIN_MAX_UNDURABLE_ROWS} (got ${value})`);
  return value;
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

/** Log lines for the reports an operator needs to see (undefined: not worth a line). */
export const describeReport = (
  url: string,
  r: Report,
): { readonly level: "info" | "warn" | "error"; readonly message: string } | undefined => {
  const retry = (ms: number) => `retrying in ${(ms / 1000).toFixed(1)} s`;
  switch (r.kind) {
    case "phase":
      return { level: "info", message: `phase ${r.from} → ${r.to} (${r.reason})` };
    case "connect-refused":
      return {
        level: "warn",
        message: `${url} refused the connection: ${r.meaning}; ${retry(r.retryInMs)}`,
      };
    case "connection-lost":
      return { level: "warn", message: `cannot reach ${url}: ${r.cause}; ${retry(r.retryInMs)}` };
    case "subscription-refused":
      return {
        level: "warn",
        message: `subscription refused for ${r.topics.join(", ")}; ${retry(r.retryInMs)}`,
      };
    case "platform-error":
      return {
        level: "warn",
        message: `platform error ${r.code} (${r.errorKind}) for ${r.reference ?? "?"}: ${r.text}`,
      };
    case "rejected":
      return { level: "warn", message: `rejected: ${r.reason}` };
    case "dropped":
      return { level: "warn", message: `dropped ${r.class} row ${r.ref}: ${r.reason}` };
    case "credentials-received":
      return {
        level: "info",
        message: `registration accepted: received device credentials for ${r.tenant}/${r.user}`,
      };
    case "credentials-discarded":
      return { level: "warn", message: `discarded stored credentials: ${r.reason}` };
    case "operation-ignored":
      return { level: "warn", message: `operation ignored (${r.reason}): ${r.raw.join(",")}` };
    case "operation-failed":
      return { level: "warn", message: `operation ${r.key} ${r.fragment}: FAILED: ${r.reason}` };
    case "invalid-input":
      return { level: "warn", message: `invalid input from ${r.source}: ${r.reason}` };
    case "persist-failed":
      return { level: "error", message: `storage write failed: ${r.message}` };
    case "outbox-storage":
      return { level: "error", message: `queued ${r.class} rows in storage: ${r.problem}` };
    case "stopped":
    case "accepted":
    case "delivered":
    case "token":
    case "downstream":
      return undefined;
  }
};

/** The last line of a run: what happened to the rows that were not delivered. */
export const describeStop = (undelivered: number, stateDir: string | undefined): string =>
  undelivered === 0
    ? "stopped: every queued row delivered"
    : stateDir === undefined
      ? `stopped: ${undelivered} rows undelivered and lost (no --state-dir: they were held in memory)`
      : `stopped: ${undelivered} rows undelivered, kept in ${stateDir} for the next start`;

const REGISTRATION_HINT = "(Device management → Registration)";

/** Reports as log lines, with the one-time hints an operator needs. */
const logReports = (engine: Engine, settings: RunSettings, deviceId: string, log: Logger): void => {
  let toldRegistration = false;
  engine.onReport((r) => {
    if (r.kind === "phase" && r.to === "bootstrapping" && !toldRegistration) {
      toldRegistration = true;
      log.info(
        `waiting for the registration of ${deviceId} to be accepted ${REGISTRATION_HINT}: ` +
          `register the id ${deviceId} there (if not yet done) and accept the request it shows`,
        { event: "registration-waiting", deviceId },
      );
    }
    const line = describeReport(settings.url, r);
    if (line !== undefined) log[line.level](line.message, { event: r.kind, report: r });
  });
};

/** Operation handlers that log each outcome; fragments without one are logged as failed. */
const installHandlers = (
  engine: Engine,
  settings: RunSettings,
  io: Io,
  log: Logger,
  handlers: Map<string, OperationHandler>,
): void => {
  if (settings.shell) handlers.set("c8y_Command", shellHandler);
  if (settings.restartCommand !== undefined)
    handlers.set("c8y_Restart", restartHandler(settings.restartCommand));
  engine.onOperation((op, ctx) => {
    io.out(JSON.stringify({ key: ctx.key, deviceId: ctx.deviceId, operation: op }));
    const resumed = ctx.resumed ? " (resumed after a restart)" : "";
    log.info(`operation ${ctx.key} ${op.fragment} for ${ctx.deviceId}: EXECUTING${resumed}`, {
      event: "operation",
      key: ctx.key,
      fragment: op.fragment,
      deviceId: ctx.deviceId,
      status: "EXECUTING",
      resumed: ctx.resumed,
    });
    if (!handlers.has(op.fragment)) {
      const reason = `no handler registered for ${op.fragment} in this device`;
      log.warn(`operation ${ctx.key} ${op.fragment} for ${ctx.deviceId}: FAILED: ${reason}`, {
        event: "operation",
        key: ctx.key,
        fragment: op.fragment,
        deviceId: ctx.deviceId,
        status: "FAILED",
        reason,
      });
    }
  });
  for (const [fragment, handler] of handlers) {
    engine.handle(fragment, async (op, ctx) => {
      const fields = { event: "operation", key: ctx.key, fragment, deviceId: ctx.deviceId };
      try {
        const outcome = await handler(op, ctx);
        if (outcome.status === "successful")
          log.info(`operation ${ctx.key} ${fragment} for ${ctx.deviceId}: SUCCESSFUL`, {
            ...fields,
            status: "SUCCESSFUL",
          });
        else
          log.warn(`operation ${ctx.key} ${fragment} for ${ctx.deviceId}: FAILED: ${outcome.reason}`, {
            ...fields,
            status: "FAILED",
            reason: outcome.reason,
          });
        return outcome;
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        log.warn(`operation ${ctx.key} ${fragment} for ${ctx.deviceId}: FAILED: ${reason}`, {
          ...fields,
          status: "FAILED",
          reason,
        });
        throw e;
      }
    });
  }
};

/** Stdin rows into the engine, with a progress line at most every second while rows flow. */
const startReading = (engine: Engine, settings: RunSettings, io: Io, log: Logger): RowReader => {
  const reader = readRows(engine, io.input, {
    maxUndurable: settings.maxUndurableRows,
    onBadLine: (line, message) => log.warn(`stdin:${line}: ${message}`, { event: "bad-line", line }),
    onNotDurable: (message) => log.error(`stdin rows not durable: ${message}`, { event: "not-durable" }),
  });
  let last = "";
  const where = settings.stateDir === undefined ? "in memory only" : `in ${settings.stateDir}`;
  const report = (): void => {
    const p = reader.progress();
    if (p.lines === 0) return;
    const text = `stdin: ${p.accepted} rows accepted of ${p.lines} lines; durable ${where} up to line ${p.durableLine} (${p.accepted - p.durable - p.notDurable} not yet)`;
    if (text === last) return;
    last = text;
    log.info(text, { event: "stdin-progress", ...p });
  };
  const timer = setInterval(report, 1000);
  void reader.done.finally(() => {
    clearInterval(timer);
    report();
  });
  return reader;
};

/** How often ended operations' progress files are looked for (a readdir of a small directory). */
const PROGRESS_SWEEP_MS = 5_000;

/** Where step handlers keep their progress and files: in the state dir, else a temporary dir. */
const operationsDir = (stateDir: string | undefined): string =>
  stateDir === undefined ? join(tmpdir(), `c8ylink-operations-${process.pid}`) : join(stateDir, "operations");

/** The declared handlers' transfer when none downloads (never called: see `downloadsFiles`). */
const noTransfer: Transfer = {
  download: () => Promise.resolve({ ok: false, reason: "no tenant HTTP URL configured", retryable: false }),
  uploadEventBinary: () =>
    Promise.resolve({ ok: false, reason: "no tenant HTTP URL configured", retryable: false }),
};

/** A promise that never settles (a mode that does not stop by itself). */
const never = new Promise<never>(() => {});

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
    "exit-on-eof": { type: "boolean" },
    "log-format": { type: "string" },
    "max-undurable-rows": { type: "string" },
  });
  if (flag(args, "help")) {
    io.out(RUN_HELP);
    return 0;
  }
  // Taken now: a signal during the start is then a clean stop right after it.
  const interrupted = io.interrupted;
  if (flag(args, "keep-running") && flag(args, "exit-on-eof"))
    throw new UsageError("--keep-running and --exit-on-eof contradict each other: give one");
  const settings = resolveSettings(args, io.env);
  const log = createLogger(io.err, settings.logFormat);
  for (const warning of settings.warnings) io.err(`c8ylink run: warning: ${warning}`);
  let engine: Engine;
  let fault: (error: Error) => void = () => {};
  const faulted = new Promise<Error>((resolve) => (fault = resolve));
  try {
    engine = createEngine({
      onFault: (error) => fault(error),
      config: settings.engineConfig,
      url: settings.url,
      ...(settings.stateDir === undefined ? {} : { stateDir: settings.stateDir }),
      ...(settings.record === undefined ? {} : { recordTo: settings.record, recordMode: "append" as const }),
      tls: settings.tls,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { deviceId, seed, stopDeadlineMs } = engine.state().config;
  let undelivered = 0;
  engine.onReport((r) => {
    if (r.kind === "stopped") undelivered = r.undelivered;
  });
  logReports(engine, settings, deviceId, log);
  // One transfer for the declared and the built-in handlers: same tenant, credentials, attempts.
  const httpTransfer =
    settings.httpUrl === undefined
      ? undefined
      : createHttpTransfer({
          tenantUrl: settings.httpUrl,
          credentials: () => engine.tenantCredentials(),
          ...(settings.builtins.http?.attempts === undefined
            ? {}
            : { attempts: settings.builtins.http.attempts }),
        });
  const transfer = httpTransfer ?? noTransfer;
  const declared = declaredHandlers(engine, settings.operations, {
    progress: fileProgressStore(operationsDir(settings.stateDir)),
    transfer,
    env: io.env,
  });
  const handlers = new Map<string, OperationHandler>(declared.handlers);
  let builtinsAtStart: () => Promise<string | undefined> = () => Promise.resolve(undefined);
  if (httpTransfer !== undefined) {
    let builtins;
    try {
      builtins = await createBuiltins(settings.builtins, {
        deviceId,
        transfer: httpTransfer,
        submit: (message, options) => engine.submit(message, options),
        stateDir: settings.stateDir,
        lookup: (fragment) => handlers.get(fragment),
      });
    } catch (e) {
      log.error(`cannot start: ${e instanceof Error ? e.message : String(e)}`, { event: "start-failed" });
      return 1;
    }
    for (const [fragment, handler] of builtins.handlers) handlers.set(fragment, handler);
    builtinsAtStart = builtins.atStart;
  }
  installHandlers(engine, settings, io, log, handlers);
  if (settings.stateDir === undefined)
    log.warn(
      "no --state-dir: credentials, queued rows and the operation journal are held in memory only " +
        "and lost when the process ends; give --state-dir DIR to keep them across restarts",
      { event: "memory-only" },
    );
  try {
    await engine.start();
  } catch (e) {
    log.error(`cannot start: ${e instanceof Error ? e.message : String(e)}`, { event: "start-failed" });
    return 1;
  }
  // Progress files of operations that ended before the last stop (the journal says which).
  declared.sweep();
  const sweeper = setInterval(() => declared.sweep(), PROGRESS_SWEEP_MS);
  const mode = settings.exitOnEof
    ? "pipe mode: exits at the end of stdin"
    : "service mode: runs until SIGTERM/SIGINT";
  log.info(
    `started: device ${deviceId}, broker ${settings.url}, state ${settings.stateDir ?? "in memory"}, seed ${seed} (${mode})`,
    {
      event: "started",
      deviceId,
      url: settings.url,
      stateDir: settings.stateDir ?? null,
      seed,
      pid: process.pid,
    },
  );

  void builtinsAtStart().then((problem) => {
    if (problem !== undefined) log.warn(problem, { event: "builtin-start" });
  });

  // A terminal is read only in pipe mode: a service on a terminal takes no rows from it.
  const reading = settings.exitOnEof || !io.input.isTTY;
  const reader = reading ? startReading(engine, settings, io, log) : null;
  const endOfInput: Promise<"end of input"> =
    reader === null
      ? never
      : reader.done.then(() => {
          if (settings.exitOnEof) return "end of input" as const;
          log.info("stdin ended: still running (service mode; --exit-on-eof exits at the end of input)", {
            event: "stdin-ended",
          });
          return never;
        });
  const reason = await Promise.race([interrupted, endOfInput, faulted]);
  clearInterval(sweeper);
  reader?.stop();
  if (reason instanceof Error) {
    log.error(`the engine stopped working: ${reason.message}`, { event: "fault" });
    await engine.stop().catch(() => {});
    const rows =
      settings.stateDir === undefined
        ? "rows not yet delivered are lost (held in memory)"
        : `rows written to ${settings.stateDir} are sent at the next start`;
    log.error(`stopped after the fault: ${rows}`, { event: "stopped" });
    return 1;
  }
  if (reason === "end of input") {
    log.info(`end of input: flushing for up to ${stopDeadlineMs / 1000} s`, { event: "stopping", reason });
    await engine.whenDrained(stopDeadlineMs).catch(() => {});
  } else {
    log.info(
      `${reason}: stopping, flushing for up to ${stopDeadlineMs / 1000} s (${reason} again forces the exit)`,
      { event: "stopping", reason },
    );
  }
  // The core bounds the stop by stopDeadlineMs; this guards the storage and log writes after it.
  const guardMs = stopDeadlineMs + 10_000;
  let guard: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    engine.stop().then(() => true),
    new Promise<false>((resolve) => (guard = setTimeout(() => resolve(false), guardMs))),
  ]);
  clearTimeout(guard);
  if (!stopped) {
    log.error(`the stop did not finish within ${guardMs / 1000} s: exiting without a clean stop`, {
      event: "stop-timeout",
    });
    return 1;
  }
  log.info(describeStop(undelivered, settings.stateDir), { event: "stopped", undelivered });
  return 0;
};
