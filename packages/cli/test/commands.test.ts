/**
 * The c8ylink command end to end, in-process, against the embedded simulated tenant over
 * real TCP on 127.0.0.1: the demo, the run agent (stdin pipe, shell handler, refusals,
 * unreachable broker), the sim command, and usage errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterEach, describe, expect, it } from "vitest";
import { parseLog, replay } from "@c8ylink/core";
import { listMeasurements, listEvents, listOperations } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const tenants: SimulatedTenant[] = [];
afterEach(async () => {
  for (const t of tenants.splice(0)) await t.close();
});

const tenantWithUser = async () => {
  const tenant = await startSimulatedTenant({
    platform: { users: [{ username: "device_cli-1", password: "pw-1" }] },
  });
  tenants.push(tenant);
  return tenant;
};

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1));
    });
  });

const tmp = () => mkdtempSync(join(tmpdir(), "c8ylink-cli-"));

describe("c8ylink demo", () => {
  it("runs the whole lifecycle, every operation ends SUCCESSFUL and both logs replay", async () => {
    const record = join(tmp(), "demo.events.jsonl");
    const m = memoryIo();
    const code = await main(["demo", "--record", record, "--timeout", "50"], m.io);
    expect(m.errors()).toBe("");
    expect(code).toBe(0);
    const text = m.text();
    for (const expected of [
      "CONNECT demo-pump-1 as management/devicebootstrap",
      "← s/dcr",
      "101,demo-pump-1-valve-sensor",
      "→ s/us/demo-pump-1-valve",
      "c8y_Command on demo-pump-1: PENDING → EXECUTING → SUCCESSFUL",
      "c8y_Restart on demo-pump-1: PENDING → EXECUTING → SUCCESSFUL",
      "replay: no divergence",
      "demo finished: every operation SUCCESSFUL",
    ]) {
      expect(text).toContain(expected);
    }
    for (const path of [record, record.replace(/\.jsonl$/, ".after-restart.jsonl")]) {
      const log = parseLog(readFileSync(path, "utf8"));
      expect(log.problems).toEqual([]);
      const result = replay(log.header!, log.steps);
      expect(E.isRight(result) && result.right.divergence).toBeNull();
      expect(readFileSync(path, "utf8")).not.toContain("demo-bootstrap-secret");
    }
  });
});

describe("c8ylink run", () => {
  /** Engine settings no test here is about: a short 500 answer window (default 5 s). */
  const fastConfig = (): string => {
    const path = join(tmp(), "fast.json");
    writeFileSync(path, JSON.stringify({ engine: { settleMs: 100 } }));
    return path;
  };
  const login = (url: string) => [
    "run",
    "--config",
    fastConfig(),
    "--url",
    url,
    "--device-id",
    "cli-1",
    "--tenant",
    "t100",
    "--user",
    "device_cli-1",
    "--password",
    "pw-1",
  ];

  it("sends SmartREST rows from stdin, reports bad lines with their number, then flushes and exits", async () => {
    const tenant = await tenantWithUser();
    const m = memoryIo();
    const running = main(
      [...login(tenant.mqttUrl), "--state-dir", tmp(), "--record", join(tmp(), "run.jsonl")],
      m.io,
    );
    m.stdin.write(
      "200,c8y_Temperature,T,21.5,C\n400,c8y_Door,opened\n200,c8y_Temperature,T,not-a-number\n999,x\n",
    );
    m.stdin.end("201,t,,c8y_A,a,1,,c8y_B,b,2\n");
    expect(await running).toBe(0);
    expect(listMeasurements(tenant.state(), "cli-1")).toHaveLength(2);
    expect(listEvents(tenant.state(), "cli-1").map((e) => e.type)).toEqual(["c8y_Door"]);
    expect(m.errors()).toContain("stdin:3: Value is not a NUMBER: not-a-number (template 200)");
    expect(m.errors()).toContain("stdin:4: No static template for this message id (template 999)");
  });

  it("executes c8y_Command with --shell and prints operations as JSON lines", async () => {
    const tenant = await tenantWithUser();
    const m = memoryIo();
    const running = main([...login(tenant.mqttUrl), "--shell", "--keep-running"], m.io);
    await waitFor(() => m.errors().includes("→ online"), "the agent to be online");
    tenant.step({
      type: "admin-create-operation",
      deviceId: "cli-1",
      fragments: { c8y_Command: { text: "echo hi from sh" } },
    });
    await waitFor(
      () => listOperations(tenant.state()).some((o) => o.status === "SUCCESSFUL"),
      "the operation to succeed",
    );
    m.interrupt();
    expect(await running).toBe(0);
    const op = listOperations(tenant.state())[0]!;
    expect((op.fragments.c8y_Command as { result?: string }).result).toBe("hi from sh");
    const printed = JSON.parse(m.out.find((l) => l.startsWith("{"))!) as { operation: { fragment: string } };
    expect(printed.operation.fragment).toBe("c8y_Command");
  });

  it("explains refused credentials with the CONNACK meaning", async () => {
    const tenant = await tenantWithUser();
    const m = memoryIo();
    const args = login(tenant.mqttUrl);
    args[args.length - 1] = "wrong";
    const running = main([...args, "--keep-running"], m.io);
    await waitFor(() => m.errors().includes("refused the connection"), "the refusal");
    m.interrupt();
    expect(await running).toBe(0);
    expect(m.errors()).toContain(
      `${tenant.mqttUrl} refused the connection: CONNACK 4 (bad user name or password)`,
    );
  });

  it("names the URL of an unreachable broker", async () => {
    const url = `mqtt://127.0.0.1:${await closedPort()}`;
    const m = memoryIo();
    const running = main([...login(url), "--keep-running"], m.io);
    await waitFor(() => m.errors().includes("cannot reach"), "the connection error");
    m.interrupt();
    expect(await running).toBe(0);
    expect(m.errors()).toContain(`cannot reach ${url}: connect ECONNREFUSED`);
  });

  it.each([
    [["run", "--frobnicate"], "Unknown option '--frobnicate'"],
    [["run", "--url", "mqtt://x"], "missing --device-id"],
    [
      ["run", "--url", "mqtt://x", "--device-id", "a/b", "--tenant", "t", "--user", "u", "--password", "p"],
      "deviceId: device id contains '/'",
    ],
    [
      ["run", "--url", "mqtt://x", "--device-id", "d", "--tenant", "t"],
      "password login needs --user and --password as well",
    ],
    [["run", "--url", "mqtt://x", "--device-id", "d"], "no credentials"],
    [
      ["run", "--url", "http://x", "--device-id", "d", "--tenant", "t", "--user", "u", "--password", "p"],
      "unsupported protocol http:",
    ],
    [["run", "--config", "/nonexistent.json"], "cannot read config file /nonexistent.json"],
  ])("refuses %j with a clear message", async (argv, expected) => {
    const m = memoryIo();
    expect(await main(argv, m.io)).toBe(2);
    expect(m.errors()).toContain(expected);
  });

  it("reads flags from C8Y_* environment variables", async () => {
    const tenant = await tenantWithUser();
    const m = memoryIo({
      C8Y_URL: tenant.mqttUrl,
      C8Y_DEVICE_ID: "cli-1",
      C8Y_TENANT: "t100",
      C8Y_USER: "device_cli-1",
      C8Y_PASSWORD: "pw-1",
    });
    const running = main(["run"], m.io);
    m.stdin.end("211,19.5\n");
    expect(await running).toBe(0);
    expect(listMeasurements(tenant.state(), "cli-1")).toHaveLength(1);
  });
});

describe("c8ylink sim and help", () => {
  it("starts the simulated tenant, prints its addresses, and stops on interrupt", async () => {
    const m = memoryIo();
    const running = main(["sim", "--mqtt-port", "0", "--http-port", "0", "--auto-accept"], m.io);
    await waitFor(() => m.text().includes("Ctrl-C to stop"), "the tenant to start");
    const admin = /admin API: (http:\/\/\S+)/.exec(m.text())?.[1];
    const response = await fetch(`${admin}/devices`);
    expect(response.status).toBe(200);
    m.interrupt();
    expect(await running).toBe(0);
  });

  it.each(["demo", "run", "sim", "replay"])("prints help for %s", async (command) => {
    const m = memoryIo();
    expect(await main([command, "--help"], m.io)).toBe(0);
    expect(m.text()).toContain(`Usage: c8ylink ${command}`);
  });
});
