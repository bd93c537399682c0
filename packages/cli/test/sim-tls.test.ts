/**
 * `c8ylink sim --tls DIR` as a user runs it (the real bin/c8ylink.js): it creates a local CA,
 * serves MQTT over TLS and trusts that CA; `--issue-cert ID` writes a device certificate and
 * exits; a raw MQTT.js client logs in with that certificate (ClientId d:<CN>, no password)
 * and one signed by nobody the tenant trusts gets CONNACK 5.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { connackCode } from "../../sim/test/support.js";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const bin = fileURLToPath(new URL("../bin/c8ylink.js", import.meta.url));

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("c8ylink sim --tls (real process)", () => {
  it("issues device certificates, serves mqtts:// and logs certificate devices in", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-cli-tls-"));
    dirs.push(dir);
    const issued = spawnSync(
      process.execPath,
      [bin, "sim", "--tls", join(dir, "ca"), "--issue-cert", "tls-dev"],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(issued.stderr).toBe("");
    expect(issued.status).toBe(0);
    expect(issued.stdout).toContain(`certificate: ${join(dir, "ca", "tls-dev.pem")}`);
    expect(issued.stdout).toContain("ClientId d:tls-dev");
    // A second CA the tenant never heard of, and the refusal without --tls: the same command
    // in-process (the real process was shown issuing above; a start costs seconds).
    const other = memoryIo();
    expect(await main(["sim", "--tls", join(dir, "other"), "--issue-cert", "tls-dev"], other.io)).toBe(0);
    expect(other.errors()).toBe("");
    const noCa = memoryIo();
    expect(await main(["sim", "--issue-cert", "x"], noCa.io)).not.toBe(0);
    expect(noCa.errors()).toMatch(/--issue-cert needs --tls DIR/);

    const child = spawn(
      process.execPath,
      [
        bin,
        "sim",
        "--mqtt-port",
        "0",
        "--http-port",
        "0",
        "--mqtts-port",
        "0",
        "--tls",
        join(dir, "ca"),
        "--quiet",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, C8YLINK_SIM_TOKEN: "" } },
    );
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await waitFor(() => stdout.includes("Ctrl-C to stop") || child.exitCode !== null, "the banner");
    expect(stderr).toBe("");
    const url = /TLS: +(mqtts:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? "";
    expect(url).not.toBe("");

    const read = (name: string) => readFile(join(dir, name), "utf8");
    const ca = await read("ca/ca.pem");
    const options = async (issuer: string) => ({
      clientId: "d:tls-dev",
      ca,
      key: await read(`${issuer}/tls-dev.key`),
      cert: await read(`${issuer}/tls-dev.pem`),
    });
    expect(await connackCode(url, await options("ca"), 8_000)).toBe(0);
    expect(await connackCode(url, await options("other"), 8_000)).toBe(5);

    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 120_000);
});
