/**
 * `c8ylink sim` as a user runs it: the real bin/c8ylink.js in its own process, on free ports of
 * 127.0.0.1. Its banner gives the token URL; scripted calls with the bearer token work, calls
 * without it do not; the token shows up in the banner and nowhere else on stdout or stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/c8ylink.js", import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("c8ylink sim (real process)", () => {
  it("prints the token URL once, serves the bearer token, refuses without it, and never logs it", async () => {
    const child = spawn(process.execPath, [bin, "sim", "--mqtt-port", "0", "--http-port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, C8YLINK_SIM_TOKEN: "" },
    });
    children.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await waitFor(() => stdout.includes("Ctrl-C to stop") || child.exitCode !== null, "the banner");
    expect(stderr).toBe("");

    const open = /open: +(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(stdout);
    expect(open).not.toBeNull();
    const [, admin = "", token = ""] = open ?? [];
    expect(token).toHaveLength(43);

    expect((await fetch(`${admin}/devices`)).status).toBe(401);
    const bearer = { authorization: `Bearer ${token}` };
    expect((await fetch(`${admin}/devices`, { headers: bearer })).status).toBe(200);
    const created = await fetch(`${admin}/registrations`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ deviceId: "proc-1" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${admin}/?token=${token}`, { redirect: "manual" })).status).toBe(303);
    await waitFor(() => stdout.includes("admin[http] admin-register proc-1"), "the timeline line");

    child.kill("SIGINT");
    expect(await exited).toBe(0);
    const lines = stdout.split("\n").filter((line) => line.includes(token));
    expect(lines.map((line) => line.trim().split(/\s+/)[0])).toEqual(["open:", "scripts:"]);
    expect(stderr).not.toContain(token);
    expect(stdout).toContain("admin refused GET /devices: 401 no-token");
  });
});
