/**
 * Makes docs/img/sim-page.png: a simulated tenant with a real engine (a pump with a valve and a
 * sensor), ten minutes of measurements, an event, an alarm, a finished command, a pending
 * registration, all shown in the page in headless Chromium. Not a test; run it after changing
 * the page: `npm run screenshot:sim` (needs /usr/bin/chromium or C8YLINK_CHROMIUM).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { createEngine } from "@c8ylink/mqtt";
import { listOperations } from "@c8ylink/platform";
import { startSimulatedTenant } from "../src/index.js";

const OUT = resolve(process.argv[2] ?? "docs/img/sim-page.png");
const CHROMIUM = process.env.C8YLINK_CHROMIUM ?? "/usr/bin/chromium";
const DEVICE = "pump-7";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ready: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 30_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
};

const dir = await mkdtemp(join(tmpdir(), "c8ylink-screenshot-"));
const tenant = await startSimulatedTenant({
  platform: { users: [{ username: `device_${DEVICE}`, password: "pw-pump-7" }] },
});
const engine = createEngine({
  url: tenant.mqttUrl,
  stateDir: dir,
  config: {
    deviceId: DEVICE,
    device: { name: "Pump 7", type: "c8ylink_Pump" },
    auth: { mode: "password", tenant: "t100", user: `device_${DEVICE}`, password: "pw-pump-7" },
    children: [
      { id: `${DEVICE}-valve`, name: "Inlet valve", type: "c8ylink_Valve" },
      { id: `${DEVICE}-sensor`, name: "Pressure sensor", type: "c8ylink_Sensor", parent: `${DEVICE}-valve` },
    ],
    supportedOperations: ["c8y_Command", "c8y_Restart", "c8y_Configuration"],
    inventory: {
      requiredIntervalMinutes: 10,
      hardware: { serialNumber: DEVICE, model: "P-7", revision: "B" },
      agent: { name: "c8ylink", version: "0.1.0", maintainer: "c8ylink" },
    },
  },
});
engine.handle("c8y_Command", async (op) =>
  op.template === "511"
    ? { status: "successful", parameters: [`ran ${op.text}`] }
    : { status: "failed", reason: "not a command" },
);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  await engine.start();
  await engine.whenOnline(30_000);
  const now = Date.now();
  for (let i = 0; i < 40; i++) {
    const time = new Date(now - (40 - i) * 15_000).toISOString();
    const temperature = Math.round((21 + 1.5 * Math.sin(i / 5) + (i % 3) * 0.1) * 100) / 100;
    engine.submit({
      template: "200",
      fragment: "c8y_Temperature",
      series: "T",
      value: temperature,
      unit: "C",
      time,
    });
    engine.submit({
      template: "200",
      fragment: "c8y_Pressure",
      series: "P",
      value: Math.round((2 + 0.3 * Math.cos(i / 4)) * 100) / 100,
      unit: "bar",
      time,
    });
  }
  engine.submit({ template: "400", type: "c8ylink_Started", text: "Pump started in eco mode" });
  engine.submit({ template: "302", type: "c8ylink_HighPressure", text: "Pressure above 2.2 bar" });
  await engine.whenDrained(30_000);
  tenant.step({ type: "admin-register", deviceId: "pump-8" });
  tenant.step({
    type: "admin-create-operation",
    deviceId: DEVICE,
    fragments: { c8y_Command: { text: "uptime" } },
  });
  await until(() => listOperations(tenant.state()).every((o) => o.status === "SUCCESSFUL"), "the command");

  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  await page.goto(`${tenant.adminUrl}/?token=${tenant.adminToken}`);
  await page
    .locator('figure.chart[data-series="c8y_Pressure.P"][data-points="40"]')
    .waitFor({ timeout: 30_000 });
  await page.locator('#operation-list li[data-status="SUCCESSFUL"]').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: OUT });
  console.log(`wrote ${OUT}`);
} finally {
  await browser.close();
  await engine.stop();
  await tenant.close();
  await rm(dir, { recursive: true, force: true });
}
