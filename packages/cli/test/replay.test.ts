/** `c8ylink replay`: no divergence on a faithful log, the first divergence on a tampered one. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeConfig, initialState, makeLogHeader, makeLogStep, step, type Event } from "@c8ylink/core";
import { replayCommand } from "../src/commands/replay.js";
import { main } from "../src/main.js";
import { memoryIo } from "./support.js";

const configInput = {
  deviceId: "dev",
  auth: { mode: "password", tenant: "t", user: "u", password: "secret" },
};

/** A small but real log: boot, connect, subscribe, a measurement, its PUBACK. */
const recordLog = (): string[] => {
  const config = decodeConfig(configInput);
  if (E.isLeft(config)) throw new Error("config");
  let state = initialState(config.right);
  const lines = [JSON.stringify(makeLogHeader(configInput, "test", config.right.seed))];
  const feed = (event: Event) => {
    const result = step(state, event);
    lines.push(JSON.stringify(makeLogStep(lines.length - 1, event, result.commands)));
    state = result.state;
    return result.commands;
  };
  feed({ type: "start", nowMs: 0, durable: {} });
  const subscribe = feed({ type: "connected", nowMs: 5, connectionId: 1 }).find(
    (c) => c.type === "subscribe",
  );
  const online = feed({
    type: "subscribed",
    nowMs: 9,
    connectionId: 1,
    ref: subscribe?.type === "subscribe" ? subscribe.ref : 0,
    granted: subscribe?.type === "subscribe" ? subscribe.topics.map((t) => t.qos) : [],
  });
  feed({ type: "submit", nowMs: 10, message: { template: "200", fragment: "f", series: "s", value: 1 } });
  const publish = online.find((c) => c.type === "publish");
  feed({ type: "published", nowMs: 12, connectionId: 1, ref: publish?.type === "publish" ? publish.ref : 0 });
  return lines;
};

const writeLog = (lines: string[]): string => {
  const path = join(mkdtempSync(join(tmpdir(), "c8ylink-replay-")), "events.jsonl");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
};

describe("c8ylink replay", () => {
  it("reports no divergence for a faithful log, and never prints the secret", () => {
    const lines = recordLog();
    expect(lines.join("\n")).not.toContain("secret");
    const m = memoryIo();
    expect(replayCommand([writeLog(lines), "--summary"], m.io)).toBe(0);
    expect(m.text()).toContain("replayed 5 steps: no divergence");
    expect(m.text()).toMatch(/events: .*start 1/);
  });

  it("names the first diverging step, both command lists and the state change", () => {
    const lines = recordLog();
    const tampered = JSON.parse(lines[3]!) as { commands: unknown[] };
    expect(tampered.commands.length).toBeGreaterThan(0);
    tampered.commands = tampered.commands.slice(0, -1);
    lines[3] = JSON.stringify(tampered);
    const m = memoryIo();
    expect(replayCommand([writeLog(lines)], m.io)).toBe(1);
    expect(m.text()).toContain("divergence at step 2");
    expect(m.text()).toContain("recorded commands:");
    expect(m.text()).toContain("state change at this step");
  });

  it("reports corrupt and truncated lines with their numbers and still replays the rest", () => {
    const lines = recordLog();
    lines.splice(2, 0, "{not json");
    lines.push('{"kind":"step","seq":9,"ev');
    const m = memoryIo();
    const code = replayCommand([writeLog(lines)], m.io);
    expect(m.errors()).toMatch(/:3: skipped: not JSON/);
    expect(m.errors()).toMatch(/:8: skipped/);
    expect(code).toBe(0); // the skipped lines were not steps of the run: the rest replays cleanly
  });

  it("prints the state after step N with --at, without secrets", () => {
    const m = memoryIo();
    expect(replayCommand([writeLog(recordLog()), "--at", "2"], m.io)).toBe(0);
    expect(m.text()).toContain('"name": "online"');
    expect(m.text()).not.toContain("secret");
  });

  it("replays each life of an appended log on its own, from its own header", async () => {
    const first = recordLog();
    const second = recordLog();
    const tampered = JSON.parse(second[3]!) as { commands: unknown[] };
    tampered.commands = tampered.commands.slice(0, -1);
    second[3] = JSON.stringify(tampered);
    // A crash tore the first life's last line; the second life's header starts a new line.
    const path = writeLog([...first, '{"kind":"step","seq":6,"ev', ...second]);
    const m = memoryIo();
    expect(replayCommand([path], m.io)).toBe(1);
    expect(m.text()).toContain(`life 1 of 2 (from line 1) of ${path}:\nreplayed 5 steps: no divergence`);
    expect(m.text()).toContain(`life 2 of 2 (from line 8) of ${path}:\ndivergence at step 2`);
    expect(m.errors()).toContain(`${path}:7: skipped`);
    const onlyFirst = memoryIo();
    expect(replayCommand([path, "--life", "1"], onlyFirst.io)).toBe(0);
    expect(onlyFirst.text()).not.toContain("life 2");
    const atWithoutLife = memoryIo();
    expect(await main(["replay", path, "--at", "2"], atWithoutLife.io)).toBe(2);
    expect(atWithoutLife.errors()).toContain("holds 2 lives: choose the one for --at with --life K");
    const noSuchLife = memoryIo();
    expect(await main(["replay", path, "--life", "3"], noSuchLife.io)).toBe(2);
    expect(noSuchLife.errors()).toContain("holds 2 lives (1-2)");
  });

  it("says so when --at is past the last step (exit 2)", () => {
    const lines = recordLog();
    const m = memoryIo();
    expect(replayCommand([writeLog(lines), "--at", "999"], m.io)).toBe(2);
    expect(m.errors()).toContain(`--at 999 is past the end of`);
    expect(m.errors()).toContain(`its last step is ${lines.length - 2}`);
    expect(m.text()).toBe("");
    const empty = memoryIo();
    expect(replayCommand([writeLog(lines.slice(0, 1)), "--at", "0"], empty.io)).toBe(2);
    expect(empty.errors()).toContain("it has no steps");
  });

  it("explains bad usage", async () => {
    const m = memoryIo();
    expect(await main(["replay"], m.io)).toBe(2);
    expect(m.errors()).toContain("missing <log>");
    const n = memoryIo();
    expect(await main(["replay", "x.jsonl", "--at", "soon"], n.io)).toBe(2);
    expect(n.errors()).toContain("--at must be a non-negative integer");
    const o = memoryIo();
    expect(await main(["replay", "/nonexistent/log"], o.io)).toBe(2);
    expect(o.errors()).toContain("cannot read /nonexistent/log");
    const p = memoryIo();
    expect(await main(["frobnicate"], p.io)).toBe(2);
    expect(p.errors()).toContain('unknown command "frobnicate"');
  });
});
