/**
 * A device profile without operation ids, end to end: the simulated tenant refuses JSON
 * operations (`s/ds` only) and renders a c8y_DeviceProfile whose software has a type as two
 * lines, 527 and 531. The real `c8ylink run` must install the software once and end the
 * operation with one 501 and one 503 (a second run would install again and send status rows
 * that act on nothing: the tenant answers them with an error).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { killAll, startAgent, tmp, type AgentProcess } from "./process-support.js";

const DEVICE = "profile-idless-1";
const PASSWORD = "pw-profile-idless-1";

let tenant: SimulatedTenant | undefined;
let agent: AgentProcess | undefined;
const dir = tmp();

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
  await killAll();
  await tenant?.close();
  rmSync(dir, { recursive: true, force: true });
});

const admin = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> => {
  if (tenant === undefined) throw new Error("no tenant");
  const res = await fetch(`${tenant.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tenant.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? null : (JSON.parse(text) as unknown) };
};

describe("id-less device profile (527 + 531)", () => {
  it("installs once and ends with one 501 and one 503", async () => {
    tenant = await startSimulatedTenant({
      platform: { users: [{ username: `device_${DEVICE}`, password: PASSWORD }], jsonOperations: false },
    });
    const installs = join(dir, "installs.txt");
    const pm = join(dir, "pm.mjs");
    writeFileSync(
      pm,
      `import { appendFileSync } from "node:fs";
const [command, name, version] = process.argv.slice(2);
if (command === "install") appendFileSync(${JSON.stringify(installs)}, name + " " + version + "\\n");
`,
    );
    writeFileSync(installs, "");
    const config = join(dir, "run.json");
    writeFileSync(
      config,
      JSON.stringify({
        http: { url: tenant.adminUrl, attempts: 2 },
        software: {
          list: [process.execPath, pm, "list"],
          install: [process.execPath, pm, "install", "{name}", "{version}", "{file}"],
          remove: [process.execPath, pm, "remove", "{name}"],
        },
        deviceProfile: true,
        engine: { backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 }, stopDeadlineMs: 3_000 },
      }),
    );
    agent = startAgent([
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
      PASSWORD,
      "--config",
      config,
      "--state-dir",
      join(dir, "state"),
    ]);
    await agent.waitFor(/phase \w+ → online/);
    const upload = await fetch(
      `${tenant.adminUrl}/inventory/binaries?name=tool&type=application/octet-stream`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${tenant.adminToken}`, "content-type": "application/octet-stream" },
        body: "tool bytes",
        signal: AbortSignal.timeout(10_000),
      },
    );
    expect(upload.status).toBe(201);
    const url = `${tenant.adminUrl}/inventory/binaries/${((await upload.json()) as { id: string }).id}`;
    const profile = async (version: string, softwareType?: string): Promise<StoredOperation> => {
      const item = {
        name: "tool",
        version,
        url,
        action: "install",
        ...(softwareType === undefined ? {} : { softwareType }),
      };
      const created = await admin("POST", "/operations", {
        deviceId: DEVICE,
        fragments: { c8y_DeviceProfile: { software: [item] } },
      });
      expect(created.status).toBe(201);
      const id = (created.body as StoredOperation).id;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const op = (await admin("GET", `/operations/${id}`)).body as StoredOperation;
        if (op.status === "SUCCESSFUL" || op.status === "FAILED") return op;
        if (Date.now() > deadline) throw new Error(`operation ${id} did not end\n${agent?.output() ?? ""}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const typed = await profile("1.1", "apt");
    expect(typed.status, agent.output()).toBe("SUCCESSFUL");
    // A second profile (527 only) runs after anything else queued for c8y_DeviceProfile: a
    // second run of the first one would have happened before it ends.
    const plain = await profile("1.2");
    expect(plain.status, agent.output()).toBe("SUCCESSFUL");
    expect(readFileSync(installs, "utf8")).toBe("tool 1.1\ntool 1.2\n");
    const statuses = ((await admin("GET", `/operations/${typed.id}`)).body as StoredOperation).history
      .map((h) => h.cause)
      .filter((cause) => /^50\d,/.test(cause));
    expect(statuses).toEqual(["501,c8y_DeviceProfile", "503,c8y_DeviceProfile"]);
    expect(agent.output()).not.toMatch(/platform error/);
    expect(agent.stderr.filter((l) => /c8y_DeviceProfile for .*: EXECUTING/.test(l))).toHaveLength(2);
  }, 120_000);
});
