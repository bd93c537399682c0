/**
 * A private mosquitto per test: loopback only, anonymous, optional persistence, full logging
 * (so tests can count connections, SUBSCRIBEs and PUBLISHes on the broker side).
 *
 * Missing binary: tests FAIL when `process.env.CI` is set, otherwise they are skipped with a
 * message (see `describeWithBroker`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describeRequiring } from "../../../../test/support/required-tool.js";

const findMosquitto = (): string | null => {
  const candidates = [
    process.env.MOSQUITTO_BIN,
    ...(process.env.PATH ?? "").split(delimiter).map((d) => join(d, "mosquitto")),
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
  ];
  for (const c of candidates) {
    if (c === undefined || c === "") continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
};

export const MOSQUITTO = findMosquitto();

/**
 * `describe` when mosquitto is available; without it: a failing suite on CI, a skipped one
 * (with a warning) elsewhere.
 */
export const describeWithBroker = (name: string, body: () => void): void =>
  describeRequiring("mosquitto", MOSQUITTO !== null, "install mosquitto or set MOSQUITTO_BIN", name, body);

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every `everyMs` until true; throws with `what` after `timeoutMs`. */
export const waitUntil = async (
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
};

export interface BrokerOptions {
  /** Keep sessions and queued messages across restarts (saved on SIGTERM). */
  readonly persistence?: boolean;
  /** Extra lines for the listener (e.g. TLS: cafile, certfile, keyfile, require_certificate). */
  readonly listener?: readonly string[];
  /** Extra global lines (e.g. `max_packet_size 16184`). */
  readonly global?: readonly string[];
}

export class Broker {
  private process: ChildProcess | null = null;
  /** Log of the current broker instance (reset by `start`). */
  log = "";
  /** Logs of every instance, oldest first. */
  readonly logs: string[] = [];
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly confPath: string,
  ) {}

  static async create(options: BrokerOptions = {}): Promise<Broker> {
    if (MOSQUITTO === null)
      throw new Error("mosquitto binary not found (install mosquitto or set MOSQUITTO_BIN)");
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-mosquitto-"));
    const port = await freePort();
    const conf = [
      ...(options.global ?? []),
      `listener ${port} 127.0.0.1`,
      ...(options.listener ?? []),
      "allow_anonymous true",
      "log_dest stderr",
      "log_type all",
      "max_queued_messages 0",
      "max_inflight_messages 0",
      ...(options.persistence === true
        ? ["persistence true", `persistence_location ${dir}/`, "autosave_interval 1800"]
        : ["persistence false"]),
      ...(process.getuid?.() === 0 ? ["user root"] : []),
    ].join("\n");
    const confPath = join(dir, "mosquitto.conf");
    await writeFile(confPath, `${conf}\n`);
    const broker = new Broker(port, dir, confPath);
    try {
      await broker.start();
    } catch (e) {
      await broker.dispose();
      throw e;
    }
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.process !== null;
  }

  /** Starts an instance (on the same port) and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.process !== null) throw new Error("broker already running");
    this.log = "";
    this.logs.push("");
    const index = this.logs.length - 1;
    const child = spawn(MOSQUITTO ?? "mosquitto", ["-c", this.confPath], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process = child;
    const append = (chunk: Buffer): void => {
      const text = chunk.toString("utf8");
      this.logs[index] += text;
      if (this.process === child) this.log += text;
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited at start:\n${this.logs[index]}`);
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline)
        throw new Error(`mosquitto did not listen on ${this.port}:\n${this.logs[index]}`);
      await sleep(25);
    }
  }

  /** Stops the instance: SIGTERM (mosquitto saves its persistence db), SIGKILL after 5 s. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.process;
    if (child === null) return;
    child.kill(signal);
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(killer);
    this.process = null;
  }

  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  /** Stops the broker and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Lines of `log` (default: all instances) matching `re`. */
  count(re: RegExp, log: string = this.logs.join("")): number {
    return log.split("\n").filter((l) => re.test(l)).length;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export const connectionLine = (clientId: string): RegExp =>
  new RegExp(`New client connected from .* as ${escape(clientId)} `);
export const subscribeLine = (clientId: string): RegExp =>
  new RegExp(`Received SUBSCRIBE from ${escape(clientId)}$`);
export const publishLine = (clientId: string): RegExp =>
  new RegExp(`Received PUBLISH from ${escape(clientId)} `);

/** How long tests wait for an engine to come online. */
export const CONNECTION_TIMEOUT = 10_000;
