/**
 * Issue 9, "Say what is wrong": every user mistake is refused before anything starts, by the
 * real `c8ylink` process, with a message naming the key, file or path and the fix, exit
 * status 2 (usage), and never a stack trace. Runtime failures are exit 1 (see commands.test).
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { makeLogHeader } from "@c8ylink/core";
import { parse } from "../src/args.js";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";
import { resolveSettings } from "../src/commands/run.js";

const BIN = fileURLToPath(new URL("../bin/c8ylink.js", import.meta.url));

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real command with stdin closed; every case here ends by itself within seconds. The
 * bound is for a loaded machine: at load average 20 the concurrent starts below ended with no
 * output at all under a 30 s bound, and passed alone right after.
 */
const c8ylink = (args: readonly string[], env: Record<string, string> = {}): Promise<Outcome> =>
  new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: 90_000, env: { ...process.env, ...env, C8YLINK_DEBUG: "" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end();
  });

/** The same refusals in-process (exit status and stderr of `main`), to spare process starts. */
const inProcess = async (args: readonly string[]): Promise<Outcome> => {
  const m = memoryIo({ C8YLINK_DEBUG: "" });
  m.stdin.end();
  const code = await main(args, m.io);
  return { code, stdout: m.text(), stderr: m.errors() };
};

const dir = mkdtempSync(join(tmpdir(), "c8ylink-mistakes-"));
const aFile = join(dir, "a-file");
writeFileSync(aFile, "not a directory\n");
const login = ["--device-id", "d1", "--tenant", "t1", "--user", "u", "--password", "p"];
const plainUrl = ["--url", "mqtt://127.0.0.1:1"];
const tlsUrl = ["--url", "mqtts://127.0.0.1:1"];

/** A directory this process cannot write to: root ignores modes, /sys refuses even root. */
const unwritableDir = (): string => {
  if (process.getuid?.() === 0) return "/sys";
  const d = join(dir, "read-only");
  mkdirSync(d);
  chmodSync(d, 0o500);
  return d;
};

const pem: { cert: string; key: string; otherKey: string } = { cert: "", key: "", otherKey: "" };
beforeAll(() => {
  const keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  pem.cert = join(dir, "device.crt");
  pem.key = join(dir, "device.key");
  pem.otherKey = join(dir, "other.key");
  const subject = ["-subj", "/CN=d1", "-days", "2"];
  execFileSync("openssl", ["req", "-x509", ...keyArgs, "-keyout", pem.key, "-out", pem.cert, ...subject], {
    stdio: "ignore",
  });
  execFileSync(
    "openssl",
    ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", pem.otherKey],
    {
      stdio: "ignore",
    },
  );
});

const config = (name: string, content: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
};

/** Exit 2, the expected text on stderr, nothing that looks like a stack trace. */
const expectRefused = (outcome: Outcome, ...expected: string[]) => {
  for (const text of expected) expect(outcome.stderr).toContain(text);
  expect(outcome.stderr).not.toMatch(/^\s+at /m);
  expect(outcome.stderr).not.toMatch(/Error:/);
  expect(outcome.code).toBe(2);
};

