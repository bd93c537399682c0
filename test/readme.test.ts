/**
 * Issue 9: the README tells a new user how to connect a real device: bootstrap credentials,
 * registration and acceptance, certificates, running as a service, logs and state, and the
 * risk of --shell. The commands it shows use only flags `c8ylink run` has.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RUN_HELP } from "../packages/cli/src/commands/run.js";

const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

const section = (heading: string): string => {
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start + 1);
  const end = rest.indexOf("\n## ", 3);
  return end === -1 ? rest : rest.slice(0, end);
};

describe("README: Connect a real device", () => {
  const text = section("Connect a real device");

  it.each([
    [
      "where bootstrap credentials come from",
      /management\/devicebootstrap[\s\S]*bootstrap password is not one you choose/,
    ],
    [
      "registering the serial and accepting it",
      /Device management → Devices → Registration[\s\S]*\*\*Accept\*\*/,
    ],
    [
      "which CA to upload",
      /Upload the CA certificate that signed your device\s+certificates[\s\S]*Trusted certificates/,
    ],
    ["CN = device id", /common name \(CN\) must be the device id/],
    ["port 8883", /port 8883/],
    ["running as a service", /"Running as a service"/],
    ["where logs go", /standard error \(the journal under systemd\)/],
    ["where state lives", /state\s+directory \(`--state-dir`\) holds the device credentials, the outbox/],
    ["that --shell executes what the tenant sends", /Warning: `--shell` runs what the tenant sends/],
  ])("says %s", (_what, pattern) => {
    expect(text).toMatch(pattern);
  });

  it("has a systemd unit that runs the agent", () => {
    const service = section("Running as a service");
    expect(service).toMatch(
      /```ini\n\[Unit\][\s\S]*\[Service\][\s\S]*ExecStart=\S*c8ylink run [\s\S]*\[Install\]/,
    );
  });

  it("shows only flags that c8ylink run has", () => {
    const commands = [...readme.matchAll(/c8ylink(?: --)? run ((?:[^\n]|\\\n)*)/g)].map((m) => m[1] ?? "");
    const flags = new Set(
      commands.flatMap((c) => [...c.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0])),
    );
    expect(flags.size).toBeGreaterThanOrEqual(6);
    for (const f of flags) expect(RUN_HELP, f).toMatch(new RegExp(`^\\s+(-\\w, )?${f}\\b`, "m"));
  });

  it("states the Node versions the packages allow", () => {
    const root = JSON.parse(
      readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8"),
    ) as {
      engines: { node: string };
    };
    expect(root.engines.node).toBe(">=20.19");
    expect(readme).toContain("Node.js 20.19 or later");
  });
});
