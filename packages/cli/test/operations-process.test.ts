/**
 * Issue 12, end to end over real TCP: operations created through the simulated tenant's admin
 * API are executed by handlers declared in the real `c8ylink run`'s config file (a child
 * process). A c8y_Command runs its program with the text as one argument; a c8y_Firmware update
 * downloads from the tenant's binary repository (the real HTTP transfer, device credentials), flashes, "reboots" (the test kills the agent with SIGKILL when the restart command
 * runs, and starts it again on the same state dir), verifies and ends SUCCESSFUL exactly once,
 * with the new firmware reported (115); a checksum mismatch ends FAILED with the reason.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { killAll, startAgent, tmp } from "./process-support.js";

const ONLINE = /phase \w+ → online/;
const IMAGE = Buffer.from("firmware image 2.0 for the test\n".repeat(1000));
const IMAGE_SHA = createHash("sha256").update(IMAGE).digest("hex");

const tenants: SimulatedTenant[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const t of tenants.splice(0)) await t.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Uploads the image to the tenant's binary repository; returns the URL a device downloads it from. */
const repositoryImage = async (
  tenant: SimulatedTenant,
  name: string,
  body: Buffer = IMAGE,
): Promise<string> => {
  const res = await fetch(
    `${tenant.adminUrl}/inventory/binaries?name=${name}&type=application/octet-stream`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.adminToken}`, "content-type": "application/octet-stream" },
      body,
      signal: AbortSignal.timeout(5_000),
    },
  );
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  return `${tenant.adminUrl}/inventory/binaries/${id}`;
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

const createOperation = async (
  tenant: SimulatedTenant,
  deviceId: string,
  fragments: Record<string, unknown>,
): Promise<string> => {
  const created = await admin(tenant, "POST", "/operations", { deviceId, fragments });
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

const lines = (path: string): string[] =>
  existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];

/** A tenant with the device user, a scratch dir, and the `run` arguments for `device`. */
const setup = async (
  device: string,
  operations: (dir: string) => unknown,
  builtins: (dir: string) => Record<string, unknown> = () => ({}),
  mode: "by-id" | "static" = "by-id",
) => {
  const tenant = await startSimulatedTenant({
    platform: { users: [{ username: `device_${device}`, password: `pw-${device}` }] },
  });
  tenants.push(tenant);
  const dir = tmp();
  dirs.push(dir);
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      engine: {
        backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 },
        stopDeadlineMs: 3_000,
        settleMs: 200,
        operations: mode,
      },
      http: { url: tenant.adminUrl },
      operations: operations(dir),
      ...builtins(dir),
    }),
  );
  const args = [
    "run",
    "--url",
    tenant.mqttUrl,
    "--device-id",
    device,
    "--tenant",
    "t100",
    "--user",
    `device_${device}`,
    "--password",
    `pw-${device}`,
    "--config",
    config,
    "--state-dir",
    join(dir, "state"),
  ];
  // A first life creates the device: the tenant refuses devicecontrol/notifications until it
  // exists, and operations by id need that subscription.
  const creating = startAgent(args);
  await creating.waitFor(ONLINE);
  creating.child.kill("SIGTERM");
  expect((await creating.exited).code).toBe(0);
  return { tenant, dir, args };
};

/** `sh -c SCRIPT sh ARGS…`: the script is fixed text, the operation's fields arrive as "$1"… */
const sh = (script: string, ...args: string[]) => ["/bin/sh", "-c", script, "sh", ...args];

const firmwareSteps = (dir: string, sha256: string) => ({
  steps: [
    { download: "{url}", to: "firmware.bin", sha256 },
    {
      run: sh(
        'cp "$1" "$2" && echo "flash $3" >> "$4"',
        "{workDir}/firmware.bin",
        join(dir, "installed.bin"),
        "{version}",
        join(dir, "log"),
      ),
    },
    { restart: sh('echo reboot >> "$1" && touch "$2"', join(dir, "log"), join(dir, "rebooting")) },
    {
      run: sh(
        'cmp -s "$1" "$2" && echo "verify $3" >> "$4" && echo "$3"',
        join(dir, "installed.bin"),
        join(dir, "downloaded-copy"),
        "{version}",
        join(dir, "log"),
      ),
      result: { parameters: "stdout-lines" },
    },
  ],
  report: "firmware",
});

describe("declared operation handlers in c8ylink run (real process, simulated tenant)", () => {
  it("runs a c8y_Command with its text as one argument and reports the output by id", async () => {
    const device = "ops-cmd-1";
    const { tenant, args } = await setup(device, () => ({
      c8y_Command: {
        run: [process.execPath, "-e", "console.log(JSON.stringify(process.argv.slice(1)))", "{text}"],
        result: { parameters: "stdout" },
      },
    }));
    const agent = startAgent(args);
    await agent.waitFor(ONLINE);
    const text = "hello; rm -rf / $(id)";
    const id = await createOperation(tenant, device, { c8y_Command: { text } });
    const done = await terminal(tenant, id, "the command to end");
    expect(done.status, agent.output()).toBe("SUCCESSFUL");
    expect(done.history.map((h) => h.cause)).toEqual([
      "admin-create-operation",
      `504,${id}`,
      `506,${id},"[""${text}""]"`,
    ]);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  }, 90_000);

  it.each(["by-id", "static"] as const)(
    "updates firmware across a kill -9 'reboot' (%s): SUCCESSFUL exactly once, verify once, 115 reported",
    async (mode) => {
      const device = `ops-fw-${mode}`;
      const { tenant, dir, args } = await setup(
        device,
        (d) => ({ c8y_Firmware: firmwareSteps(d, IMAGE_SHA) }),
        () => ({}),
        mode,
      );
      const url = await repositoryImage(tenant, "core-image-2.0.1");
      writeFileSync(join(dir, "downloaded-copy"), IMAGE); // what verify compares the flashed image with
      const first = startAgent(args);
      await first.waitFor(ONLINE);
      const id = await createOperation(tenant, device, {
        c8y_Firmware: { name: "core-image", version: "2.0.1", url },
      });
      // The restart command ran: the device "reboots" now, with no chance to write anything more.
      await waitUntil(() => existsSync(join(dir, "rebooting")), "the restart step", 60_000);
      first.child.kill("SIGKILL");
      expect((await first.exited).signal).toBe("SIGKILL");
      const mid = await admin(tenant, "GET", `/operations/${id}`);
      expect((mid.body as StoredOperation).status).toBe("EXECUTING");

      const second = startAgent(args);
      await second.waitFor(ONLINE);
      const done = await terminal(tenant, id, "the firmware update to end");
      expect(done.status, second.output()).toBe("SUCCESSFUL");
      expect(done.history.map((h) => h.status)).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
      expect(done.history.at(-1)?.cause).toBe(
        mode === "by-id" ? `506,${id},2.0.1` : "503,c8y_Firmware,2.0.1",
      );
      expect(lines(join(dir, "log"))).toEqual(["flash 2.0.1", "reboot", "verify 2.0.1"]);
      expect(readFileSync(join(dir, "installed.bin")).equals(IMAGE)).toBe(true);
      // The installed firmware is reported on the device (115).
      await waitUntil(async () => {
        const got = await admin(tenant, "GET", `/devices/${device}`);
        return JSON.stringify(got.body).includes('"version":"2.0.1"');
      }, "the firmware report");
      const mo = await admin(tenant, "GET", `/devices/${device}`);
      expect(JSON.stringify(mo.body)).toContain(
        JSON.stringify({ name: "core-image", version: "2.0.1", url }),
      );
      // The progress file goes once the status is durable and delivered.
      await waitUntil(
        () => readdirSync(join(dir, "state", "operations")).length === 0,
        "the progress file to be removed",
      );
      second.child.kill("SIGTERM");
      expect((await second.exited).code).toBe(0);
      // Nothing more happened to it after the end.
      const after = await admin(tenant, "GET", `/operations/${id}`);
      expect((after.body as StoredOperation).history).toHaveLength(3);
    },
    120_000,
  );

  it("resumes a device profile whose firmware part reboots: firmware continues, then its configuration part, SUCCESSFUL once", async () => {
    const device = "ops-profile-1";
    const { tenant, dir, args } = await setup(
      device,
      (d) => ({ c8y_Firmware: firmwareSteps(d, IMAGE_SHA) }),
      (d) => ({ configuration: { agent: { path: join(d, "agent.conf") } }, deviceProfile: true }),
    );
    writeFileSync(join(dir, "downloaded-copy"), IMAGE);
    const firmwareUrl = await repositoryImage(tenant, "core-image-3.0");
    const configUrl = await repositoryImage(tenant, "agent.conf", Buffer.from("mode=profile\n"));
    const first = startAgent(args);
    await first.waitFor(ONLINE);
    const id = await createOperation(tenant, device, {
      c8y_DeviceProfile: {
        firmware: { name: "core-image", version: "3.0", url: firmwareUrl },
        software: [],
        configuration: [{ type: "agent", url: configUrl }],
      },
    });
    await waitUntil(() => existsSync(join(dir, "rebooting")), "the restart step", 60_000);
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(existsSync(join(dir, "agent.conf"))).toBe(false); // the configuration part comes after

    const second = startAgent(args);
    await second.waitFor(ONLINE);
    const done = await terminal(tenant, id, "the device profile to end");
    expect(done.status, second.output()).toBe("SUCCESSFUL");
    expect(done.history.map((h) => h.status)).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
    expect(lines(join(dir, "log"))).toEqual(["flash 3.0", "reboot", "verify 3.0"]);
    expect(readFileSync(join(dir, "agent.conf"), "utf8")).toBe("mode=profile\n");
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  }, 120_000);

  it("ends a firmware update FAILED with the reason on a checksum mismatch, before flashing", async () => {
    const device = "ops-fw-2";
    const wrong = "0".repeat(64);
    const { tenant, dir, args } = await setup(device, (d) => ({ c8y_Firmware: firmwareSteps(d, wrong) }));
    const url = await repositoryImage(tenant, "core-image-2.0.2");
    const agent = startAgent(args);
    await agent.waitFor(ONLINE);
    const id = await createOperation(tenant, device, {
      c8y_Firmware: { name: "core-image", version: "2.0.2", url },
    });
    const done = await terminal(tenant, id, "the firmware update to fail");
    expect(done.status).toBe("FAILED");
    expect(done.failureReason).toMatch(/^step 1 \(download to firmware\.bin\): .*(checksum|SHA-256)/i);
    expect(done.failureReason).toContain(wrong);
    expect(lines(join(dir, "log"))).toEqual([]);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  }, 90_000);

  it("refuses at start a restart step without a state dir, naming the key", async () => {
    const dir = tmp();
    dirs.push(dir);
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ operations: { c8y_Firmware: firmwareSteps(dir, IMAGE_SHA) } }));
    const agent = startAgent([
      "run",
      "--url",
      "mqtt://127.0.0.1:1",
      "--device-id",
      "d",
      "--tenant",
      "t",
      "--user",
      "u",
      "--password",
      "p",
      "--config",
      config,
    ]);
    const exit = await agent.exited;
    expect(exit.code).toBe(2);
    expect(agent.stderr.join("\n")).toContain(
      "operations.c8y_Firmware.steps[2].restart: a restart step needs --state-dir",
    );
  }, 30_000);
});
