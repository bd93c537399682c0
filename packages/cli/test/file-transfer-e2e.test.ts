/**
 * The built-in handlers end to end over real TCP: the simulated tenant (MQTT + its REST surface)
 * creates each file operation through its admin API, the real `c8ylink run` (a child process,
 * configured by a config file) executes it by id, moves the files over HTTP with its device
 * credentials, and the tenant holds the status, the result parameters and the binaries. The
 * sim's HTTP faults cut a download (it resumes) or keep answering 503 (it fails, bounded).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredOperation } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { killAll, startAgent, tmp, type AgentProcess } from "./process-support.js";

const DEVICE = "files-1";
const PASSWORD = "pw-files-1";
const ONLINE = /phase \w+ → online/;

let tenant: SimulatedTenant;
let agent: AgentProcess;
let dir: string;

const paths = () => ({
  config: join(dir, "agent.conf"),
  log: join(dir, "app.log"),
  installed: join(dir, "installed.json"),
  packages: join(dir, "packages"),
  flashed: join(dir, "flashed.bin"),
});

const adminFetch = (path: string, init: RequestInit = {}) =>
  fetch(path.startsWith("http") ? path : `${tenant.adminUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${tenant.adminToken}`, ...(init.headers as Record<string, string>) },
    signal: AbortSignal.timeout(10_000),
  });

const adminJson = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> => {
  const res = await adminFetch(path, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? null : (JSON.parse(text) as unknown) };
};

/** Uploads `bytes` to the tenant's inventory binaries; returns the URL a device downloads it from. */
const repositoryBinary = async (name: string, bytes: Buffer): Promise<string> => {
  const res = await adminFetch(
    `/inventory/binaries?name=${encodeURIComponent(name)}&type=application/octet-stream`,
    {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    },
  );
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  return `${tenant.adminUrl}/inventory/binaries/${id}`;
};

const createOperation = async (fragments: Record<string, unknown>): Promise<string> => {
  const created = await adminJson("POST", "/operations", { deviceId: DEVICE, fragments });
  expect(created.status).toBe(201);
  return (created.body as StoredOperation).id;
};

