/**
 * Shared test fixtures: a simulated tenant per test, engines that always record their event
 * log, raw MQTT.js clients, a small HTTP client for the admin API, and the replay check.
 * Everything created through a `Fixture` is closed by `cleanup()` (call it in afterEach).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { expect } from "vitest";
import { parseLog, replay, type LogStep, type Report } from "@c8ylink/core";
import { createEngine, type Engine, type EngineOptions } from "@c8ylink/mqtt";
import {
  startSimulatedTenant,
  type SimLogEntry,
  type SimulatedTenant,
  type SimulatedTenantOptions,
} from "../src/index.js";

export const BOOTSTRAP_PASSWORD = "bootstrap-secret";
export const ONLINE_TIMEOUT = 15_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every 20 ms until true; throws naming `what` after `timeoutMs`. */
export const waitUntil = async (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
};

/** Engine settings that keep tests fast (short polls and backoff). */
export const fastEngine = {
  keepAliveSeconds: 30,
  connectTimeoutMs: 5_000,
  bootstrapPollMs: 500,
  backoff: { floorMs: 200, capMs: 1_000, stableMs: 60_000 },
  stopDeadlineMs: 3_000,
  // The simulated tenant answers the 500 in milliseconds: no 5 s default wait per session.
  settleMs: 100,
  seed: 7,
} as const;

export interface HttpReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/**
 * One request to the admin API with the tenant's access token (`Authorization: Bearer`), the
 * way scripts call it; `body` is sent as JSON unless it is already a string.
 */
export const http = async (
  tenant: SimulatedTenant,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpReply> => {
  const res = await fetch(`${tenant.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tenant.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
};

export interface RecordedEngine {
  readonly engine: Engine;
  readonly logPath: string;
  readonly reports: Report[];
}

/** Asserts: no unreadable line, a header, and zero divergence over every step. */
export const expectReplays = async (path: string): Promise<readonly LogStep[]> => {
  const log = parseLog(await readFile(path, "utf8"));
  expect(log.problems).toEqual([]);
  if (log.header === null) throw new Error(`no header in ${path}`);
  const result = replay(log.header, log.steps);
  if (E.isLeft(result)) throw new Error(result.left);
  const d = result.right.divergence;
  if (d !== null)
    throw new Error(
      `replay diverged at seq ${d.seq} (${d.event.type}):\nrecorded ${JSON.stringify(d.recorded)}\nreplayed ${JSON.stringify(d.replayed)}`,
    );
  expect(result.right.steps).toBe(log.steps.length);
  expect(log.steps.length).toBeGreaterThan(0);
  return log.steps;
};

export class Fixture {
  private readonly tenants: SimulatedTenant[] = [];
  private readonly engines: Engine[] = [];
  private readonly clients: MqttClient[] = [];
  private readonly dirs: string[] = [];
  /** Event logs of every engine of the current test (replayed by `cleanup` callers if wanted). */
  readonly logPaths: string[] = [];

  /** A tenant that logs into `entries`. */
  async tenant(
    options: SimulatedTenantOptions = {},
  ): Promise<{ tenant: SimulatedTenant; entries: SimLogEntry[] }> {
    const entries: SimLogEntry[] = [];
    const tenant = await startSimulatedTenant({
      ...options,
      onLog: (e) => {
        entries.push(e);
        options.onLog?.(e);
      },
    });
    this.tenants.push(tenant);
    return { tenant, entries };
  }

  async tempDir(prefix = "c8ylink-sim-test-"): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** An engine recording to a fresh `events.jsonl`. */
  async engine(options: Omit<EngineOptions, "recordTo">): Promise<RecordedEngine> {
    const dir = await this.tempDir("c8ylink-sim-log-");
    const logPath = join(dir, "events.jsonl");
    const engine = createEngine({ ...options, recordTo: logPath });
    const reports: Report[] = [];
    engine.onReport((r) => reports.push(r));
    this.engines.push(engine);
    this.logPaths.push(logPath);
    return { engine, logPath, reports };
  }

  /** A raw MQTT.js client (no reconnects); resolves after CONNACK 0, rejects on refusal. */
  async client(url: string, options: IClientOptions): Promise<MqttClient> {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    this.clients.push(client);
    client.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("raw client did not connect")), 5_000);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      client.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      client.once("close", () => {
        clearTimeout(timer);
        reject(new Error("closed before CONNACK"));
      });
    });
    return client;
  }

  async cleanup(): Promise<void> {
    for (const e of this.engines.splice(0)) await e.stop().catch(() => {});
    for (const c of this.clients.splice(0)) await c.endAsync(true).catch(() => {});
    for (const t of this.tenants.splice(0)) await t.close().catch(() => {});
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
    this.logPaths.splice(0);
  }
}

/** Resolves with the CONNACK code (0 = accepted) of one connection attempt by a raw client. */
export const connackCode = (url: string, options: IClientOptions, timeoutMs = 5_000): Promise<number> =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error("no CONNACK"));
    }, timeoutMs);
    const finish = (code: number) => {
      clearTimeout(timer);
      client.end(true);
      resolve(code);
    };
    client.once("connect", () => finish(0));
    client.once("error", (e) => finish((e as { code?: number }).code ?? -1));
  });
