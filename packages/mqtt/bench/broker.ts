/**
 * A private mosquitto on 127.0.0.1 for the benchmarks (bench:e2e, bench:fleet): found on the
 * machine (or MOSQUITTO_BIN), started on a free port with a temporary config, awaited listening.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const mosquittoBin = (): string => {
  for (const c of [process.env.MOSQUITTO_BIN, "/usr/sbin/mosquitto", "/usr/bin/mosquitto"]) {
    if (c === undefined) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error("mosquitto not found: apt-get install mosquitto (or set MOSQUITTO_BIN)");
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      server.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts mosquitto with `extraConfig` lines after the common ones; the caller kills it and removes `dir`. */
export const startBroker = async (
  dirPrefix: string,
  extraConfig: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess; dir: string }> => {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "log_type none",
      "persistence false",
      ...extraConfig,
      "max_inflight_messages 0",
      "max_queued_messages 0",
      ...(process.getuid?.() === 0 ? ["user root"] : []),
    ].join("\n") + "\n",
  );
  const child = spawn(mosquittoBin(), ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return { url: `mqtt://127.0.0.1:${port}`, child, dir };
    await sleep(25);
  }
  child.kill("SIGKILL");
  throw new Error("mosquitto did not start");
};
