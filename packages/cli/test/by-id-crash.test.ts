/**
 * Operations by id through a kill -9, over real TCP: the simulated tenant creates c8y_Command
 * operations through its admin API, the real `c8ylink run --shell` (a child process) receives
 * them as JSON on devicecontrol/notifications and sets their statuses by id (504/505/506 with
 * the operation's id). An operation whose command was running when the agent was killed is
 * not executed again after the restart: it ends FAILED with the restart reason.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { alive, childrenOf, killAll, startAgent, tmp } from "./process-support.js";

const DEVICE = "byid-crash-1";
const ONLINE = /phase \w+ → online/;
const RESTART_REASON = "c8ylink restarted while the operation was executing";

const tenants: SimulatedTenant[] = [];
const dirs: string[] = [];
/** The shell and its `sleep` the killed agent left behind (they outlive it: nothing kills them). */
const orphans: number[] = [];
afterEach(async () => {
  await killAll();
  for (const pid of orphans.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  for (const t of tenants.splice(0)) await t.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (): string => {
  const dir = tmp();
  dirs.push(dir);
  return dir;
};

const admin = async (tenant: SimulatedTenant, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${tenant.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tenant.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: (await res.json()) as unknown };
};

const createCommand = async (tenant: SimulatedTenant, text: string): Promise<string> => {
  const created = await admin(tenant, "POST", "/operations", {
    deviceId: DEVICE,
    fragments: { c8y_Command: { text } },
  });
  expect(created.status).toBe(201);
  return (created.body as StoredOperation).id;
};

const waitUntil = async (ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Polls GET /operations/<id> until the operation is SUCCESSFUL or FAILED. */
const terminal = async (tenant: SimulatedTenant, id: string, what: string): Promise<StoredOperation> => {
  let op: StoredOperation | undefined;
  await waitUntil(async () => {
    const got = await admin(tenant, "GET", `/operations/${id}`);
    op = got.body as StoredOperation;
    return got.status === 200 && (op.status === "SUCCESSFUL" || op.status === "FAILED");
  }, what);
  if (op === undefined) throw new Error(`no operation ${id}`);
  return op;
};

const markerLines = (path: string): string[] => {
  try {
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  } catch {
    return [];
  }
};

/** Pids of the agent's children whose command line mentions `text` (the running shell). */
const childrenRunning = (pid: number, text: string): number[] =>
  childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, "utf8").includes(text);
    } catch {
      return false;
    }
  });

describe("operations by id through kill -9 of c8ylink run", () => {
  it("executes each exactly once, ends the interrupted one FAILED and sets every status by id", async () => {
    const tenant = await startSimulatedTenant({
      platform: { users: [{ username: `device_${DEVICE}`, password: `pw-${DEVICE}` }] },
    });
    tenants.push(tenant);
    const dir = tempDir();
    const marker = join(dir, "marker");
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        engine: {
          backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 },
          stopDeadlineMs: 3_000,
          settleMs: 200,
        },
      }),
    );
    const args = [
      "run",
      "--url",
      tenant.mqttUrl,
      "--device-id",
      DEVICE,
      "--tenant",
      "t100",
      "--user",
      `device_${DEVICE}`,
      "--password",
      `pw-${DEVICE}`,
      "--config",
      config,
      "--state-dir",
      join(dir, "state"),
      "--shell",
    ];

    // A first life creates the device. Its session runs without ids: the tenant refuses every
    // subscription, devicecontrol/notifications included, while the device does not exist yet
    // (spec §2.5), and the engine then takes operations from s/ds for that session.
    const creating = startAgent(args);
    await creating.waitFor(ONLINE);
    creating.child.kill("SIGTERM");
    expect((await creating.exited).code).toBe(0);

    const first = startAgent(args);
    await first.waitFor(ONLINE);
    const interrupted = await createCommand(tenant, `echo run >> ${marker}; sleep 30`);
    // The line in the marker file: the command is executing.
    await waitUntil(() => markerLines(marker).length === 1, "the first command to start");
    const shells = childrenRunning(first.pid, "sleep 30");
    expect(shells).toHaveLength(1);
    orphans.push(...shells.flatMap((shell) => [shell, ...childrenOf(shell)]));
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = startAgent(args);
    await second.waitFor(ONLINE);
    const failed = await terminal(tenant, interrupted, "the interrupted operation to end");
    expect(failed.status).toBe("FAILED");
    expect(failed.history.map((h) => h.status)).toEqual(["PENDING", "EXECUTING", "FAILED"]);
    expect(failed.history.map((h) => h.cause)).toEqual([
      "admin-create-operation",
      `504,${interrupted}`,
      `505,${interrupted},${RESTART_REASON}`,
    ]);
    // Never executed twice: the restarted agent did not run the command again.
    expect(markerLines(marker)).toEqual(["run"]);

    const next = await createCommand(tenant, `echo second >> ${marker}`);
    const done = await terminal(tenant, next, "the second operation to end");
    expect(done.status).toBe("SUCCESSFUL");
    expect(done.history.map((h) => h.cause)).toEqual([
      "admin-create-operation",
      `504,${next}`,
      // The shell's output is the result parameter: empty, the line went to the marker file.
      `506,${next},`,
    ]);
    expect(markerLines(marker)).toEqual(["run", "second"]);
    // The interrupted one stayed as it ended: no later status for it.
    const again = await admin(tenant, "GET", `/operations/${interrupted}`);
    expect((again.body as StoredOperation).history).toHaveLength(3);

    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  }, 90_000);
});
