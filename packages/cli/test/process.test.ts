/**
 * `c8ylink run` as a real process, as a supervisor starts it (bin/c8ylink.js where the bin is
 * what a test is about, else the same sources compiled once: see process-support.ts):
 * service mode with stdin at /dev/null or closed, one process, clean stops on SIGTERM/SIGINT,
 * a second signal, kill -9, the state-dir lock and device binding, an unreachable broker, a
 * seed per start, registration, and rows surviving kill -9 within the documented bound.
 */
import {
  closeSync,
  constants,
  openSync,
  readFileSync,
  realpathSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterEach, describe, expect, it } from "vitest";
import { replay, type LogStep } from "@c8ylink/core";
import { listMeasurements } from "@c8ylink/platform";
import { startSimulatedTenant, type SimulatedTenant } from "@c8ylink/sim";
import { splitLives } from "../src/log-lives.js";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";
import {
  alive,
  childrenOf,
  closedPort,
  killAll,
  startAgent,
  startSilentBroker,
  tmp,
  type AgentProcess,
} from "./process-support.js";

const tenants: SimulatedTenant[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const t of tenants.splice(0)) await t.close();
  for (const close of closers.splice(0)) await close();
});

/** Short timers, so retries, polls and stops take a fraction of a second. */
const fastConfig = (extra: Record<string, unknown> = {}): string => {
  const path = join(tmp(), "config.json");
  writeFileSync(
    path,
    JSON.stringify({
      engine: {
        bootstrapPollMs: 500,
        backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 },
        stopDeadlineMs: 3_000,
        ...extra,
      },
    }),
  );
  return path;
};

const tenantWithUsers = async (...ids: string[]): Promise<SimulatedTenant> => {
  const tenant = await startSimulatedTenant({
    platform: { users: ids.map((id) => ({ username: `device_${id}`, password: `pw-${id}` })) },
  });
  tenants.push(tenant);
  return tenant;
};

const login = (url: string, id: string): string[] => [
  "run",
  "--url",
  url,
  "--device-id",
  id,
  "--tenant",
  "t100",
  "--user",
  `device_${id}`,
  "--password",
  `pw-${id}`,
];

const ONLINE = /phase \w+ → online/;
const lastLine = (agent: AgentProcess): string => agent.stderr.filter((l) => l !== "").at(-1) ?? "";

/** Every life of an event log replays with zero divergence; returns the lives. */
const expectReplays = (path: string) => {
  const lives = splitLives(readFileSync(path, "utf8"));
  for (const life of lives) {
    expect(life.header).not.toBeNull();
    if (life.header === null) continue;
    const result = replay(life.header, life.steps);
    if (E.isLeft(result)) throw new Error(result.left);
    expect(result.right.divergence?.seq ?? null).toBeNull();
  }
  return lives;
};

const stoppedReport = (steps: readonly LogStep[]): boolean =>
  steps.some((s) => s.commands.some((c) => c.type === "report" && c.report.kind === "stopped"));

