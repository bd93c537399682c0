/**
 * The built-in handlers with an in-memory transfer: which files they read and write, what they
 * upload, which rows they submit and how each operation ends.
 */
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterEach, describe, expect, it } from "vitest";
import { encodeUpstream, type UpstreamMessage } from "@c8ylink/core";
import type { Operation, OperationContext, OperationHandler, OperationOutcome } from "@c8ylink/mqtt";
import type {
  DownloadCheck,
  DownloadResult,
  EventBinaryUpload,
  Transfer,
  UploadResult,
} from "../src/transfer/types.js";
import { KeyedQueue, type BuiltinDeps } from "../src/operations/builtin/common.js";
import {
  configurationDownloadHandler,
  configurationUploadHandler,
} from "../src/operations/builtin/configuration.js";
import { logfileHandler } from "../src/operations/builtin/logs.js";
import { LogSelection, MAX_LOG_LINES, lineTime, requestTime } from "../src/operations/builtin/log-filter.js";
import { parseSoftwareList, softwareHandlers, softwareListRows } from "../src/operations/builtin/software.js";
import { deviceProfileHandler } from "../src/operations/builtin/device-profile.js";
import { tmp } from "./process-support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = tmp();
  dirs.push(dir);
  return dir;
};

/** A transfer serving `files` by URL and keeping what is uploaded. */
class MemoryTransfer implements Transfer {
  readonly uploads: (EventBinaryUpload & { content: string })[] = [];
  readonly downloads: string[] = [];
  constructor(private readonly files: Record<string, string> = {}) {}

  download(url: string, dest: string, _check: DownloadCheck): Promise<DownloadResult> {
    this.downloads.push(url);
    const content = this.files[url];
    if (content === undefined)
      return Promise.resolve({ ok: false, retryable: false, reason: `HTTP 404 from ${url}` });
    writeFileSync(dest, content);
    return Promise.resolve({ ok: true, path: dest, bytes: content.length, sha256: "" });
  }

  uploadEventBinary(upload: EventBinaryUpload): Promise<UploadResult> {
    this.uploads.push({ ...upload, content: readFileSync(upload.path, "utf8") });
    return Promise.resolve({ ok: true, url: `http://tenant/event/events/${this.uploads.length}/binaries` });
  }
}

const setup = (files: Record<string, string> = {}) => {
  const transfer = new MemoryTransfer(files);
  const rows: { message: UpstreamMessage; child?: string }[] = [];
  const deps: BuiltinDeps = {
    transfer,
    submit: (message, options) =>
      rows.push({ message, ...(options?.child === undefined ? {} : { child: options.child }) }),
    deviceId: "dev1",
    workDir: tempDir(),
    queue: new KeyedQueue(),
  };
  return { transfer, rows, deps };
};

const ctx: OperationContext = { key: "op-1", deviceId: "dev1", resumed: false };
const base = { deviceId: "dev1" } as const;

