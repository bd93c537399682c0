/**
 * `c8ylink demo` — the main job: a device's whole life against an embedded simulated
 * tenant, printed as a live timeline, then a summary of what the tenant holds, the event
 * logs written, and their replay checked.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { parseLog, replay, type Report } from "@c8ylink/core";
import { createEngine, type Engine, type EngineConfigInput, type OperationHandler } from "@c8ylink/mqtt";
import {
  listAlarms,
  listDevices,
  listEvents,
  listMeasurements,
  listOperations,
  type PlatformState,
} from "@c8ylink/platform";
import { formatLogEntry, startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { flag, int, parse, str, UsageError } from "../args.js";
import type { Io } from "../io.js";
import { outputFileProblem, stateDirProblem } from "../paths.js";
import { describeReport } from "./run.js";

export const DEMO_HELP = `Usage: c8ylink demo [--record FILE] [--state-dir DIR] [--timeout SECONDS] [--quiet]

Starts a simulated Cumulocity tenant on 127.0.0.1 and runs one device through its whole
life against it, printing a live timeline:

  Step 0  bootstrap: the device asks for credentials on s/ucr; the registration is
          auto-accepted; 70,<tenant>,<user>,<password> arrives on s/dcr; stored; reconnect
  Step 1  100 (device), Step 2  101 for two children, the second nested on s/us/<parent>
  Step 3  subscriptions (s/ds, s/e), the SUBACK gate, inventory (114, 117, 110, 122), 500
  Step A  measurements, events, an alarm raised and cleared
  Step B  c8y_Command, c8y_Configuration and c8y_Restart operations executed and reported
          (the restart really restarts the engine: it completes as SUCCESSFUL from the
          operation journal after the "reboot")

The registration and the operations go through the tenant's HTTP admin API with its
access token, as a script would send them (Authorization: Bearer).

Then prints what the tenant holds, writes the event logs and replays them.

  --record FILE      event log of the first engine life (default ./c8ylink-demo.events.jsonl;
                     the life after the restart goes to FILE with .after-restart before .jsonl)
  --state-dir DIR    engine state directory (default: a temporary directory, removed after)
  --timeout SECONDS  give up after this long (default 60)
  --quiet            no timeline, only the summary
  --stay             keep the tenant and its web page open after the demo, until Ctrl-C
  -h, --help         this help

The tenant's web page (device tree, live charts, operations, alarms, registrations) is at the
"web page:" address printed at the start; it carries this run's access token.`;

const DEVICE = "demo-pump-1";
const VALVE = "demo-pump-1-valve";
const SENSOR = "demo-pump-1-valve-sensor";
const BOOTSTRAP_PASSWORD = "demo-bootstrap-secret";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const clock = (atMs: number): string => new Date(atMs).toISOString().slice(11, 23);

/**
 * One call to the tenant's admin API the way a script makes it: over HTTP, with the access
 * token as a bearer header. Answers the parsed body, or throws with the API's own error.
 */
