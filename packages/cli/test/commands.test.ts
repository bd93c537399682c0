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
      // Registration and operations went through the HTTP admin API with the access token.
      "admin[http] admin-register demo-pump-1: ok",
      "admin[http] admin-create-operation demo-pump-1: ok",
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
      [...login(tenant.mqttUrl), "--exit-on-eof", "--state-dir", tmp(), "--record", join(tmp(), "run.jsonl")],
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
    tenant.step({
      type: "admin-create-operation",
      deviceId: "cli-1",
      fragments: { c8y_Command: { text: "echo oops >&2; exit 3" } },
    });
    await waitFor(
      () => listOperations(tenant.state()).some((o) => o.status === "FAILED"),
      "the second operation to fail",
    );
    m.interrupt();
    expect(await running).toBe(0);
    const op = listOperations(tenant.state())[0]!;
    expect((op.fragments.c8y_Command as { result?: string }).result).toBe("hi from sh");
    const printed = JSON.parse(m.out.find((l) => l.startsWith("{"))!) as { operation: { fragment: string } };
    expect(printed.operation.fragment).toBe("c8y_Command");
    // Each operation's outcome is logged, with its key and the reason of a failure.
    expect(m.errors()).toMatch(/info {2}operation \S+ c8y_Command for cli-1: SUCCESSFUL/);
    expect(m.errors()).toMatch(/warn {2}operation \S+ c8y_Command for cli-1: FAILED: exit 3: oops/);
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
    const running = main(["run", "--exit-on-eof"], m.io);
    m.stdin.end("211,19.5\n");
    expect(await running).toBe(0);
    expect(listMeasurements(tenant.state(), "cli-1")).toHaveLength(1);
  });
});

