/* global setTimeout */
/**
 * Runs an embedding example (a TypeScript file, e.g. the one in docs/embedding.md) as its
 * own process against a simulated tenant, like a user's agent: the example gets the
 * tenant's URL and a bootstrap password through C8Y_* variables, must bootstrap, send its
 * measurement and execute a c8y_Command, and must exit 0 on SIGTERM. Prints one JSON line
 * with what happened; exits 1 when a step did not happen within its deadline.
 *
 * Usage: node [--conditions=source --import tsx] run-embedding-example.js <example.ts>
 * It imports @c8ylink/sim and @c8ylink/platform from wherever it is placed, so it works in
 * the workspace and in a project that installed the packed tarballs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listMeasurements, listOperations } from "@c8ylink/platform";
import { startSimulatedTenant } from "@c8ylink/sim";

const example = process.argv[2];
if (example === undefined) {
  console.error("usage: run-embedding-example.js <example.ts>");
  process.exit(2);
}
const DEVICE = "embedding-example-1";
const BOOTSTRAP_PASSWORD = "example-bootstrap-secret";
const COMMAND_TEXT = "echo hello from the tenant";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const waitFor = async (what, ready, timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
};

const dir = mkdtempSync(join(tmpdir(), "c8ylink-example-"));
const tenant = await startSimulatedTenant({
  platform: { autoAccept: true, bootstrapPassword: BOOTSTRAP_PASSWORD },
});
tenant.step({ type: "admin-register", deviceId: DEVICE });

// The example runs with tsx (resolved from here) and this process's conditions (the
// workspace resolves packages to their sources with --conditions=source).
const conditions = process.execArgv.filter((a) => a.startsWith("--conditions"));
const child = spawn(process.execPath, [...conditions, "--import", import.meta.resolve("tsx"), example], {
  env: {
    ...process.env,
    C8Y_URL: tenant.mqttUrl,
    C8Y_DEVICE_ID: DEVICE,
    C8Y_BOOTSTRAP_PASSWORD: BOOTSTRAP_PASSWORD,
    C8Y_STATE_DIR: join(dir, "state"),
    C8Y_RECORD: join(dir, "events.jsonl"),
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let stdout = "";
let stderr = "";
child.stdout.on("data", (d) => (stdout += d));
child.stderr.on("data", (d) => (stderr += d));
let exit = null;
const exited = new Promise((resolve) =>
  child.on("exit", (code, signal) => {
    exit = { code, signal };
    resolve();
  }),
);

const outcome = { steps: [], measurements: [], operation: null, exit: null, stdout: "", stderr: "" };
let failure = null;
try {
  const alive = () => {
    if (exit !== null) throw new Error(`the example exited early (${JSON.stringify(exit)})`);
  };
  await waitFor(
    "the example's measurement",
    () => (alive(), listMeasurements(tenant.state(), DEVICE).length > 0),
    60_000,
  );
  outcome.measurements = listMeasurements(tenant.state(), DEVICE).map((m) => m.fragments ?? m);
  outcome.steps.push("measurement");
  tenant.step({
    type: "admin-create-operation",
    deviceId: DEVICE,
    fragments: { c8y_Command: { text: COMMAND_TEXT } },
  });
  const done = () =>
    listOperations(tenant.state(), { deviceId: DEVICE }).find(
      (o) => o.status === "SUCCESSFUL" || o.status === "FAILED",
    );
  await waitFor("the c8y_Command operation to end", () => (alive(), done() !== undefined), 30_000);
  const op = done();
  outcome.operation = {
    status: op.status,
    result: op.fragments.c8y_Command?.result ?? null,
    failureReason: op.failureReason ?? null,
  };
  outcome.steps.push("operation");
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(20_000)]);
  outcome.steps.push("stopped");
} catch (e) {
  failure = e instanceof Error ? e.message : String(e);
} finally {
  if (exit === null) {
    child.kill("SIGKILL");
    await exited;
  }
  outcome.exit = exit;
  outcome.stdout = stdout;
  outcome.stderr = stderr;
  await tenant.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ ...outcome, failure }));
process.exit(failure === null ? 0 : 1);
