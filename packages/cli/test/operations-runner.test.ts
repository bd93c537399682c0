/**
 * Issue 12: placeholder substitution never builds shell code (a field value stays one argv
 * element, whatever it holds), the runner maps exit codes, kills the whole process group at the
 * timeout and keeps its output bounded, and the progress file is written atomically and read
 * back without ever throwing.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { parseTemplate, substitute, templateProblem, valuesOf } from "../src/operations/fields.js";
import { runProgram } from "../src/operations/runner.js";
import { fileProgressStore, type Progress } from "../src/operations/progress.js";

const scratch = mkdtempSync(join(tmpdir(), "c8ylink-ops-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

describe("placeholders", () => {
  const values = valuesOf(
    {
      template: "515",
      fragment: "c8y_Firmware",
      deviceId: "d1",
      name: "fw",
      version: "1.0; rm -rf /",
      url: "u",
    },
    { deviceId: "d1", operationKey: "id-7", workDir: "/w" },
  );

  it("fills fields inside one argument and keeps literal braces", () => {
    expect(substitute("v={version}!{{x}}", values)).toEqual({ ok: true, value: "v=1.0; rm -rf /!{x}" });
    expect(substitute("{operationKey}:{workDir}", values)).toEqual({ ok: true, value: "id-7:/w" });
    expect(substitute("{missing}", values)).toEqual({
      ok: false,
      error: 'the operation has no field "missing"',
    });
  });

  it("knows the fields of a fragment at start", () => {
    expect(templateProblem("{text}", "c8y_Command")).toBeUndefined();
    expect(templateProblem("{name}", "c8y_Command")).toContain('unknown field "{name}" for c8y_Command');
    expect(templateProblem("{values.2}", "my_custom_op")).toBeUndefined();
    expect(parseTemplate("a}b")).toEqual({
      error: 'unmatched "}" at position 1 (write "}}" for a literal brace)',
    });
  });

  test.prop([fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 })], { numRuns: 25 })(
    "a field value is one argv element, never shell code (seed printed on failure)",
    async (value, prefix) => {
      const text = substitute(`${prefix.replace(/[{}]/g, "")}{text}`, new Map([["text", value]]));
      expect(text.ok).toBe(true);
      if (!text.ok) return;
      // NUL cannot be in an argv element: the spawn refuses it (a start error, not a shell).
      const argv = [
        process.execPath,
        "-e",
        "process.stdout.write(JSON.stringify(process.argv.slice(1)))",
        "--", // a value starting with "-" is then the program's argument, not an option of node
        text.value,
      ];
      const r = await runProgram({ argv, env: ENV, timeoutMs: 20_000 });
      if (text.value.includes("\u0000")) expect(r.startError ?? r.code).not.toBe(0);
      else expect(JSON.parse(r.stdout)).toEqual([text.value]);
    },
  );

  it("a value with shell syntax runs nothing", async () => {
    const marker = join(scratch, "pwned");
    const v = substitute("{text}", new Map([["text", `x; touch ${marker}; $(touch ${marker})`]]));
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    const r = await runProgram({ argv: ["/bin/echo", v.value], env: ENV, timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(v.value);
    expect(existsSync(marker)).toBe(false);
  });
});

describe("runProgram", () => {
  it("returns the exit code, stdout and stderr", async () => {
    const r = await runProgram({
      argv: ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
      env: ENV,
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ code: 3, timedOut: false, startError: null, stdout: "out\n", stderr: "err\n" });
  });

  it("says why a program cannot start", async () => {
    const r = await runProgram({ argv: [join(scratch, "no-such-program")], env: ENV, timeoutMs: 10_000 });
    expect(r.code).toBeNull();
    expect(r.startError).toContain("ENOENT");
  });

  it("kills the whole process group at the timeout", async () => {
    const pidFile = join(scratch, "grandchild.pid");
    // The grandchild ignores nothing special: it must die with the group.
    const r = await runProgram({
      argv: ["/bin/sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`],
      env: ENV,
      timeoutMs: 500,
    });
    expect(r.timedOut).toBe(true);
    const pid = Number((await import("node:fs")).readFileSync(pidFile, "utf8").trim());
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((res) => setTimeout(res, 100));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });

  it("keeps only the last bytes of a large output", async () => {
    const r = await runProgram({
      argv: [process.execPath, "-e", "process.stdout.write('a'.repeat(300000) + 'END')"],
      env: ENV,
      timeoutMs: 20_000,
      maxOutputBytes: 1024,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toHaveLength(1024);
    expect(r.stdout.endsWith("aEND")).toBe(true);
    expect(r.droppedBytes).toBe(300003 - 1024);
  });
});

describe("progress files", () => {
  const progress: Progress = {
    version: 1,
    fragment: "c8y_Firmware",
    completed: 2,
    started: 2,
    parameters: null,
    outcome: null,
  };

  it("writes atomically (no temp file left) and reads back", () => {
    const dir = join(scratch, "p1");
    const store = fileProgressStore(dir);
    expect(store.read("id-1")).toEqual({ kind: "none" });
    store.write("id-1", progress);
    store.write("id-1", { ...progress, completed: 3, started: null });
    expect(store.read("id-1")).toEqual({
      kind: "found",
      progress: { ...progress, completed: 3, started: null },
    });
    expect(readdirSync(dir)).toEqual(["id-1.json"]);
    store.workDir("id-1");
    expect(store.keys()).toEqual(["id-1"]);
    store.remove("id-1");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps the previous progress when a write was cut before its rename (a crash mid-write)", () => {
    const dir = join(scratch, "p2");
    const store = fileProgressStore(dir);
    store.write("id-3", progress);
    // What a crash between writing the temporary file and the rename leaves behind.
    writeFileSync(join(dir, "id-3.json.tmp"), '{"version":1,"fragm');
    expect(store.read("id-3")).toEqual({ kind: "found", progress });
    store.write("id-3", { ...progress, started: null, completed: 3 });
    expect(store.read("id-3")).toMatchObject({ kind: "found", progress: { completed: 3 } });
    expect(readdirSync(dir)).toEqual(["id-3.json"]);
  });

  it.each([
    ["not JSON", "{trunc", "is not JSON"],
    ["a wrong shape", JSON.stringify({ version: 1, completed: "2" }), "completed"],
    ["an unknown version", JSON.stringify({ ...progress, version: 2 }), "version"],
  ])("reports %s as unreadable with the reason, never throwing", (_name, text, reason) => {
    const dir = join(scratch, `bad-${_name.replace(/ /g, "-")}`);
    const store = fileProgressStore(dir);
    store.write("id-2", progress);
    writeFileSync(join(dir, "id-2.json"), text);
    const read = store.read("id-2");
    expect(read.kind).toBe("unreadable");
    expect(read.kind === "unreadable" && read.reason).toContain(reason);
  });
});