const adminApi = async (
  tenant: SimulatedTenant,
  method: string,
  path: string,
  body: unknown,
): Promise<unknown> => {
  const res = await fetch(`${tenant.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${tenant.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch {
    // not JSON: reported as text below
  }
  if (!res.ok) {
    const error = (answer as { error?: unknown } | null)?.error;
    throw new Error(`admin API ${method} ${path}: ${res.status} ${typeof error === "string" ? error : text}`);
  }
  return answer;
};

/** Polls `ready` until it holds; throws `what` after the deadline. */
const waitFor = async (ready: () => boolean, deadline: number, what: string): Promise<void> => {
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
};

const engineConfig: EngineConfigInput = {
  deviceId: DEVICE,
  device: { name: "Demo pump", type: "c8ylink_DemoPump" },
  auth: { mode: "bootstrap", bootstrapPassword: BOOTSTRAP_PASSWORD },
  children: [
    { id: VALVE, name: "Valve", type: "c8ylink_Valve" },
    { id: SENSOR, name: "Valve sensor", type: "c8ylink_Sensor", parent: VALVE },
  ],
  supportedOperations: ["c8y_Restart", "c8y_Command", "c8y_Configuration"],
  inventory: {
    requiredIntervalMinutes: 10,
    hardware: { serialNumber: DEVICE, model: "DP-1", revision: "A" },
    agent: { name: "c8ylink", version: "0.1.0", maintainer: "c8ylink" },
  },
  bootstrapPollMs: 500,
  backoff: { floorMs: 200, capMs: 2_000, stableMs: 10_000 },
  seed: 7,
};

/** The demo's command interpreter: a tiny, safe subset (no shell). */
const commandHandler: OperationHandler = async (op) => {
  if (op.template !== "511") return { status: "failed", reason: "not a c8y_Command line" };
  const text = op.text.trim();
  if (text.startsWith("echo ")) return { status: "successful", parameters: [text.slice(5)] };
  if (text === "uptime") return { status: "successful", parameters: [`${Math.round(process.uptime())} s`] };
  return {
    status: "failed",
    reason: `the demo only runs "echo …" and "uptime", not ${JSON.stringify(text)}`,
  };
};

const summary = (state: PlatformState, engineCounters: string[]): string[] => {
  const lines: string[] = ["", "What the tenant holds", "─────────────────────"];
  const devices = listDevices(state);
  const byExternal = new Map(devices.map((d) => [d.externalId, d]));
  const tree = (externalId: string, depth: number): void => {
    const d = byExternal.get(externalId);
    if (d === undefined) return;
    const counts = [
      `${listMeasurements(state, d.externalId).length} measurements`,
      `${listEvents(state, d.externalId).length} events`,
      `${listAlarms(state, d.externalId).length} alarms`,
    ].join(", ");
    lines.push(`${"  ".repeat(depth + 1)}${d.name} [${d.externalId}] ${d.type}: ${counts}`);
    for (const child of d.children) tree(child, depth + 1);
  };
  lines.push("Devices (c8y_Serial external ids):");
  for (const root of devices.filter((d) => d.parent === null)) tree(root.externalId, 0);
  const root = byExternal.get(DEVICE);
  if (root !== undefined) {
    const f = root.fragments as Record<string, unknown>;
    lines.push(`Inventory of ${DEVICE}:`);
    for (const key of [
      "c8y_SupportedOperations",
      "c8y_RequiredAvailability",
      "c8y_Hardware",
      "c8y_Agent",
      "c8y_Configuration",
    ]) {
      if (f[key] !== undefined) lines.push(`  ${key}: ${JSON.stringify(f[key])}`);
    }
  }
  lines.push("Alarms:");
  for (const a of listAlarms(state))
    lines.push(`  ${a.type} ${a.severity} ${a.status} (raised ${a.count}×): ${a.text}`);
  lines.push("Operations (status history):");
  for (const op of listOperations(state)) {
    const fragment = Object.keys(op.fragments).find((k) => k.startsWith("c8y_")) ?? "?";
    const history = op.history.map((h) => h.status).join(" → ");
    const result =
      op.status === "FAILED"
        ? ` — ${op.failureReason ?? ""}`
        : fragment === "c8y_Command"
          ? ` — result ${JSON.stringify((op.fragments.c8y_Command as { result?: unknown } | undefined)?.result ?? null)}`
          : "";
    lines.push(`  #${op.id} ${fragment} on ${op.externalId}: ${history}${result}`);
  }
  lines.push("Engine counters:", ...engineCounters.map((l) => `  ${l}`));
  return lines;
};

