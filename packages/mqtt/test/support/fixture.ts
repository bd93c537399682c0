/** Shared test fixtures: configs, temp dirs, engines that always record and always get stopped. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Report } from "@c8ylink/core";
import { createEngine, type Engine, type EngineConfigInput, type EngineOptions } from "../../src/index.js";

export const DEVICE = "dev1";
export const CLIENT_ID = `d:${DEVICE}`;

export const passwordConfig = (extra: Partial<EngineConfigInput> = {}): EngineConfigInput => ({
  deviceId: DEVICE,
  device: { name: "Test device", type: "c8ylink_Test" },
  auth: { mode: "password", tenant: "t1", user: `device_${DEVICE}`, password: "pw-secret" },
  supportedOperations: ["c8y_Command", "c8y_Restart", "c8y_Configuration"],
  keepAliveSeconds: 30,
  connectTimeoutMs: 5_000,
  backoff: { floorMs: 200, capMs: 2_000, stableMs: 60_000 },
  stopDeadlineMs: 5_000,
  // The 500 answer arrives in milliseconds over loopback: no test here is about the 5 s
  // default window, which would only make every operation wait.
  settleMs: 100,
  seed: 1234,
  ...extra,
});

export const measurement = (i: number) =>
  ({ template: "200", fragment: "c8y_Test", series: "seq", value: i, unit: "n" }) as const;

/** Parses the value of a `200,c8y_Test,seq,<i>,n` row, or undefined. */
export const seqOf = (line: string): number | undefined => {
  const m = /^200,c8y_Test,seq,(\d+),n$/.exec(line);
  return m === null ? undefined : Number(m[1]);
};

/** Temp dirs and engines of one test file, cleaned up in `cleanup()` (call it in afterEach). */
export class Fixture {
  private readonly dirs: string[] = [];
  private readonly engines: Engine[] = [];
  readonly reports = new Map<Engine, Report[]>();

  async tempDir(prefix = "c8ylink-test-"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** An engine recording to `<dir>/events.jsonl`; returns it with the log path. */
  async engine(
    options: Omit<EngineOptions, "recordTo">,
  ): Promise<{ engine: Engine; logPath: string; reports: Report[] }> {
    const dir = await this.tempDir("c8ylink-log-");
    const logPath = join(dir, "events.jsonl");
    const engine = createEngine({ ...options, recordTo: logPath });
    const reports: Report[] = [];
    engine.onReport((r) => reports.push(r));
    this.engines.push(engine);
    this.reports.set(engine, reports);
    return { engine, logPath, reports };
  }

  async cleanup(): Promise<void> {
    for (const e of this.engines.splice(0)) {
      await e.stop().catch(() => {});
    }
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}