// Cases that call `c8ylink(...)` spawn the real command; `inProcess(...)` runs its `main`.
// One real process per command (and for an unknown one) shows the refusal reaches the exit
// status and stderr of the process; the other cases run in-process, as a start costs seconds.
describe.concurrent("c8ylink run refuses, naming what is wrong (exit 2, no stack trace)", () => {
  it("a state directory that is a file", async () => {
    expectRefused(
      await c8ylink(["run", ...plainUrl, ...login, "--state-dir", aFile]),
      `state directory ${aFile} is a file, not a directory`,
    );
  });

  it("a state directory below a file", async () => {
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--state-dir", join(aFile, "state")]),
      `${aFile} is a file, not a directory`,
    );
  });

  it("a state directory that cannot be written", async () => {
    const target = join(unwritableDir(), "c8ylink-state");
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--state-dir", target]),
      target,
      "not writable",
    );
  });

  it("a --record file whose directory is missing", async () => {
    const record = join(dir, "missing", "events.jsonl");
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--record", record]),
      `${record}: directory ${join(dir, "missing")} does not exist: create it (mkdir -p`,
    );
  });

  it("a --record path that is a directory", async () => {
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--record", dir]),
      `${dir} is a directory: give a file path`,
    );
  });

  it("a client certificate on mqtt://", async () => {
    expectRefused(
      await inProcess(["run", ...plainUrl, "--device-id", "d1", "--cert", pem.cert, "--key", pem.key]),
      `--cert ${pem.cert}`,
      "mqtt://127.0.0.1:1 is not encrypted",
      "mqtts://<host>:8883",
    );
  });

  it("a certificate file that is not PEM", async () => {
    const garbage = join(dir, "garbage.crt");
    writeFileSync(garbage, "hello\n");
    expectRefused(
      await inProcess(["run", ...tlsUrl, "--device-id", "d1", "--cert", garbage, "--key", pem.key]),
      `client certificate ${garbage} is not PEM`,
    );
  });

  it("a key in place of the certificate", async () => {
    expectRefused(
      await inProcess(["run", ...tlsUrl, "--device-id", "d1", "--cert", pem.key, "--key", pem.key]),
      `client certificate ${pem.key} holds a PRIVATE KEY, not a CERTIFICATE`,
    );
  });

  it("a key that does not belong to the certificate", async () => {
    expectRefused(
      await inProcess(["run", ...tlsUrl, "--device-id", "d1", "--cert", pem.cert, "--key", pem.otherKey]),
      `client key ${pem.otherKey} does not belong to ${pem.cert}`,
    );
  });

  it("a CA file that is missing", async () => {
    const missing = join(dir, "nope.crt");
    expectRefused(
      await inProcess(["run", ...tlsUrl, ...login, "--ca", missing]),
      `cannot read CA certificate ${missing}`,
    );
  });

  it("unknown keys of the config file, with the nearest valid key", async () => {
    const path = config("misspelt.json", { stateDri: "/var/lib/x", handler: { shell: true } });
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--config", path]),
      `config file ${path}`,
      'stateDri: unknown key "stateDri": did you mean "stateDir"?',
      'handler: unknown key "handler": did you mean "handlers"?',
    );
  });

  it("an engine option written at the top level of the config file", async () => {
    const path = config("top-level.json", { keepAliveSeconds: 30 });
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--config", path]),
      '"keepAliveSeconds" is an engine option: move it into "engine"',
    );
  });

  it("unknown and mistyped engine options of the config file", async () => {
    const path = config("engine.json", {
      engine: { keepAlive: 30, inflightWindow: "10", backoff: { floorMz: 1 } },
    });
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--config", path]),
      'engine.keepAlive: unknown key "keepAlive": did you mean "keepAliveSeconds"?',
      'engine.inflightWindow: must be an integer in [1, 65534] (got "10")',
      'engine.backoff.floorMz: unknown key "floorMz": did you mean "floorMs"?',
      "docs/configuration.md",
    );
  });

  it("an unknown flag, with the nearest valid flag", async () => {
    expectRefused(
      await inProcess(["run", ...plainUrl, ...login, "--state-dri", dir]),
      "Unknown option '--state-dri': did you mean --state-dir?",
    );
  });
});

describe.concurrent("the other commands refuse user mistakes the same way", () => {
  it("demo: a --record path in a missing directory", async () => {
    const record = join(dir, "nowhere", "demo.jsonl");
    expectRefused(await inProcess(["demo", "--record", record, "--quiet"]), `--record ${record}: directory`);
  });

  it("demo: a --state-dir that is a file", async () => {
    expectRefused(await c8ylink(["demo", "--state-dir", aFile, "--quiet"]), `--state-dir ${aFile} is a file`);
  });

  it("sim: a port number out of range", async () => {
    expectRefused(
      await c8ylink(["sim", "--mqtt-port", "99999"]),
      "--mqtt-port must be a port number (0-65535), got 99999",
    );
  });

  it("replay: a log that does not exist", async () => {
    const missing = join(dir, "missing.jsonl");
    expectRefused(await c8ylink(["replay", missing]), `cannot read ${missing}`);
  });

  it("replay: --at past the end of the log", async () => {
    const log = join(dir, "empty.jsonl");
    const header = makeLogHeader({ deviceId: "d", auth: { mode: "certificate" } }, "test", 1);
    writeFileSync(log, `${JSON.stringify(header)}\n`);
    const outcome = await inProcess(["replay", log, "--at", "5"]);
    expectRefused(outcome, `--at 5 is past the end of ${log}`);
  });

  it("an unknown command", async () => {
    expectRefused(await c8ylink(["runn"]), 'unknown command "runn"');
  });
});

describe("C8Y_* variables", () => {
  it("warns about a variable one typo away from one that run reads", () => {
    const args = parse("run", [...plainUrl, ...login], {
      url: { type: "string" },
      "device-id": { type: "string" },
      tenant: { type: "string" },
      user: { type: "string" },
      password: { type: "string" },
    });
    const settings = resolveSettings(args, {
      C8Y_STATE_DRI: "/x",
      C8Y_SESSION: "other tool",
      C8Y_URL: "mqtt://h",
    });
    expect(settings.warnings).toEqual([
      "C8Y_STATE_DRI is not read by c8ylink run: did you mean C8Y_STATE_DIR?",
    ]);
  });
});

describe("c8ylink --help", () => {
  it("documents the exit statuses every command uses", async () => {
    const outcome = await inProcess(["--help"]);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain(
      "0 success, 1 runtime failure (replay: a divergence),\n2 usage or configuration error",
    );
  });
});