describe("c8ylink run as a service", () => {
  it("keeps running with stdin at /dev/null, in one process, until SIGTERM stops it cleanly", async () => {
    const tenant = await tenantWithUsers("svc-1");
    const dir = tmp();
    const record = join(dir, "events.jsonl");
    // The real bin: what it is about is the process a supervisor starts (bin/c8ylink.js).
    const agent = startAgent(
      [
        ...login(tenant.mqttUrl, "svc-1"),
        "--config",
        fastConfig(),
        "--state-dir",
        join(dir, "state"),
        "--record",
        record,
      ],
      "ignore",
      { bin: "real" },
    );
    await agent.waitFor(ONLINE);
    await agent.waitFor(/stdin ended: still running \(service mode/);
    // One process: the pid a supervisor knows is the agent; no second node runs behind it
    // (tsx's esbuild compiler service may run as a child: it is no agent).
    expect(childrenOf(agent.pid).filter(isNode)).toEqual([]);
    expect(agent.done()).toBe(false);
    expect(agent.stderr[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info /);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(agent.stderr.join("\n")).toContain("SIGTERM: stopping, flushing for up to 3 s");
    expect(lastLine(agent)).toMatch(/info {2}stopped: every queued row delivered$/);
    // The event log is closed with its last step: the core's "stopped" report.
    const [life] = expectReplays(record);
    expect(stoppedReport(life?.steps ?? [])).toBe(true);
  });

  it("keeps running when stdin is closed; SIGINT to its process group (Ctrl-C) stops it cleanly", async () => {
    const tenant = await tenantWithUsers("svc-2");
    const record = join(tmp(), "events.jsonl");
    const agent = startAgent(
      [...login(tenant.mqttUrl, "svc-2"), "--config", fastConfig(), "--state-dir", tmp(), "--record", record],
      "pipe",
      { ownProcessGroup: true, bin: "real" },
    );
    agent.child.stdin?.end();
    await agent.waitFor(ONLINE);
    await agent.waitFor(/stdin ended: still running/);
    process.kill(-agent.pid, "SIGINT");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(agent.stderr.join("\n")).toContain("SIGINT: stopping");
    expect(lastLine(agent)).toContain("stopped: every queued row delivered");
    const [life] = expectReplays(record);
    expect(stoppedReport(life?.steps ?? [])).toBe(true);
  });

  it("exits at the end of stdin only in pipe mode (--exit-on-eof), after delivering the rows", async () => {
    const tenant = await tenantWithUsers("pipe-1");
    const agent = startAgent(
      [...login(tenant.mqttUrl, "pipe-1"), "--config", fastConfig(), "--exit-on-eof", "--state-dir", tmp()],
      "pipe",
    );
    agent.child.stdin?.end("200,c8y_T,T,1,C\n200,c8y_T,T,2,C\n");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(listMeasurements(tenant.state(), "pipe-1")).toHaveLength(2);
    expect(agent.stderr.join("\n")).toContain("end of input: flushing");
    expect(lastLine(agent)).toContain("stopped: every queued row delivered");
  });

  it("forces the exit at a second signal while the stop waits, and says so", async () => {
    const broker = await startSilentBroker();
    closers.push(broker.close);
    const agent = startAgent([
      ...login(broker.url, "stuck-1"),
      "--config",
      fastConfig({ stopDeadlineMs: 120_000 }),
    ]);
    await agent.waitFor(ONLINE);
    agent.child.kill("SIGTERM");
    await agent.waitFor(/SIGTERM: stopping, flushing for up to 120 s \(SIGTERM again forces the exit\)/);
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 143, signal: null });
    expect(lastLine(agent)).toBe(
      "c8ylink: second signal (SIGTERM) during the stop: forced exit 143 without a clean stop",
    );
  });

  it("reports an unreachable broker with the cause and the next retry, and keeps trying", async () => {
    const url = `mqtt://127.0.0.1:${await closedPort()}`;
    const agent = startAgent([...login(url, "far-1"), "--config", fastConfig()]);
    const first = agent.stderr.length;
    await agent.waitFor(/cannot reach .*: connect ECONNREFUSED .*; retrying in \d+\.\d s$/);
    await agent.waitFor(/phase waiting → connecting \(backoff elapsed\)/, 30_000, first);
    await agent.waitFor(
      /cannot reach/,
      30_000,
      agent.stderr.findIndex((l) => /backoff elapsed/.test(l)),
    );
    expect(agent.done()).toBe(false);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  });
});

describe("a state directory", () => {
  it("is locked by its agent, taken over after kill -9, and bound to its device id", async () => {
    const tenant = await tenantWithUsers("lock-1", "lock-2");
    const dir = tmp();
    const state = join(dir, "state");
    const record = join(dir, "events.jsonl");
    const args = [...login(tenant.mqttUrl, "lock-1"), "--config", fastConfig(), "--state-dir", state];
    // The real bin for the process killed -9: its helper processes (tsx's compiler service)
    // must end with it.
    const first = startAgent([...args, "--record", record], "ignore", { bin: "real" });
    await first.waitFor(ONLINE);
    expect(readFileSync(join(state, "lock"), "utf8")).toBe(`${first.pid}\n`);

    const second = startAgent(args);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.stderr.join("\n")).toContain(
      `cannot start: state dir ${state} is in use by process ${first.pid} (lock file ${state}/lock)`,
    );

    // kill -9 of the pid a supervisor knows ends the agent: nothing keeps running behind it.
    const helpers = childrenOf(first.pid);
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(alive(first.pid)).toBe(false);
    await waitUntil(() => !helpers.some(alive), "the agent's helper processes to end with it");

    const other = startAgent([...login(tenant.mqttUrl, "lock-2"), "--state-dir", state]);
    expect(await other.exited).toEqual({ code: 1, signal: null });
    expect(other.stderr.join("\n")).toContain(
      `state dir ${state} belongs to device "lock-1" (${state}/device.json), not "lock-2"`,
    );

    // The stale lock (its process is gone) is taken over; --record appends a second life.
    const third = startAgent([...args, "--record", record]);
    await third.waitFor(ONLINE);
    third.child.kill("SIGTERM");
    expect((await third.exited).code).toBe(0);
    const lives = expectReplays(record);
    expect(lives).toHaveLength(2);
    expect(stoppedReport(lives[1]?.steps ?? [])).toBe(true);
    // `c8ylink replay` of both lives, in-process (a fifth process start would add seconds).
    const replayIo = memoryIo();
    expect(await main(["replay", record], replayIo.io)).toBe(0);
    const replayed = replayIo.text();
    expect(replayed).toMatch(/life 1 of 2 \(from line 1\)[^\n]*\nreplayed \d+ steps: no divergence/);
    expect(replayed).toMatch(/life 2 of 2 \(from line \d+\)[^\n]*\nreplayed \d+ steps: no divergence/);
  });
});

