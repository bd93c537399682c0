/**
 * Reading and replaying an event log (docs/event-log.md, "Reading a damaged log", "Replay",
 * "Reading a batch fast"): which line is a problem and with which reason, which step a replay
 * stops at and what its divergence holds, and the fast batch path refusing every line it is
 * not sure of (the codecs then decide).
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import type { Command } from "../src/engine/commands.js";
import { decodeConfig } from "../src/engine/config.js";
import type { Event } from "../src/engine/events.js";
import { batchStep } from "../src/engine/log-batch-step.js";
import {
  commandsDigest,
  makeLogHeader,
  makeLogStep,
  parseLog,
  redactCommand,
  replay,
  type LogStep,
} from "../src/engine/log.js";
import { initialState, step } from "../src/engine/step.js";

const input = { deviceId: "dev1", auth: { mode: "bootstrap", bootstrapPassword: "s3cret" }, seed: 42 };
const header = makeLogHeader(input, "0.1.0", 42);
const headerLine = JSON.stringify(header);

/**
 * A real life of three steps (start, the connect refused, stop), recorded with the real
 * config; `states` are those of the same events from the redacted config, which is all a
 * replay has.
 */
const life = (() => {
  const config = decodeConfig(input);
  const redacted = decodeConfig(header.config);
  if (E.isLeft(config) || E.isLeft(redacted)) throw new Error("example config must decode");
  let state = initialState(config.right);
  let replayState = initialState(redacted.right);
  const events: Event[] = [
    { type: "start", nowMs: 0, durable: {} },
    { type: "connect-failed", nowMs: 10, connectionId: 1, cause: { kind: "network", message: "refused" } },
    { type: "stop", nowMs: 20 },
  ];
  const states = [replayState];
  const steps: LogStep[] = events.map((event, seq) => {
    const result = step(state, event);
    state = result.state;
    replayState = step(replayState, event).state;
    states.push(replayState);
    return makeLogStep(seq, event, result.commands);
  });
  return { steps, states };
})();

describe("parseLog", () => {
  it("reads a header and its steps, skipping blank lines but counting them", () => {
    const text = [
      headerLine,
      "",
      JSON.stringify(life.steps[0]),
      "  \t",
      JSON.stringify(life.steps[1]),
      "",
    ].join("\n");
    const parsed = parseLog(text);
    expect(parsed).toEqual({ header, steps: life.steps.slice(0, 2), problems: [] });
  });

  it("names a line that is not JSON with JSON.parse's own message", () => {
    const torn = '{"kind":"step","seq":1,"ev';
    let message = "";
    try {
      JSON.parse(torn);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(parseLog([headerLine, torn].join("\n")).problems).toEqual([
      { line: 2, reason: `not JSON (${message})` },
    ]);
  });

  it("takes line 1 as the header whatever it holds, and names what is wrong with it", () => {
    const parsed = parseLog([JSON.stringify(life.steps[0]), JSON.stringify(life.steps[1])].join("\n"));
    expect(parsed.header).toBeNull();
    expect(parsed.steps).toEqual([life.steps[1]]);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]?.line).toBe(1);
    expect(parsed.problems[0]?.reason).toMatch(/^bad header: kind: expected "header"/);
  });

  it("takes a later header line when the first was bad, and ignores a second good one", () => {
    const broken = JSON.stringify({ ...header, format: "other" });
    const later = { ...header, seed: 7 };
    const parsed = parseLog(
      [broken, JSON.stringify(later), JSON.stringify(header), JSON.stringify({ kind: "header" })].join("\n"),
    );
    expect(parsed.header).toEqual(later);
    expect(parsed.steps).toEqual([]);
    expect(parsed.problems.map((p) => [p.line, p.reason.split(":")[0]])).toEqual([
      [1, "bad header"],
      [3, "second header ignored"],
      [4, "bad header"],
    ]);
    expect(parsed.problems[1]?.reason).toBe("second header ignored");
  });

  it("reports every JSON value that is not a step, null included, and never throws", () => {
    const odd = ["null", "5", '"x"', "[]", "true", '{"kind":"step"}', '{"kind":"step","seq":1,"digest":5}'];
    const parsed = parseLog([headerLine, ...odd].join("\n"));
    expect(parsed.header).toEqual(header);
    expect(parsed.steps).toEqual([]);
    expect(parsed.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    for (const p of parsed.problems) expect(p.reason).not.toBe("");
  });

  it("reads a digest step with its digest and no commands; a bad one is a problem naming its field", () => {
    const event = { type: "stop", nowMs: 3 };
    const good = { kind: "step", seq: 1, event, digest: "00000000000001" };
    const bad = { kind: "step", seq: "one", event, digest: "00000000000001" };
    const parsed = parseLog([headerLine, JSON.stringify(good), JSON.stringify(bad)].join("\n"));
    expect(parsed.steps).toEqual([{ ...good, commands: [] }]);
    expect(parsed.problems).toEqual([{ line: 3, reason: expect.stringMatching(/^seq: /) as unknown }]);
  });

  it("names the field of a full step that does not decode", () => {
    const bad = { kind: "step", seq: 1, event: { type: "stop", nowMs: 3 }, commands: [{ type: "nope" }] };
    const parsed = parseLog([headerLine, JSON.stringify(bad)].join("\n"));
    expect(parsed.steps).toEqual([]);
    expect(parsed.problems).toEqual([{ line: 2, reason: expect.stringMatching(/^commands\.0/) as unknown }]);
  });
});