describe("configuration", () => {
  it("uploads a snapshot of the typed file as a c8y_ConfigurationDump binary and ends with its URL", async () => {
    const dir = tempDir();
    const path = join(dir, "agent.conf");
    writeFileSync(path, "level=debug\n");
    const { transfer, deps } = setup();
    const handler = configurationUploadHandler({ agent: { path }, other: { path: join(dir, "o") } }, deps);
    const outcome = await handler(
      { ...base, template: "526", fragment: "c8y_UploadConfigFile", type: "agent" },
      ctx,
    );
    expect(outcome).toEqual({ status: "successful", parameters: ["http://tenant/event/events/1/binaries"] });
    expect(transfer.uploads).toMatchObject([
      {
        deviceId: "dev1",
        eventType: "c8y_ConfigurationDump",
        fileName: "agent.conf",
        content: "level=debug\n",
      },
    ]);
    const unknown = await handler(
      { ...base, template: "526", fragment: "c8y_UploadConfigFile", type: "nope" },
      ctx,
    );
    expect(unknown).toEqual({
      status: "failed",
      reason: 'configuration type "nope" is not configured on this device (configured: agent, other)',
    });
    // The legacy template names no type: ambiguous with two.
    const legacy = await handler({ ...base, template: "520", fragment: "c8y_UploadConfigFile" }, ctx);
    expect(legacy).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/names no configuration type and 2/),
    });
    const missing = await handler(
      { ...base, template: "526", fragment: "c8y_UploadConfigFile", type: "other" },
      ctx,
    );
    expect(missing).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/^cannot read .*\/o: ENOENT/),
    });
  });

  it("downloads, keeps a backup, replaces the file with the old mode and reports 120", async () => {
    const dir = tempDir();
    const path = join(dir, "agent.conf");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o640);
    const { rows, deps } = setup({ "http://tenant/inventory/binaries/9": "new\n" });
    const handler = configurationDownloadHandler({ agent: { path, backup: true } }, deps);
    const op: Operation = {
      ...base,
      template: "524",
      fragment: "c8y_DownloadConfigFile",
      url: "http://tenant/inventory/binaries/9",
      type: "agent",
    };
    expect(await handler(op, ctx)).toEqual({ status: "successful" });
    expect(readFileSync(path, "utf8")).toBe("new\n");
    expect(readFileSync(`${path}.bak`, "utf8")).toBe("old\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(rows).toEqual([
      {
        message: {
          template: "120",
          type: "agent",
          url: "http://tenant/inventory/binaries/9",
          fileName: "agent.conf",
        },
      },
    ]);
  });

  it("leaves the old file alone when the download fails, and sends rows of a child on its topic", async () => {
    const dir = tempDir();
    const path = join(dir, "agent.conf");
    writeFileSync(path, "old\n");
    const { rows, deps } = setup({ "http://tenant/ok": "x" });
    const handler = configurationDownloadHandler({ agent: { path, backup: false } }, deps);
    const op = (url: string): Operation => ({
      ...base,
      template: "524",
      fragment: "c8y_DownloadConfigFile",
      url,
      type: "agent",
    });
    expect(await handler(op("http://tenant/missing"), ctx)).toEqual({
      status: "failed",
      reason: "download of configuration agent failed: HTTP 404 from http://tenant/missing",
    });
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(await handler(op("http://tenant/ok"), { key: "k", deviceId: "child-1", resumed: false })).toEqual({
      status: "successful",
    });
    expect(existsSync(`${path}.bak`)).toBe(false);
    expect(rows[0]?.child).toBe("child-1");
  });
});