describe("without --state-dir", () => {
  it("warns that data is held in memory, and at the stop says queued rows are lost", async () => {
    const url = `mqtt://127.0.0.1:${await closedPort()}`;
    const agent = startAgent([...login(url, "mem-1"), "--config", fastConfig()], "pipe");
    agent.child.stdin?.write("200,c8y_T,T,1,C\n200,c8y_T,T,2,C\n200,c8y_T,T,3,C\n");
    await agent.waitFor(/stdin: 3 rows accepted of 3 lines; durable in memory only/);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
    const text = agent.stderr.join("\n");
    expect(text).toContain(
      "no --state-dir: credentials, queued rows and the operation journal are held in memory",
    );
    expect(lastLine(agent)).toContain("stopped: 3 rows undelivered and lost (no --state-dir");
    expect(text).not.toContain("kept in");
  });
});

describe("a fleet", () => {
  it("gets a seed from entropy per start: different retry delays, each log replays exactly", async () => {
    const url = `mqtt://127.0.0.1:${await closedPort()}`;
    const dir = tmp();
    const agents = ["fleet-1", "fleet-2"].map((id) =>
      startAgent([
        ...login(url, id),
        "--config",
        fastConfig(),
        "--record",
        join(dir, `${id}.jsonl`),
        "--log-format",
        "json",
      ]),
    );
    for (const agent of agents) {
      for (let n = 0; n < 3; n++)
        await agent.waitFor(
          /"event":"connection-lost"/,
          30_000,
          agent.stderr.findLastIndex((l) => /connection-lost/.test(l)) + 1,
        );
      agent.child.kill("SIGTERM");
    }
    for (const agent of agents) expect((await agent.exited).code).toBe(0);
    // --log-format json: one object per line, with time, level and message.
    for (const line of agents.flatMap((a) => a.stderr).filter((l) => l !== "")) {
      const json = JSON.parse(line) as { time?: unknown; level?: unknown; msg?: unknown };
      expect(typeof json.time).toBe("string");
      expect(["info", "warn", "error"]).toContain(json.level);
      expect(typeof json.msg).toBe("string");
    }
    const runs = ["fleet-1", "fleet-2"].map((id) => {
      const [life] = expectReplays(join(dir, `${id}.jsonl`));
      const delays = (life?.steps ?? []).flatMap((s) =>
        s.commands.flatMap((c) =>
          c.type === "report" && c.report.kind === "connection-lost" ? [c.report.retryInMs] : [],
        ),
      );
      return { seed: life?.header?.seed, delays };
    });
    expect(runs[0]?.seed).not.toBe(runs[1]?.seed);
    expect(runs[0]?.delays.length).toBeGreaterThanOrEqual(3);
    expect(runs[0]?.delays.slice(0, 3)).not.toEqual(runs[1]?.delays.slice(0, 3));
  });
});