describe("replay", () => {
  const result = (steps: readonly LogStep[], untilSeq?: number) => {
    const r = replay(header, steps, untilSeq === undefined ? {} : { untilSeq });
    if (E.isLeft(r)) throw new Error(r.left);
    return r.right;
  };

  it("replays a recorded life without divergence to the same state", () => {
    const r = result(life.steps);
    expect(r.divergence).toBeNull();
    expect(r.steps).toBe(3);
    expect(r.state).toEqual(life.states[3]);
  });

  it("stops after untilSeq, the step of that seq included", () => {
    for (const until of [-1, 0, 1, 2, 3]) {
      const r = result(life.steps, until);
      const count = Math.max(0, Math.min(3, until + 1));
      expect(r.steps).toBe(count);
      expect(r.state).toEqual(life.states[count]);
    }
  });

  it("names the first step whose commands differ, with both lists and the state before it", () => {
    const recorded: Command[] = [{ type: "timer-cancel", key: "nothing" }];
    const tampered = [life.steps[0]!, { ...life.steps[1]!, commands: recorded }, life.steps[2]!];
    const r = result(tampered);
    expect(r.steps).toBe(2);
    expect(r.state).toEqual(life.states[2]);
    expect(r.divergence).toEqual({
      seq: 1,
      event: life.steps[1]!.event,
      recorded,
      replayed: life.steps[1]!.commands,
      before: life.states[1],
    });
  });

  it("does not count other key orders or a missing command as the same", () => {
    // The same commands with every key order reversed: canonically equal.
    const reversed = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversed)
        : value !== null && typeof value === "object"
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reversed(v)]),
            )
          : value;
    const reorderedStep = { ...life.steps[0]!, commands: reversed(life.steps[0]!.commands) as Command[] };
    expect(JSON.stringify(reorderedStep.commands)).not.toBe(JSON.stringify(life.steps[0]!.commands));
    expect(result([reorderedStep]).divergence).toBeNull();
    const shorter = { ...life.steps[0]!, commands: life.steps[0]!.commands.slice(1) };
    expect(result([shorter]).divergence?.seq).toBe(0);
  });

  it("checks a digest step by the digest of the replayed commands' JSON", () => {
    const [first, second] = life.steps;
    const digestOf = (s: LogStep) => commandsDigest(JSON.stringify(s.commands));
    const asDigest = (s: LogStep, digest: string): LogStep => ({ ...s, commands: [], digest });
    const good = result([asDigest(first!, digestOf(first!)), asDigest(second!, digestOf(second!))]);
    expect(good.divergence).toBeNull();
    expect(good.steps).toBe(2);
    const r = result([first!, asDigest(second!, "00000000000000"), life.steps[2]!]);
    expect(r.steps).toBe(2);
    expect(r.state).toEqual(life.states[2]);
    expect(r.divergence).toEqual({
      seq: 1,
      event: second!.event,
      recorded: [],
      recordedDigest: "00000000000000",
      replayedDigest: digestOf(second!),
      replayed: second!.commands,
      before: life.states[1],
    });
  });

  it("compares the redacted replayed commands with the redacted recording", () => {
    // The first step's connect carries the bootstrap password: recorded redacted, replayed redacted.
    const connect = life.steps[0]!.commands.find((c) => c.type === "connect");
    expect(connect).toEqual(redactCommand(connect!));
    expect(JSON.stringify(life.steps[0])).not.toContain("s3cret");
  });

  it("refuses a header whose config does not decode, saying why", () => {
    const r = replay({ ...header, config: { deviceId: 5 } }, life.steps);
    expect(E.isLeft(r) && r.left).toMatch(/^log header config does not decode:\n\S/);
  });
});

describe("batchStep: the fast path reads only exact batch lines", () => {
  const row = { message: { template: "200", fragment: "c8y_T", series: "T", value: 1, unit: "C" } };
  const event = { type: "submit-batch", nowMs: 5, rows: [row, { xid: "x", values: ["1"] }] };
  const line = { kind: "step", seq: 3, event, commands: [{ type: "timer-cancel", key: "k" }] };

  it("returns an exact line as it is, without copying it", () => {
    expect(batchStep(line)).toBe(line);
  });

  it("reads a digest line with no commands", () => {
    const digest = { kind: "step", seq: 3, event, digest: "0123456789abcd" };
    expect(batchStep(digest)).toEqual({ ...digest, commands: [] });
  });

  it("refuses anything not in the exact form of a submit-batch step", () => {
    for (const other of [
      null,
      "line",
      5,
      { ...line, kind: "header" },
      { ...line, seq: "3" },
      { ...line, event: null },
      { ...line, event: "submit-batch" },
      { ...line, event: { ...event, type: "submit" } },
      { ...line, event: { ...event, nowMs: "5" } },
      { ...line, event: { ...event, rows: {} } },
      { ...line, event: { ...event, rows: [row, { xid: 5, values: [] }] } },
      { ...line, event: { ...event, rows: [{ xid: "x", values: [1] }, row] } },
      { ...line, commands: [{ type: "nope" }] },
      { ...line, commands: undefined },
      { ...line, digest: 5, commands: undefined },
    ]) {
      expect(batchStep(other)).toBeUndefined();
    }
  });

  it("refuses a line whose event is missing", () => {
    expect(batchStep({ kind: "step", seq: 3, commands: [] })).toBeUndefined();
  });

  it("parseLog reads a batch line to the step the codecs would give", () => {
    const parsed = parseLog([headerLine, JSON.stringify(line)].join("\n"));
    expect(parsed.problems).toEqual([]);
    expect(parsed.steps).toEqual([line]);
  });
});
