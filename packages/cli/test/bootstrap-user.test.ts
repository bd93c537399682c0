/**
 * Issue 9: the bootstrap user is accepted as `devicebootstrap` and as
 * `management/devicebootstrap` (the spelling of Cumulocity's docs, which used to become
 * `management/management/devicebootstrap` and was refused forever). Both bring a device
 * online against the simulated tenant.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findDevice } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant, type SimLogEntry } from "@c8ylink/sim";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const PASSWORD = "bootstrap-user-secret";
const tenants: SimulatedTenant[] = [];
afterEach(async () => {
  for (const t of tenants.splice(0)) await t.close();
});

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * The shortest poll for credentials (the default 5 s makes the second poll, which brings them,
 * wait): these tests are about the user name, not the poll interval.
 */
const fastPollConfig = (): string => {
  const path = join(mkdtempSync(join(tmpdir(), "c8ylink-bootstrap-user-")), "config.json");
  writeFileSync(path, JSON.stringify({ engine: { bootstrapPollMs: 500 } }));
  return path;
};

describe("c8ylink run --bootstrap-user", () => {
  it.each(["devicebootstrap", "management/devicebootstrap"])(
    "bootstraps with the user written as %s",
    async (user) => {
      const connects: string[] = [];
      const tenant = await startSimulatedTenant({
        platform: { autoAccept: true, bootstrapPassword: PASSWORD },
        onLog: (entry: SimLogEntry) => {
          if (entry.kind === "connect") connects.push(JSON.stringify(entry));
        },
      });
      tenants.push(tenant);
      const deviceId = `boot-${user.length}`;
      tenant.step({ type: "admin-register", deviceId });
      const m = memoryIo();
      const running = main(
        [
          "run",
          "--url",
          tenant.mqttUrl,
          "--device-id",
          deviceId,
          "--bootstrap-password",
          PASSWORD,
          "--bootstrap-user",
          user,
          "--keep-running",
          "--config",
          fastPollConfig(),
        ],
        m.io,
      );
      await waitFor(() => m.errors().includes("→ online"), "the agent to be online");
      m.interrupt();
      expect(await running).toBe(0);
      expect(findDevice(tenant.state(), deviceId)).toBeDefined();
      expect(connects.join("\n")).toContain('"management/devicebootstrap"');
      expect(connects.join("\n")).not.toContain("management/management");
    },
  );
});
