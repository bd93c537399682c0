/**
 * Issue 12: the `operations` section of the run config is checked strictly at start, and every
 * refusal names its key (`operations.<fragment>.steps[i].<key>`), with the nearest valid key or
 * field where one is near.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { formatProblems } from "@c8ylink/core";
import { decodeOperations, resumableFragments } from "../src/operations/codec.js";
import { resolveOperations, withOperationOptions } from "../src/operations/settings.js";

const problems = (input: unknown, stateDir = true): string => {
  const result = decodeOperations(input, { stateDir });
  return E.isLeft(result) ? formatProblems(result.left) : "";
};

const firmware = {
  c8y_Firmware: {
    steps: [
      { download: "{url}", to: "firmware.bin" },
      { run: ["/usr/bin/flash", "{workDir}/firmware.bin", "{version}"] },
      { restart: ["/sbin/reboot"] },
      { run: ["/usr/bin/verify", "{version}"], timeoutSeconds: 60 },
    ],
    report: "firmware",
  },
};

describe("operations section: accepted", () => {
  it("decodes a command handler and a step handler", () => {
    const result = decodeOperations(
      {
        c8y_Command: {
          run: ["/bin/sh", "-c", "echo hi"],
          result: { parameters: "stdout", successExitCodes: [0, 3] },
        },
        ...firmware,
      },
      { stateDir: true },
    );
    expect(E.isRight(result)).toBe(true);
    if (E.isLeft(result)) return;
    expect(result.right.c8y_Command).toMatchObject({ kind: "run", run: ["/bin/sh", "-c", "echo hi"] });
    const fw = result.right.c8y_Firmware!;
    expect(fw.kind === "steps" && fw.steps.map((s) => s.kind)).toEqual(["download", "run", "restart", "run"]);
    expect(resumableFragments(result.right)).toEqual(["c8y_Firmware"]);
  });

  it("accepts custom operations' values and literal braces", () => {
    expect(
      problems({ set_wifi: { run: ["/usr/bin/wifi", "{values.0}", "{{literal}}", "{deviceId}"] } }),
    ).toBe("");
  });
});

describe("operations section: every refusal names its key", () => {
  it.each([
    [
      "a handler that is not an object",
      { c8y_Command: "echo" },
      "operations.c8y_Command: expected a handler",
    ],
    ["neither run nor steps", { c8y_Command: { env: {} } }, "operations.c8y_Command: expected a handler"],
    [
      "both run and steps",
      { c8y_Command: { run: ["x"], steps: [] } },
      'operations.c8y_Command: a handler has either "run" or "steps"',
    ],
    [
      "an unknown key",
      { c8y_Command: { run: ["x"], timeout: 3 } },
      'operations.c8y_Command.timeout: unknown key "timeout": did you mean "timeoutSeconds"?',
    ],
    ["an empty run", { c8y_Command: { run: [] } }, "operations.c8y_Command.run: must list the program"],
    ["a run that is a string", { c8y_Command: { run: "echo hi" } }, "operations.c8y_Command.run: expected"],
    [
      "a timeout out of range",
      { c8y_Command: { run: ["x"], timeoutSeconds: 0 } },
      "operations.c8y_Command.timeoutSeconds: must be an integer in [1, 604800]",
    ],
    [
      "an unknown parameters mode",
      { c8y_Command: { run: ["x"], result: { parameters: "lines" } } },
      'operations.c8y_Command.result.parameters: must be one of "none", "stdout", "stdout-lines"',
    ],
    [
      "an exit code out of range",
      { c8y_Command: { run: ["x"], result: { successExitCodes: [256] } } },
      "operations.c8y_Command.result.successExitCodes[0]: must be an integer in [0, 255]",
    ],
    [
      "an unknown field",
      { c8y_Firmware: { run: ["/flash", "{verison}"] } },
      'operations.c8y_Firmware.run[1]: unknown field "{verison}" for c8y_Firmware: did you mean "{version}"?',
    ],
    [
      "an unclosed brace",
      { c8y_Command: { run: ["/x", "{text"] } },
      'operations.c8y_Command.run[1]: unclosed "{"',
    ],
    [
      "a field in an env value",
      { c8y_Command: { run: ["/x"], env: { T: "{txt}" } } },
      'operations.c8y_Command.env.T: unknown field "{txt}"',
    ],
    [
      "a placeholder in a shell script",
      { c8y_Command: { run: ["echo {text}"], shell: true } },
      "operations.c8y_Command.run[0]: a shell script takes no placeholders",
    ],
    [
      "an empty step list",
      { c8y_Firmware: { steps: [] } },
      "operations.c8y_Firmware.steps: must list at least one step",
    ],
    [
      "a step without a verb",
      { c8y_Firmware: { steps: [{ to: "x" }] } },
      "operations.c8y_Firmware.steps[0]: a step is",
    ],
    [
      "a step with two verbs",
      { c8y_Firmware: { steps: [{ run: ["x"], restart: ["y"] }] } },
      'operations.c8y_Firmware.steps[0]: a step does one thing: it has "run" and "restart"',
    ],
    [
      "an unknown step key",
      { c8y_Firmware: { steps: [{ run: ["x"] }, { run: ["y"], idempotant: true }] } },
      'operations.c8y_Firmware.steps[1].idempotant: unknown key "idempotant": did you mean "idempotent"?',
    ],
    [
      "a step's unknown field",
      { c8y_Firmware: { steps: [{ run: ["x"] }, { run: ["x"] }, { run: ["/v", "{vers}"] }] } },
      'operations.c8y_Firmware.steps[2].run[1]: unknown field "{vers}"',
    ],
    [
      "a download to a path",
      { c8y_Firmware: { steps: [{ download: "{url}", to: "../fw.bin" }] } },
      "operations.c8y_Firmware.steps[0].to: must be a plain file name",
    ],
    [
      "a download without to",
      { c8y_Firmware: { steps: [{ download: "{url}" }] } },
      "operations.c8y_Firmware.steps[0].to: expected",
    ],
    [
      "a download's unknown field",
      { c8y_Firmware: { steps: [{ download: "{uri}", to: "f" }] } },
      'operations.c8y_Firmware.steps[0].download: unknown field "{uri}"',
    ],
    [
      "a second download to one file",
      {
        c8y_Firmware: {
          steps: [
            { download: "{url}", to: "f" },
            { download: "{url}", to: "f" },
          ],
        },
      },
      'operations.c8y_Firmware.steps[1].to: "f" is already the file',
    ],
    [
      "firmware report on another fragment",
      { c8y_Command: { run: ["x"], report: "firmware" } },
      'operations.c8y_Command.report: "firmware" reports the installed firmware: only for c8y_Firmware',
    ],
  ])("refuses %s", (_name, input, expected) => {
    expect(problems(input)).toContain(expected);
  });

  it("refuses a restart step without a state directory (it could not survive the reboot)", () => {
    expect(problems(firmware, false)).toContain(
      "operations.c8y_Firmware.steps[2].restart: a restart step needs --state-dir",
    );
    expect(problems(firmware, true)).toBe("");
  });

  it("lists every problem, not just the first", () => {
    const text = problems({ c8y_Command: { run: [], timeoutSeconds: -1 }, c8y_Firmware: { steps: [{}] } });
    expect(text).toContain("operations.c8y_Command.run");
    expect(text).toContain("operations.c8y_Command.timeoutSeconds");
    expect(text).toContain("operations.c8y_Firmware.steps[0]");
  });
});

describe("operations section in the run settings", () => {
  const where = { configPath: "agent.json", stateDir: "/var/lib/c8ylink" };
  const noFlags = { shell: false, restartCommand: undefined };

  it("says where an engine option written at the top level belongs", () => {
    expect(() => resolveOperations("static", where, noFlags)).toThrow(
      'config file agent.json: operations: "static" looks like the engine option "engine.operations"',
    );
  });

  it("refuses a handler for a fragment a flag already handles", () => {
    expect(() =>
      resolveOperations({ c8y_Command: { run: ["x"] } }, where, { ...noFlags, shell: true }),
    ).toThrow("operations.c8y_Command: --shell (handlers.shell) already handles c8y_Command");
  });

  it("refuses a handler for a fragment a built-in handler already handles", () => {
    expect(() =>
      resolveOperations({ c8y_LogfileRequest: { run: ["x"] } }, where, noFlags, ["c8y_LogfileRequest"]),
    ).toThrow(
      "operations.c8y_LogfileRequest: a built-in handler (configuration, logs, software or deviceProfile) already handles",
    );
  });

  it("adds the fragments to supportedOperations and those with a restart to resumableOperations", () => {
    const ops = resolveOperations({ ...firmware, c8y_Command: { run: ["x"] } }, where, noFlags);
    const engine: Record<string, unknown> = { supportedOperations: ["c8y_Restart", "c8y_Command"] };
    withOperationOptions(engine, ops);
    expect(engine).toEqual({
      supportedOperations: ["c8y_Restart", "c8y_Command", "c8y_Firmware"],
      resumableOperations: ["c8y_Firmware"],
    });
  });

  it("makes the built-in device profile resumable when its firmware handler restarts the device", () => {
    const restarting = resolveOperations(firmware, where, noFlags);
    const plain = resolveOperations({ c8y_Firmware: { run: ["/flash", "{url}"] } }, where, noFlags);
    const withProfile: Record<string, unknown> = {};
    const withoutRestart: Record<string, unknown> = {};
    const withoutProfile: Record<string, unknown> = {};
    withOperationOptions(withProfile, restarting, { deviceProfile: true });
    withOperationOptions(withoutRestart, plain, { deviceProfile: true });
    withOperationOptions(withoutProfile, restarting, {});
    expect(withProfile.resumableOperations).toEqual(["c8y_Firmware", "c8y_DeviceProfile"]);
    expect(withoutRestart.resumableOperations).toBeUndefined();
    expect(withoutProfile.resumableOperations).toEqual(["c8y_Firmware"]);
  });
});
