/**
 * A device that logs in with a certificate has no password for the REST API: it uploads with
 * the JWT it got on `s/dat` (`Authorization: Bearer`). End to end over real TCP: the real
 * `c8ylink sim --tls` (a child process: local CA, mqtts, REST on its HTTP port) and the real
 * `c8ylink run --cert/--key` executing a c8y_LogfileRequest created through the admin API; the
 * upload's URL ends up on the tenant's operation and serves the log lines.
 */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { BIN, killAll, startAgent, tmp, type AgentProcess } from "./process-support.js";

const DEVICE = "cert-files-1";
const ONLINE = /phase \w+ → online/;

let dir: string;
let sim: AgentProcess;
let agent: AgentProcess | undefined;
let adminUrl: string;
let adminToken: string;

const admin = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(path.startsWith("http") ? path : `${adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? null : (JSON.parse(text) as unknown);
  } catch {
    // a binary's bytes: kept as text
  }
  return { status: res.status, body: parsed };
};

const waitForStdout = async (p: AgentProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = p.stdout.join("\n");
    if (pattern.test(text)) return text;
    if (p.done() || Date.now() > deadline)
      throw new Error(`no ${String(pattern)} from the sim\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  dir = tmp();
  const ca = join(dir, "ca");
  const issued = spawnSync(process.execPath, [BIN, "sim", "--tls", ca, "--issue-cert", DEVICE], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(issued.status, issued.stderr).toBe(0);
  sim = startAgent([
    "sim",
    "--mqtt-port",
    "0",
    "--http-port",
    "0",
    "--mqtts-port",
    "0",
    "--tls",
    ca,
    "--quiet",
  ]);
  const banner = await waitForStdout(sim, /Ctrl-C to stop/);
  const mqttsUrl = /TLS: +(mqtts:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] ?? "";
  adminUrl = /admin API: +(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] ?? "";
  adminToken = /Authorization: Bearer ([^"]+)"/.exec(banner)?.[1] ?? "";
  expect({ mqttsUrl, adminUrl, token: adminToken !== "" }).toEqual({
    mqttsUrl: expect.stringMatching(/^mqtts:/),
    adminUrl: expect.stringMatching(/^http:/),
    token: true,
  });
  const log = join(dir, "app.log");
  writeFileSync(
    log,
    ["2026-01-01T10:00:00Z INFO boot", "2026-01-01T11:00:00Z ERROR disk full", ""].join("\n"),
  );
  const config = join(dir, "run.json");
  writeFileSync(
    config,
    JSON.stringify({
      http: { url: adminUrl, attempts: 3 },
      logs: { app: { file: log } },
      engine: { backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 }, stopDeadlineMs: 3_000 },
    }),
  );
  const args = [
    "run",
    "--url",
    mqttsUrl,
    "--device-id",
    DEVICE,
    "--cert",
    join(ca, `${DEVICE}.pem`),
    "--key",
    join(ca, `${DEVICE}.key`),
    "--ca",
    join(ca, "ca.pem"),
    "--config",
    config,
    "--state-dir",
    join(dir, "state"),
  ];
  // A first life creates the device; the second one takes operations by id, as later starts do.
  const creating = startAgent(args);
  await creating.waitFor(ONLINE);
  creating.child.kill("SIGTERM");
  expect((await creating.exited).code, creating.output()).toBe(0);
  agent = startAgent(args);
  await agent.waitFor(ONLINE);
}, 120_000);

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
  sim.child.kill("SIGINT");
  await sim.exited;
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("certificate device: file transfer with its JWT", () => {
  it("c8y_LogfileRequest: uploads with Bearer <jwt>; the binary's URL is on the tenant's operation", async () => {
    const created = await admin("POST", "/operations", {
      deviceId: DEVICE,
      fragments: { c8y_LogfileRequest: { logFile: "app", searchText: "ERROR", maximumLines: 10 } },
    });
    expect(created.status).toBe(201);
    const id = (created.body as StoredOperation).id;
    const deadline = Date.now() + 60_000;
    let op: StoredOperation;
    for (;;) {
      op = (await admin("GET", `/operations/${id}`)).body as StoredOperation;
      if (op.status === "SUCCESSFUL" || op.status === "FAILED") break;
      if (Date.now() > deadline) throw new Error(`operation ${id} did not end\n${agent?.output() ?? ""}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(op.status, agent?.output()).toBe("SUCCESSFUL");
    const url =
      ((op.fragments as Record<string, unknown>).c8y_LogfileRequest as { file?: string }).file ?? "";
    expect(url).toMatch(new RegExp(`^${adminUrl}/event/events/\\w+/binaries$`));
    expect(op.history.map((h) => h.cause).at(-1)).toBe(`506,${id},${url}`);
    const binary = await admin("GET", url);
    expect(binary).toEqual({ status: 200, body: "2026-01-01T11:00:00Z ERROR disk full\n" });
    // The sim refused nothing: the device never tried without (or with wrong) credentials.
    expect(sim.stdout.join("\n")).not.toMatch(/401/);
  });
});