const finished = async (id: string): Promise<StoredOperation> => {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const got = await adminJson("GET", `/operations/${id}`);
    const op = got.body as StoredOperation;
    if (got.status === 200 && (op.status === "SUCCESSFUL" || op.status === "FAILED")) return op;
    if (Date.now() > deadline) throw new Error(`operation ${id} did not end\n${agent.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const device = async (): Promise<Record<string, unknown>> => {
  const got = await adminJson("GET", `/devices/${DEVICE}`);
  expect(got.status).toBe(200);
  return got.body as Record<string, unknown>;
};

/** The device's managed object fragments (as the admin API shows them). */
const deviceFragments = async (): Promise<Record<string, unknown>> => {
  const mo = await device();
  expect(mo.fragments).toBeTypeOf("object");
  return mo.fragments as Record<string, unknown>;
};

const fragmentsOf = (op: StoredOperation): Record<string, unknown> => op.fragments as Record<string, unknown>;

/** A software "package manager" for the test: installs copy the package file, the list reads a JSON file. */
const packageManager = (): string => {
  const { installed, packages } = paths();
  const script = join(dir, "pm.mjs");
  writeFileSync(
    script,
    `import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
const db = ${JSON.stringify(installed)};
const list = existsSync(db) ? JSON.parse(readFileSync(db, "utf8")) : {};
const [command, name, version, file] = process.argv.slice(2);
if (command === "list") for (const [n, v] of Object.entries(list)) console.log(n + "\\t" + v);
if (command === "install") {
  mkdirSync(${JSON.stringify(packages)}, { recursive: true });
  copyFileSync(file, ${JSON.stringify(packages)} + "/" + name);
  list[name] = version;
}
if (command === "remove") {
  if (!(name in list)) { console.error("not installed: " + name); process.exit(1); }
  rmSync(${JSON.stringify(packages)} + "/" + name, { force: true });
  delete list[name];
}
writeFileSync(db, JSON.stringify(list));
`,
  );
  return script;
};

beforeAll(async () => {
  dir = tmp();
  tenant = await startSimulatedTenant({
    platform: { users: [{ username: `device_${DEVICE}`, password: PASSWORD }] },
  });
  const p = paths();
  writeFileSync(p.config, "mode=old\n");
  writeFileSync(installedJsonPath(), JSON.stringify({ preinstalled: "0.9" }));
  writeFileSync(
    p.log,
    [
      "2026-01-01T10:00:00Z INFO boot",
      "2026-01-01T11:00:00Z ERROR disk full",
      "2026-01-01T12:00:00Z ERROR network down",
      "2026-01-02T09:00:00Z ERROR too late",
      "",
    ].join("\n"),
  );
  const pm = packageManager();
  const node = process.execPath;
  const configFile = join(dir, "run.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      http: { url: tenant.adminUrl, attempts: 3 },
      configuration: { agent: { path: p.config, backup: true } },
      logs: { app: { file: p.log } },
      software: {
        list: [node, pm, "list"],
        install: [node, pm, "install", "{name}", "{version}", "{file}"],
        remove: [node, pm, "remove", "{name}"],
      },
      deviceProfile: true,
      operations: {
        c8y_Firmware: {
          steps: [
            { download: "{url}", to: "firmware.bin" },
            {
              run: [
                node,
                "-e",
                "require('fs').copyFileSync(process.argv[1], process.argv[2])",
                "{workDir}/firmware.bin",
                p.flashed,
              ],
            },
          ],
          report: "firmware",
        },
      },
      engine: { backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 }, stopDeadlineMs: 3_000 },
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
    PASSWORD,
    "--config",
    configFile,
    "--state-dir",
    join(dir, "state"),
  ];
  // A first life creates the device (its session takes operations from s/ds); the second one
  // gets them by id on devicecontrol/notifications, as every later start does.
  const creating = startAgent(args);
  await creating.waitFor(ONLINE);
  creating.child.kill("SIGTERM");
  expect((await creating.exited).code).toBe(0);
  agent = startAgent(args);
  await agent.waitFor(ONLINE);
}, 90_000);

const installedJsonPath = () => paths().installed;

afterAll(async () => {
  agent.child.kill("SIGTERM");
  await agent.exited;
  await killAll();
  await tenant.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("file operations against the simulated tenant", () => {
  it("declares the operations and the log and configuration types, and reports the software list", async () => {
    const deadline = Date.now() + 20_000;
    let fragments = await deviceFragments();
    while (fragments.c8y_SoftwareList === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      fragments = await deviceFragments();
    }
    expect(fragments.c8y_SupportedOperations).toEqual(
      expect.arrayContaining([
        "c8y_UploadConfigFile",
        "c8y_DownloadConfigFile",
        "c8y_LogfileRequest",
        "c8y_SoftwareUpdate",
        "c8y_DeviceProfile",
        "c8y_Firmware",
      ]),
    );
    expect(fragments.c8y_SupportedLogs).toEqual(["app"]);
    expect(fragments.c8y_SupportedConfigurations).toEqual(["agent"]);
    expect(fragments.c8y_SoftwareList).toEqual([
      expect.objectContaining({ name: "preinstalled", version: "0.9" }),
    ]);
  });

  it("c8y_UploadConfigFile: the file becomes a c8y_ConfigurationDump binary named by the status", async () => {
    const id = await createOperation({ c8y_UploadConfigFile: { type: "agent" } });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    const url = (fragmentsOf(op).c8y_UploadConfigFile as { file?: string }).file ?? "";
    expect(url).toMatch(new RegExp(`^${tenant.adminUrl}/event/events/\\w+/binaries$`));
    expect(op.history.map((h) => h.cause).at(-1)).toBe(`506,${id},${url}`);
    const binary = await adminFetch(url);
    expect(binary.status).toBe(200);
    expect(await binary.text()).toBe("mode=old\n");
    const eventId = /events\/(\w+)\/binaries/.exec(url)?.[1];
    const events = (await adminJson("GET", "/events")).body as { id: string; type: string }[];
    expect(events.find((e) => e.id === eventId)?.type).toBe("c8y_ConfigurationDump");
  });

  it("c8y_DownloadConfigFile: the file is replaced (old one kept as .bak) and reported with 120", async () => {
    const url = await repositoryBinary("agent.conf", Buffer.from("mode=new\n"));
    const id = await createOperation({ c8y_DownloadConfigFile: { type: "agent", url } });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    expect(readFileSync(paths().config, "utf8")).toBe("mode=new\n");
    expect(readFileSync(`${paths().config}.bak`, "utf8")).toBe("mode=old\n");
    const fragments = await deviceFragments();
    expect(fragments.c8y_Configuration_agent).toMatchObject({ url });
  });

  it("c8y_LogfileRequest: the matching lines become a c8y_Logfile binary named by the status", async () => {
    const id = await createOperation({
      c8y_LogfileRequest: {
        logFile: "app",
        dateFrom: "2026-01-01T10:30:00+0000",
        dateTo: "2026-01-01T23:00:00+00:00",
        searchText: "ERROR",
        maximumLines: 10,
      },
    });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    const url = (fragmentsOf(op).c8y_LogfileRequest as { file?: string }).file ?? "";
    expect(url).toMatch(/\/event\/events\/\w+\/binaries$/);
    expect(await (await adminFetch(url)).text()).toBe(
      "2026-01-01T11:00:00Z ERROR disk full\n2026-01-01T12:00:00Z ERROR network down\n",
    );
  });

  it("c8y_SoftwareUpdate: downloads and installs, removes, and reports the new list", async () => {
    const pkg = randomBytes(50_000);
    const url = await repositoryBinary("tool-1.2.deb", pkg);
    const id = await createOperation({
      c8y_SoftwareUpdate: [
        { name: "tool", version: "1.2", url, action: "install" },
        { name: "preinstalled", version: "0.9", url: "", action: "delete" },
      ],
    });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    expect(readFileSync(join(paths().packages, "tool")).equals(pkg)).toBe(true);
    const fragments = await deviceFragments();
    expect(fragments.c8y_SoftwareList).toEqual([expect.objectContaining({ name: "tool", version: "1.2" })]);
  });

  it("c8y_DeviceProfile: firmware (a declared handler), software, configuration between 121,false and 121,true", async () => {
    const image = randomBytes(20_000);
    const firmware = await repositoryBinary("fw-3.1.bin", image);
    const software = await repositoryBinary("extra-2.0", Buffer.from("profile package"));
    const conf = await repositoryBinary("agent.conf", Buffer.from("mode=profile\n"));
    const id = await createOperation({
      c8y_DeviceProfile: {
        firmware: { name: "fw", version: "3.1", url: firmware },
        software: [{ name: "extra", version: "2.0", url: software, action: "install" }],
        configuration: [{ type: "agent", url: conf }],
      },
    });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    expect(readFileSync(paths().flashed).equals(image)).toBe(true);
    expect(readFileSync(join(paths().packages, "extra"), "utf8")).toBe("profile package");
    expect(readFileSync(paths().config, "utf8")).toBe("mode=profile\n");
    const fragments = await deviceFragments();
    expect(fragments.c8y_Profile).toMatchObject({ profileExecuted: true });
    expect(fragments.c8y_Firmware).toMatchObject({ name: "fw", version: "3.1" });
  });

  it("c8y_DeviceProfile: a failing part ends the profile FAILED naming it; later parts do not run", async () => {
    const conf = await repositoryBinary("agent.conf", Buffer.from("mode=after-broken\n"));
    const id = await createOperation({
      c8y_DeviceProfile: {
        software: [{ name: "broken", version: "1", url: "", action: "delete" }],
        configuration: [{ type: "agent", url: conf }],
      },
    });
    const op = await finished(id);
    expect(op.status).toBe("FAILED");
    expect(op.failureReason).toMatch(
      /^device profile: software failed: delete of broken 1 failed \(exit 1\): not installed: broken/,
    );
    expect(readFileSync(paths().config, "utf8")).not.toBe("mode=after-broken\n");
  });

  it("a download cut by the tenant resumes and completes; the file is whole", async () => {
    const big = randomBytes(300_000);
    const url = await repositoryBinary("agent.conf", big);
    expect(
      (await adminJson("POST", "/http-faults", { cutAfterBytes: 100_000, times: 1 })).status,
    ).toBeLessThan(300);
    const id = await createOperation({ c8y_DownloadConfigFile: { type: "agent", url } });
    const op = await finished(id);
    expect(op.status, agent.output()).toBe("SUCCESSFUL");
    expect(readFileSync(paths().config).equals(big)).toBe(true);
    // The cut was used up: the file came in a second request.
    const armed = await adminJson("GET", "/http-faults");
    expect(JSON.stringify(armed.body)).not.toMatch(/cutAfterBytes/);
  });

  it("503 beyond the configured attempts ends FAILED with the reason; a corrupt body fails its checksum", async () => {
    const url = await repositoryBinary("agent.conf", Buffer.from("mode=never\n"));
    await adminJson("POST", "/http-faults", { status: 503, times: 5 });
    const id = await createOperation({ c8y_DownloadConfigFile: { type: "agent", url } });
    const op = await finished(id);
    await adminJson("DELETE", "/http-faults");
    expect(op.status).toBe("FAILED");
    expect(op.failureReason).toMatch(/HTTP 503.*gave up after 3 attempts/);
    expect(readFileSync(paths().config, "utf8")).not.toBe("mode=never\n");

    await adminJson("POST", "/http-faults", { corrupt: true, times: 1 });
    const corrupt = await finished(await createOperation({ c8y_DownloadConfigFile: { type: "agent", url } }));
    expect(corrupt.status).toBe("FAILED");
    expect(corrupt.failureReason).toMatch(/checksum mismatch: expected [0-9a-f]{64} got [0-9a-f]{64}/);
    expect(readFileSync(paths().config, "utf8")).not.toBe("mode=never\n");
    expect(existsSync(join(dir, ".agent.conf.c8ylink-new.part"))).toBe(false);
  });
});