describe("concurrent operations", () => {
  it("install one file at a time and leave no partial download behind a failure", async () => {
    const dir = tempDir();
    const path = join(dir, "agent.conf");
    writeFileSync(path, "old\n");
    let running = 0;
    let most = 0;
    const transfer: Transfer = {
      download: async (url, dest) => {
        running++;
        most = Math.max(most, running);
        writeFileSync(`${dest}.part`, "partial");
        await new Promise((r) => setTimeout(r, 50));
        running--;
        if (url.endsWith("/bad"))
          return { ok: false, retryable: true, reason: "cut (gave up after 5 attempts)" };
        rmSync(`${dest}.part`);
        writeFileSync(dest, url);
        return { ok: true, path: dest, bytes: url.length, sha256: "" };
      },
      uploadEventBinary: () => Promise.resolve({ ok: false, retryable: false, reason: "unused" }),
    };
    const { deps } = setup();
    const handler = configurationDownloadHandler({ agent: { path } }, { ...deps, transfer });
    const op = (url: string): Operation => ({
      ...base,
      template: "524",
      fragment: "c8y_DownloadConfigFile",
      url,
      type: "agent",
    });
    const outcomes = await Promise.all([
      handler(op("http://t/1"), ctx),
      handler(op("http://t/bad"), ctx),
      handler(op("http://t/3"), ctx),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["successful", "failed", "successful"]);
    expect(most).toBe(1);
    expect(readFileSync(path, "utf8")).toBe("http://t/3");
    expect(existsSync(join(dir, ".agent.conf.c8ylink-new.part"))).toBe(false);
  });
});

describe("log files", () => {
  const LOG = [
    "2024-05-01T10:00:00Z INFO start",
    "2024-05-01T11:00:00Z ERROR disk",
    "  at continuation line",
    "2024-05-01T12:00:00+0200 ERROR net", // 10:00Z
    "2024-05-01 13:00:00.5+02:00 ERROR late", // 11:00:00.5Z
    "2024-05-02T00:00:00Z ERROR next day",
  ].join("\n");

  it("filters by time range and search text, keeps the last lines and uploads them as c8y_Logfile", async () => {
    const path = join(tempDir(), "app.log");
    writeFileSync(path, `${LOG}\n`);
    const { transfer, deps } = setup();
    const handler = logfileHandler({ app: { file: path } }, deps, () => Date.parse("2024-06-01T00:00:00Z"));
    const request = (maximumLines: number, searchText = "ERROR"): Operation => ({
      ...base,
      template: "522",
      fragment: "c8y_LogfileRequest",
      logFile: "app",
      dateFrom: "2024-05-01T10:30:00+0000",
      dateTo: "2024-05-01T23:00:00+00:00",
      searchText,
      maximumLines,
    });
    expect(await handler(request(100), ctx)).toEqual({
      status: "successful",
      parameters: ["http://tenant/event/events/1/binaries"],
    });
    expect(transfer.uploads[0]).toMatchObject({
      eventType: "c8y_Logfile",
      fileName: "app.log",
      contentType: "text/plain",
    });
    expect(transfer.uploads[0]?.content).toBe(
      ["2024-05-01T11:00:00Z ERROR disk", "2024-05-01 13:00:00.5+02:00 ERROR late", ""].join("\n"),
    );
    await handler(request(1, ""), ctx);
    // No search text: lines without a timestamp are kept; only the last one fits.
    expect(transfer.uploads[1]?.content).toBe("2024-05-01 13:00:00.5+02:00 ERROR late\n");
    await handler(request(2, "continuation"), ctx);
    expect(transfer.uploads[2]?.content).toBe("  at continuation line\n");
  });

  it("reads a command's output (no shell) and fails with its exit status and stderr", async () => {
    const { transfer, deps } = setup();
    const node = process.execPath;
    const handler = logfileHandler(
      {
        cmd: { command: [node, "-e", "for (let i = 0; i < 5; i++) console.log('line ' + i)"] },
        bad: { command: [node, "-e", "console.error('no journal'); process.exit(3)"] },
        absent: { command: ["/nonexistent/program"] },
      },
      deps,
    );
    const op = (logFile: string): Operation => ({
      ...base,
      template: "522",
      fragment: "c8y_LogfileRequest",
      logFile,
      dateFrom: "",
      dateTo: "",
      searchText: "",
      maximumLines: 2,
    });
    expect((await handler(op("cmd"), ctx)).status).toBe("successful");
    expect(transfer.uploads[0]?.content).toBe("line 3\nline 4\n");
    expect(await handler(op("bad"), ctx)).toEqual({
      status: "failed",
      reason: `${node} failed (exit 3): no journal`,
    });
    expect(await handler(op("absent"), ctx)).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/ENOENT/),
    });
    expect(await handler(op("other"), ctx)).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(/"other" is not configured/),
    });
  });

  it("keeps at most the last MAX_LOG_LINES lines when asked for none or more", () => {
    for (const maximumLines of [0, -1, MAX_LOG_LINES * 2]) {
      const selection = new LogSelection({
        fromMs: undefined,
        toMs: undefined,
        searchText: "",
        maximumLines,
        nowMs: 0,
      });
      for (let i = 0; i < MAX_LOG_LINES + 5; i++) selection.add(`line ${i}`);
      const lines = selection.lines();
      expect(lines).toHaveLength(MAX_LOG_LINES);
      expect(lines[0]).toBe("line 5");
      expect(lines.at(-1)).toBe(`line ${MAX_LOG_LINES + 4}`);
    }
  });

  it("recognises ISO 8601 and syslog timestamps, and request dates without the offset's colon", () => {
    const now = Date.parse("2024-03-01T00:00:00Z");
    expect(lineTime("2024-05-01T12:00:00.123Z x", now)).toBe(Date.parse("2024-05-01T12:00:00.123Z"));
    expect(lineTime("[2024-05-01 12:00:00,5+01:00] x", now)).toBe(Date.parse("2024-05-01T11:00:00.5Z"));
    expect(lineTime("2024-05-01T12:00+01 x", now)).toBe(Date.parse("2024-05-01T11:00:00Z"));
    expect(lineTime("Feb 28 23:59:59 host x", now)).toBe(new Date(2024, 1, 28, 23, 59, 59).getTime());
    // December's lines read in March are last year's.
    expect(lineTime("Dec 31 10:00:00 host x", now)).toBe(new Date(2023, 11, 31, 10, 0, 0).getTime());
    expect(lineTime("no time here", now)).toBeUndefined();
    expect(requestTime("2021-10-23T19:03:26+0100")).toBe(Date.parse("2021-10-23T18:03:26Z"));
    expect(requestTime("")).toBeUndefined();
  });
});