export const demoCommand = async (argv: readonly string[], io: Io): Promise<number> => {
  const args = parse("demo", argv, {
    record: { type: "string" },
    "state-dir": { type: "string" },
    timeout: { type: "string" },
    quiet: { type: "boolean" },
    stay: { type: "boolean" },
  });
  if (flag(args, "help")) {
    io.out(DEMO_HELP);
    return 0;
  }
  const quiet = flag(args, "quiet");
  const deadline = Date.now() + (int(args, "timeout") ?? 60) * 1000;
  const recordFirst = resolve(str(args, "record") ?? "c8ylink-demo.events.jsonl");
  const recordSecond = recordFirst.replace(/(\.jsonl)?$/, ".after-restart.jsonl");
  const givenStateDir = str(args, "state-dir");
  const pathProblem =
    (givenStateDir === undefined ? undefined : stateDirProblem("--state-dir", givenStateDir)) ??
    outputFileProblem("--record", recordFirst) ??
    outputFileProblem("--record", recordSecond);
  if (pathProblem !== undefined) throw new UsageError(pathProblem);
  const stateDir = givenStateDir ?? mkdtempSync(join(tmpdir(), "c8ylink-demo-"));
  const line = (text: string) => {
    if (!quiet) io.out(text);
  };

  let tenant: SimulatedTenant | null = null;
  const engines: Engine[] = [];
  const counters: string[] = [];
  try {
    io.out("c8ylink demo — one device against an embedded simulated Cumulocity tenant");
    tenant = await startSimulatedTenant({
      platform: { autoAccept: true, bootstrapPassword: BOOTSTRAP_PASSWORD, tenantId: "t100" },
      onLog: (entry) => line(`${formatLogEntry(entry)}`),
    });
    const t = tenant;
    // Like the banner of `c8ylink sim`, the one line that carries the token (the timeline never does).
    io.out(`web page: ${t.adminUrl}/?token=${t.adminToken}`);
    await adminApi(t, "POST", "/registrations", { deviceId: DEVICE });

    let restartRequested = false;
    const startLife = async (life: number, recordTo: string): Promise<Engine> => {
      const engine = createEngine({ config: engineConfig, url: t.mqttUrl, stateDir, recordTo });
      engine.onReport((r: Report) => {
        const text = describeReport(t.mqttUrl, r);
        if (text !== undefined) line(`${clock(Date.now())} device[life ${life}] ${text}`);
      });
      engine.onOperation((op, ctx) =>
        line(
          `${clock(Date.now())} device[life ${life}] executing ${op.fragment} (${ctx.key}) for ${ctx.deviceId}`,
        ),
      );
      engine.handle("c8y_Command", commandHandler);
      engine.handle("c8y_Configuration", async (op) => {
        if (op.template !== "513") return { status: "failed", reason: "not a c8y_Configuration line" };
        // Apply, then report the configuration now in effect (113) before success.
        engine.submit({ template: "113", configuration: op.config });
        return { status: "successful" };
      });
      engine.handle("c8y_Restart", () => {
        line(
          `${clock(Date.now())} device[life ${life}] restarting: the engine stops and starts again on the same state directory`,
        );
        restartRequested = true;
        return new Promise(() => {}); // the "reboot" is the execution; the journal completes it
      });
      engines.push(engine);
      await engine.start();
      await engine.whenOnline(Math.max(1, deadline - Date.now()));
      return engine;
    };

    const first = await startLife(1, recordFirst);

    // Step A: data for the device and its children.
    const submit = (...args: Parameters<Engine["submit"]>) => {
      const r = first.submit(...args);
      if (!r.accepted) throw new Error(`demo submission refused: ${r.reason}`);
    };
    for (const value of [21.4, 21.9, 22.3]) {
      submit({ template: "200", fragment: "c8y_Temperature", series: "T", value, unit: "C" });
    }
    submit({
      template: "201",
      type: "c8ylink_PumpReading",
      series: [
        { fragment: "c8y_Flow", series: "F", value: 12.5, unit: "l/min" },
        { fragment: "c8y_Pressure", series: "P", value: 2.1, unit: "bar" },
      ],
    });
    submit(
      { template: "200", fragment: "c8y_Pressure", series: "P", value: 2.4, unit: "bar" },
      { child: VALVE },
    );
    submit({ template: "212", battery: 87 }, { child: SENSOR });
    submit({ template: "400", type: "c8ylink_Started", text: 'Pump started, "eco" mode' });
    submit({ template: "302", type: "c8ylink_ValveStuck", text: "Valve does not close" }, { child: VALVE });
    await first.whenDrained(Math.max(1, deadline - Date.now()));
    submit({ template: "306", type: "c8ylink_ValveStuck" }, { child: VALVE });
    await first.whenDrained(Math.max(1, deadline - Date.now()));

    // Step B: operations created by an administrator.
    const create = async (fragments: Record<string, unknown>, description: string): Promise<string> => {
      const operation = await adminApi(t, "POST", "/operations", {
        deviceId: DEVICE,
        fragments,
        description,
      });
      const id = (operation as { id?: unknown } | null)?.id;
      if (typeof id !== "string")
        throw new Error(`could not create ${description}: no operation id in the answer`);
      return id;
    };
    const terminal = (id: string) => {
      const op = listOperations(t.state()).find((o) => o.id === id);
      return op !== undefined && (op.status === "SUCCESSFUL" || op.status === "FAILED");
    };
    const command = await create({ c8y_Command: { text: "echo hello from c8ylink" } }, "Run a command");
    const configuration = await create(
      { c8y_Configuration: { config: "interval=10\nmode=eco" } },
      "Send configuration",
    );
    await waitFor(
      () => terminal(command) && terminal(configuration),
      deadline,
      "command and configuration operations",
    );
    const restart = await create({ c8y_Restart: {} }, "Restart the device");
    await waitFor(() => restartRequested, deadline, "the restart to be handed to the device");
    counters.push(`life 1: ${JSON.stringify(first.counters())}`);
    await first.stop();
    const second = await startLife(2, recordSecond);
    await waitFor(() => terminal(restart), deadline, "the restart operation to complete");
    await second.whenDrained(Math.max(1, deadline - Date.now()));
    counters.push(`life 2: ${JSON.stringify(second.counters())}`);
    await second.stop();

    for (const l of summary(t.state(), counters)) io.out(l);

    // The event logs replay exactly.
    io.out("\nEvent logs");
    let diverged = false;
    for (const path of [recordFirst, recordSecond]) {
      const log = parseLog(readFileSync(path, "utf8"));
      const result = log.header === null ? E.left("no header") : replay(log.header, log.steps);
      const verdict = E.isLeft(result)
        ? `cannot replay: ${result.left}`
        : result.right.divergence === null
          ? `${log.steps.length} steps, replay: no divergence`
          : `replay diverges at step ${result.right.divergence.seq}`;
      if (E.isLeft(result) || result.right.divergence !== null || log.problems.length > 0) diverged = true;
      io.out(`  ${path}: ${verdict}`);
    }
    io.out(`  replay them yourself: npm run c8ylink -- replay ${recordFirst} --summary`);
    const ops = listOperations(t.state());
    const ok = ops.length === 3 && ops.every((o) => o.status === "SUCCESSFUL") && !diverged;
    io.out(
      ok
        ? "\ndemo finished: every operation SUCCESSFUL, every log replays"
        : "\ndemo finished with problems (see above)",
    );
    if (flag(args, "stay")) {
      io.out(`the tenant stays open: web page ${t.adminUrl}/?token=${t.adminToken} (Ctrl-C to stop)`);
      await io.interrupted;
    }
    return ok ? 0 : 1;
  } catch (e) {
    io.err(`c8ylink demo: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    for (const engine of engines) await engine.stop().catch(() => {});
    await tenant?.close();
    if (givenStateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
  }
};
