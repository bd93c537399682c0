/**
 * `c8ylink demo --stay`: after the demo the tenant stays up with its web page until Ctrl-C;
 * the "web page:" address printed at the start opens it (token URL → cookie → the page).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const waitFor = async (ready: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("c8ylink demo --stay", () => {
  it("prints the web page's address and keeps the page open until interrupted", async () => {
    const record = join(mkdtempSync(join(tmpdir(), "c8ylink-demo-web-")), "demo.events.jsonl");
    const m = memoryIo();
    const running = main(["demo", "--record", record, "--timeout", "50", "--quiet", "--stay"], m.io);
    await waitFor(
      () => m.text().includes("the tenant stays open") || m.errors() !== "",
      "the demo to finish",
    );
    expect(m.errors()).toBe("");
    const open = /^web page: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(m.text())?.[1] ?? "";
    expect(open).not.toBe("");
    const admin = new URL(open).origin;

    // Opened as a browser does: cookie, redirect, then the page and its data.
    const opened = await fetch(open, { redirect: "manual", headers: { accept: "text/html" } });
    expect(opened.status).toBe(303);
    const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await fetch(`${admin}/`, { headers: { cookie, accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/ui/app.js");
    const devices = (await (await fetch(`${admin}/devices`, { headers: { cookie } })).json()) as {
      externalId: string;
    }[];
    expect(devices.map((d) => d.externalId)).toEqual([
      "demo-pump-1",
      "demo-pump-1-valve",
      "demo-pump-1-valve-sensor",
    ]);

    m.interrupt();
    expect(await running).toBe(0);
    // Closed: the page is gone with the tenant.
    await expect(fetch(`${admin}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
