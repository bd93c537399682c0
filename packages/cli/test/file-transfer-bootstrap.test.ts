/**
 * File transfer with the credentials a device received at registration (`70`, bootstrap mode):
 * `Engine.tenantCredentials()` gives the REST client the device's own user, so a log file
 * request is uploaded to the simulated tenant and ends SUCCESSFUL with the binary's URL.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const PASSWORD = "bootstrap-secret";
const DEVICE = "files-boot-1";
const tenants: SimulatedTenant[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of tenants.splice(0)) await t.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const waitFor = async (ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("file transfer in bootstrap mode", () => {
  it("uploads with the device credentials received with 70", async () => {
    const tenant = await startSimulatedTenant({
      platform: { autoAccept: true, bootstrapPassword: PASSWORD },
    });
    tenants.push(tenant);
    tenant.step({ type: "admin-register", deviceId: DEVICE });
    const dir = mkdtempSync(join(tmpdir(), "c8ylink-files-boot-"));
    dirs.push(dir);
    const log = join(dir, "app.log");
    writeFileSync(log, "first line\nsecond line\n");
    const config = join(dir, "run.json");
    writeFileSync(
      config,
      JSON.stringify({
        http: { url: tenant.adminUrl, attempts: 2 },
        logs: { app: { file: log } },
        engine: { bootstrapPollMs: 500 },
      }),
    );
    const m = memoryIo();
    const running = main(
      [
        "run",
        "--url",
        tenant.mqttUrl,
        "--device-id",
        DEVICE,
        "--bootstrap-password",
        PASSWORD,
        "--state-dir",
        join(dir, "state"),
        "--config",
        config,
      ],
      m.io,
    );
    await waitFor(() => m.errors().includes("→ online"), "the agent to be online");
    expect(m.errors()).toContain(`received device credentials for`);
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(path.startsWith("http") ? path : `${tenant.adminUrl}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${tenant.adminToken}`,
          "content-type": "application/json",
        },
        signal: AbortSignal.timeout(10_000),
      });
    const created = await admin("/operations", {
      method: "POST",
      body: JSON.stringify({
        deviceId: DEVICE,
        fragments: {
          c8y_LogfileRequest: {
            logFile: "app",
            dateFrom: "",
            dateTo: "",
            searchText: "second",
            maximumLines: 10,
          },
        },
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as StoredOperation;
    let op: StoredOperation | undefined;
    await waitFor(async () => {
      op = (await (await admin(`/operations/${id}`)).json()) as StoredOperation;
      return op.status === "SUCCESSFUL" || op.status === "FAILED";
    }, "the log request to end");
    expect(op?.status, m.errors()).toBe("SUCCESSFUL");
    const url = (op?.fragments.c8y_LogfileRequest as { file?: string } | undefined)?.file ?? "";
    expect(url).toMatch(/\/event\/events\/\w+\/binaries$/);
    expect(await (await admin(url)).text()).toBe("second line\n");
    m.interrupt();
    expect(await running).toBe(0);
  });
});