describe("software", () => {
  /** A command (node -e) that appends its arguments as one JSON line to `log`. */
  const recorder = (log: string, exitOn?: string) => [
    process.execPath,
    "-e",
    `const a = process.argv.slice(1); require("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify(a) + "\\n"); ${
      exitOn === undefined
        ? ""
        : `if (a.includes(${JSON.stringify(exitOn)})) { console.error("broken package"); process.exit(2); }`
    }`,
  ];
  const lines = (path: string): string[][] =>
    existsSync(path)
      ? readFileSync(path, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as string[])
      : [];

  it("downloads each install, runs install/remove with the placeholders, then reports the list (140)", async () => {
    const dir = tempDir();
    const log = join(dir, "calls");
    const { rows, deps, transfer } = setup({ "http://tenant/b/1": "package-a" });
    const { update } = softwareHandlers(
      {
        install: [...recorder(log), "install", "{name}", "{version}", "{file}"],
        remove: [...recorder(log), "remove", "{name}"],
        list: [process.execPath, "-e", "console.log('a\\t1.0\\nb 2.0 apt\\n# comment\\n')"],
      },
      deps,
    );
    const outcome = await update(
      {
        ...base,
        template: "529",
        fragment: "c8y_SoftwareUpdate",
        software: [
          { name: "a", version: "1.0", softwareType: "", url: "http://tenant/b/1", action: "install" },
          { name: "old", version: "0.1", softwareType: "", url: "", action: "delete" },
        ],
      },
      ctx,
    );
    expect(outcome).toEqual({ status: "successful" });
    expect(transfer.downloads).toEqual(["http://tenant/b/1"]);
    const calls = lines(log);
    expect(calls.map((c) => c.slice(0, 3))).toEqual([
      ["install", "a", "1.0"],
      ["remove", "old"],
    ]);
    // The downloaded file was given to the install command and removed afterwards.
    expect(calls[0]?.[3]).toMatch(/software-op-1-a-1\.0$/);
    expect(existsSync(calls[0]?.[3] ?? "")).toBe(false);
    expect(rows).toEqual([
      {
        message: {
          template: "140",
          software: [
            { name: "a", version: "1.0" },
            { name: "b", version: "2.0", type: "apt" },
          ],
        },
      },
    ]);
  });

  it("stops at the first failing item, names it, and still reports the list", async () => {
    const dir = tempDir();
    const log = join(dir, "calls");
    const { rows, deps } = setup();
    const { update } = softwareHandlers(
      {
        install: [...recorder(log, "bad"), "install", "{name}", "{url}"],
        remove: [...recorder(log), "remove", "{name}"],
        list: [process.execPath, "-e", "console.log('a 1')"],
      },
      deps,
    );
    const item = (name: string) => ({
      name,
      version: "1",
      url: `http://x/${name}`,
      action: "install" as const,
    });
    const outcome = await update(
      {
        ...base,
        template: "528",
        fragment: "c8y_SoftwareUpdate",
        software: [item("good"), item("bad"), item("never")],
      },
      ctx,
    );
    expect(outcome).toEqual({ status: "failed", reason: "install of bad 1 failed (exit 2): broken package" });
    expect(lines(log).map((c) => c[1])).toEqual(["good", "bad"]);
    expect(lines(log)[0]).toEqual(["install", "good", "http://x/good"]);
    expect(rows.map((r) => r.message.template)).toEqual(["140"]);
  });

  it("parses list output and splits long lists into 140 + 141 rows the codec accepts", () => {
    expect(parseSoftwareList("vim\t9.0\tapt\n\nnano  7.2\n# x\nlonely\n")).toEqual([
      { name: "vim", version: "9.0", type: "apt" },
      { name: "nano", version: "7.2" },
      { name: "lonely", version: "" },
    ]);
    const many = Array.from({ length: 1500 }, (_, i) => ({
      name: `package-number-${i}`,
      version: `1.${i}.0`,
    }));
    const messages = softwareListRows([...many, { name: "lonely", version: "" }]);
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.slice(1).every((m) => m.template === "141")).toBe(true);
    for (const m of messages) {
      const row = encodeUpstream(m);
      expect(E.isRight(row), JSON.stringify(row)).toBe(true);
      if (E.isRight(row)) expect(Buffer.byteLength(row.right.join(","))).toBeLessThan(16_184);
    }
    const all = messages.flatMap((m) => ("software" in m ? (m.software as { name: string }[]) : []));
    expect(all.map((s) => s.name)).toEqual([...many.map((s) => s.name), "lonely"]);
  });
});