describe("c8ylink sim and help", () => {
  /** Starts `c8ylink sim` on free ports; answers its banner's admin URL, token URL and token. */
  const startSim = async (argv: readonly string[] = [], env: Record<string, string> = {}) => {
    const m = memoryIo(env);
    const running = main(["sim", "--mqtt-port", "0", "--http-port", "0", ...argv], m.io);
    await waitFor(() => m.text().includes("Ctrl-C to stop") || m.errors() !== "", "the tenant to start");
    const admin = /admin API: (http:\/\/\S+)/.exec(m.text())?.[1] ?? "";
    const open = /open: +(http:\/\/\S+)/.exec(m.text())?.[1] ?? "";
    const token = new URL(open).searchParams.get("token") ?? "";
    return { m, running, admin, open, token };
  };

  it("starts the simulated tenant, prints its addresses and token URL, and stops on interrupt", async () => {
    const { m, running, admin, open, token } = await startSim(["--auto-accept"]);
    expect(open).toBe(`${admin}/?token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(m.text()).toContain(`curl -H "Authorization: Bearer ${token}" ${admin}/devices`);
    expect(m.errors()).toBe("");
    // No token: 401 saying where to find it; the bearer token from the banner: served.
    const refused = await fetch(`${admin}/devices`);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toContain("banner");
    expect((await fetch(`${admin}/devices`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
    // The banner's URL, opened as a browser does: a cookie, then the page's own requests.
    const opened = await fetch(open, { redirect: "manual" });
    expect(opened.status).toBe(303);
    const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const created = await fetch(`${admin}/registrations`, {
      method: "POST",
      headers: { cookie, origin: admin, "content-type": "application/json" },
      body: JSON.stringify({ deviceId: "cli-sim-1" }),
    });
    expect(created.status).toBe(201);
    // A cross-origin page cannot do the same with the cookie.
    const forged = await fetch(`${admin}/registrations`, {
      method: "POST",
      headers: { cookie, origin: "http://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ deviceId: "cli-sim-2" }),
    });
    expect(forged.status).toBe(403);
    m.interrupt();
    expect(await running).toBe(0);
    // The token is printed in the banner only; the timeline (registration, refusals) never has it.
    const withToken = m.out.filter((line) => line.includes(token));
    expect(withToken).toHaveLength(1);
    expect(withToken[0]).toMatch(/^simulated tenant ready/);
    expect(m.text()).toContain("admin[http] admin-register cli-sim-1: ok");
    expect(m.text()).toContain("admin refused GET /devices: 401 no-token");
    expect(m.text()).toContain("admin refused POST /registrations: 403 cross-origin");
  });

  it("takes the token from --token or C8YLINK_SIM_TOKEN, and refuses a weak one", async () => {
    const fromEnv = "env-token-0123456789abcdef";
    const fromFlag = "flag-token-0123456789abcdef";
    for (const [argv, env, expected, source] of [
      [[], { C8YLINK_SIM_TOKEN: fromEnv }, fromEnv, "from C8YLINK_SIM_TOKEN"],
      [["--token", fromFlag], { C8YLINK_SIM_TOKEN: fromEnv }, fromFlag, "from --token"],
    ] as const) {
      const { m, running, admin, token } = await startSim(argv, env);
      expect(token).toBe(expected);
      expect(m.text()).toContain(source);
      expect((await fetch(`${admin}/`, { headers: { authorization: `Bearer ${expected}` } })).status).toBe(
        200,
      );
      expect((await fetch(`${admin}/`, { headers: { authorization: `Bearer ${fromEnv}x` } })).status).toBe(
        401,
      );
      m.interrupt();
      expect(await running).toBe(0);
    }
    for (const [argv, env, message] of [
      [["--token", "short"], {}, "--token: an access token must be 16 to 256 characters"],
      [[], { C8YLINK_SIM_TOKEN: "has spaces in the token" }, "C8YLINK_SIM_TOKEN: an access token must"],
      [["--allow-host", "sim:8080"], {}, '--allow-host "sim:8080" is not a host name'],
    ] as const) {
      const m = memoryIo(env);
      expect(await main(["sim", "--mqtt-port", "0", "--http-port", "0", ...argv], m.io)).toBe(2);
      expect(m.errors()).toContain(message);
    }
  });

  it("applies --binary-limit to uploads (413 naming the limit) and refuses a malformed one", async () => {
    const { m, running, admin, token } = await startSim(["--binary-limit", "1:2"]);
    expect(m.text()).toContain("at most 1 MiB each");
    const upload = (bytes: number) =>
      fetch(`${admin}/inventory/binaries?name=x`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: Buffer.alloc(bytes),
      });
    expect((await upload(1024 * 1024)).status).toBe(201);
    const over = await upload(1024 * 1024 + 1);
    expect(over.status).toBe(413);
    expect(((await over.json()) as { message: string }).message).toContain("1048576 bytes");
    m.interrupt();
    expect(await running).toBe(0);
    for (const value of ["0", "x", "4:2", "1:"]) {
      const bad = memoryIo();
      expect(
        await main(["sim", "--mqtt-port", "0", "--http-port", "0", "--binary-limit", value], bad.io),
      ).toBe(2);
      expect(bad.errors()).toContain("--binary-limit must be MIB or MIB:TOTAL_MIB");
    }
  });

  it("warns that a non-loopback --host exposes the tenant, before binding", async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface: the warning comes first, then binding fails,
    // so nothing is ever exposed by this test.
    const m = memoryIo();
    const code = await main(["sim", "--host", "192.0.2.1", "--mqtt-port", "0", "--http-port", "0"], m.io);
    expect(code).toBe(1);
    expect(m.errors()).toMatch(/warning: --host 192\.0\.2\.1 is not a loopback address/);
    expect(m.errors()).toContain("--shell executes c8y_Command");
    expect(m.errors()).toContain("the default bootstrap password is public");
    expect(m.errors()).toContain("cannot start");
    // A loopback bind: no warning.
    const loopback = await startSim(["--host", "127.0.0.1"]);
    expect(loopback.m.errors()).toBe("");
    loopback.m.interrupt();
    expect(await loopback.running).toBe(0);
  });

  it.each(["demo", "run", "sim", "replay"])("prints help for %s", async (command) => {
    const m = memoryIo();
    expect(await main([command, "--help"], m.io)).toBe(0);
    expect(m.text()).toContain(`Usage: c8ylink ${command}`);
  });
});