describe("registration", () => {
  it("says once that it waits for the registration to be accepted, then goes online", async () => {
    const tenant = await startSimulatedTenant({ platform: { bootstrapPassword: "boot-pw" } });
    tenants.push(tenant);
    const agent = startAgent([
      "run",
      "--url",
      tenant.mqttUrl,
      "--device-id",
      "reg-1",
      "--bootstrap-password",
      "boot-pw",
      "--config",
      fastConfig(),
      "--state-dir",
      tmp(),
    ]);
    await agent.waitFor(
      /waiting for the registration of reg-1 to be accepted \(Device management → Registration\)/,
    );
    expect(tenant.step({ type: "admin-register", deviceId: "reg-1" }).ok).toBe(true);
    const deadline = Date.now() + 15_000;
    while (!tenant.step({ type: "admin-accept", deviceId: "reg-1" }).ok && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await agent.waitFor(/registration accepted: received device credentials/);
    await agent.waitFor(ONLINE);
    expect(agent.stderr.filter((l) => l.includes("waiting for the registration"))).toHaveLength(1);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  });

  it("with an auto-accepting tenant, a device that asks without a prior registration goes online", async () => {
    const tenant = await startSimulatedTenant({
      platform: { bootstrapPassword: "boot-pw", autoAccept: true },
    });
    tenants.push(tenant);
    const agent = startAgent([
      "run",
      "--url",
      tenant.mqttUrl,
      "--device-id",
      "auto-1",
      "--bootstrap-password",
      "boot-pw",
      "--config",
      fastConfig(),
    ]);
    await agent.waitFor(ONLINE);
    agent.child.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  });
});

describe("rows from stdin survive kill -9", () => {
  it("delivers every row reported durable after a restart; loss stays within the bound", async () => {
    const tenant = await tenantWithUsers("safe-1");
    const dir = tmp();
    const state = join(dir, "state");
    const fifo = join(dir, "rows.fifo");
    execFileSync("mkfifo", [fifo]);
    // A real pipe (64 KiB), as `producer | c8ylink run` has: its reader end for the agent,
    // opened read-write so that opening it does not wait for a writer.
    const readEnd = openSync(fifo, constants.O_RDWR);
    const args = [...login(tenant.mqttUrl, "safe-1"), "--config", fastConfig(), "--state-dir", state];
    const agent = startAgent(args, readEnd);
    closeSync(readEnd);
    await agent.waitFor(ONLINE);
    const writeEnd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    // Long rows, so the pipe buffer holds few of them (~1,100).
    const row = (n: number) => `200,c8y_DataSafety,a_long_series_name_for_the_test,${n},units\n`;
    let written = 0;
    let killed = false;
    const produce = async (): Promise<void> => {
      while (!killed) {
        const batch = Buffer.from(Array.from({ length: 100 }, (_, i) => row(written + i + 1)).join(""));
        let offset = 0;
        while (offset < batch.length && !killed) {
          try {
            offset += writeSync(writeEnd, batch, offset, batch.length - offset);
          } catch (e) {
            if ((e as { code?: string }).code !== "EAGAIN") return; // EPIPE: the reader is gone
            await new Promise((r) => setImmediate(r));
          }
        }
        if (offset === batch.length) written += 100;
      }
    };
    const producing = produce();
    const durableLine = (): number =>
      Math.max(0, ...agent.stderr.map((l) => Number(/durable in .* up to line (\d+)/.exec(l)?.[1] ?? 0)));
    await agent.waitFor(/durable in .* up to line [1-9]\d{4,}/, 60_000);
    agent.child.kill("SIGKILL");
    await agent.exited;
    killed = true;
    await producing;
    closeSync(writeEnd);
    const reportedDurable = durableLine();
    // Rows fully written into the pipe, of which the agent may have read any prefix.
    const sent = written;

    // The stop waits for the queue to drain; a long deadline, so that on a loaded machine the
    // thousands of rows left from the first life are not cut off by the fixture's 3 s.
    const restarted = startAgent([
      ...login(tenant.mqttUrl, "safe-1"),
      "--config",
      fastConfig({ stopDeadlineMs: 60_000 }),
      "--state-dir",
      state,
    ]);
    await restarted.waitFor(ONLINE);
    restarted.child.kill("SIGTERM");
    expect((await restarted.exited).code).toBe(0);
    expect(lastLine(restarted)).toContain("stopped: every queued row delivered");

    const values = listMeasurements(tenant.state(), "safe-1").map(
      (m) =>
        (m.fragments.c8y_DataSafety as { a_long_series_name_for_the_test: { value: number } })
          .a_long_series_name_for_the_test.value,
    );
    const distinct = new Set(values);
    const missingDurable = Array.from({ length: reportedDurable }, (_, i) => i + 1).filter(
      (n) => !distinct.has(n),
    );
    expect(missingDurable).toEqual([]);
    // Lost: rows written to the pipe and never delivered. At most the rows read but not yet
    // durable (--max-undurable-rows, 1,000) plus what the pipe held (64 KiB: ~1,100 rows).
    const lost = sent - distinct.size;
    const duplicates = values.length - distinct.size;
    console.log(
      `kill -9 data safety: sent ${sent}, durable reported ${reportedDurable}, delivered ${distinct.size}, lost ${lost}, duplicates ${duplicates}`,
    );
    expect(lost).toBeLessThanOrEqual(1_000 + Math.ceil(65_536 / row(sent).length) + 100);
    // Rows delivered more than once: those in flight and those acknowledged whose removal was
    // not yet written (about two storage writes' worth: 409, 894 and 1,417 measured; see the README).
    expect(duplicates).toBeLessThanOrEqual(3_000);
  }, 120_000);
});

/** Whether the process runs node (as the agent would if it had re-executed itself). */
const isNode = (pid: number): boolean => {
  try {
    return realpathSync(`/proc/${pid}/exe`) === realpathSync(process.execPath);
  } catch {
    return false;
  }
};

const waitUntil = async (ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