describe("device profile", () => {
  const profile: Operation = {
    ...base,
    template: "527",
    fragment: "c8y_DeviceProfile",
    firmware: { name: "fw", version: "2.0", url: "http://t/fw", isPatch: false, dependency: "" },
    software: [{ name: "a", version: "1", url: "http://t/a", action: "install" }],
    configuration: [
      { url: "http://t/c1", type: "agent" },
      { url: "http://t/c2", type: "net" },
    ],
  };

  const recording = (
    calls: Operation[],
    outcome: (op: Operation) => OperationOutcome = () => ({ status: "successful" }),
  ) =>
    (async (op: Operation) => {
      calls.push(op);
      return outcome(op);
    }) as OperationHandler;

  it("runs firmware, software, then each configuration between 121,false and 121,true", async () => {
    const { rows, deps } = setup();
    const calls: Operation[] = [];
    const handlers: Record<string, OperationHandler> = {
      c8y_Firmware: recording(calls),
      c8y_SoftwareUpdate: recording(calls),
      c8y_DownloadConfigFile: recording(calls),
    };
    const handler = deviceProfileHandler((f) => handlers[f], deps);
    expect(await handler(profile, ctx)).toEqual({ status: "successful" });
    expect(calls).toEqual([
      {
        ...base,
        template: "515",
        fragment: "c8y_Firmware",
        name: "fw",
        version: "2.0",
        url: "http://t/fw",
        isPatch: false,
      },
      {
        ...base,
        template: "528",
        fragment: "c8y_SoftwareUpdate",
        software: [{ name: "a", version: "1", url: "http://t/a", action: "install" }],
      },
      { ...base, template: "524", fragment: "c8y_DownloadConfigFile", url: "http://t/c1", type: "agent" },
      { ...base, template: "524", fragment: "c8y_DownloadConfigFile", url: "http://t/c2", type: "net" },
    ]);
    expect(rows.map((r) => r.message)).toEqual([
      { template: "121", executed: false },
      { template: "121", executed: true },
    ]);
  });

  it("fails before doing anything when a part has no handler, naming it", async () => {
    const { rows, deps } = setup();
    const calls: Operation[] = [];
    const handler = deviceProfileHandler(
      (f) => (f === "c8y_SoftwareUpdate" ? recording(calls) : undefined),
      deps,
    );
    expect(await handler(profile, ctx)).toEqual({
      status: "failed",
      reason:
        "device profile: no handler for c8y_Firmware (its firmware part), c8y_DownloadConfigFile (its configuration agent part), c8y_DownloadConfigFile (its configuration net part) on this device",
    });
    expect(calls).toEqual([]);
    expect(rows).toEqual([]);
  });

  it("stops at the first failing part and names it (no 121,true)", async () => {
    const { rows, deps } = setup();
    const calls: Operation[] = [];
    const ok = recording(calls);
    const handlers: Record<string, OperationHandler> = {
      c8y_Firmware: ok,
      c8y_SoftwareUpdate: recording(calls, () => ({
        status: "failed",
        reason: "install of a 1 failed (exit 1)",
      })),
      c8y_DownloadConfigFile: ok,
    };
    const handler = deviceProfileHandler((f) => handlers[f], deps);
    expect(await handler(profile, ctx)).toEqual({
      status: "failed",
      reason: "device profile: software failed: install of a 1 failed (exit 1)",
    });
    expect(calls.map((c) => c.fragment)).toEqual(["c8y_Firmware", "c8y_SoftwareUpdate"]);
    expect(rows.map((r) => r.message)).toEqual([{ template: "121", executed: false }]);
  });
});
