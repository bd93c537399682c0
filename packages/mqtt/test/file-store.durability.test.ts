/**
 * The FileStore's durability made observable: through an injected file system that records
 * every call, a batch is acknowledged only after the fsync that makes it durable (one per
 * group commit), atomic replaces sync the temp file before the rename and the directory after;
 * and write failures (ENOSPC, EACCES, a leftover temp path that cannot be replaced) come back
 * as rejected batches, which the driver turns into `persist-failed`, never into a crash.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import { decodeConfig, type Report } from "@c8ylink/core";
import { Driver, FileStore, type StoreProblem } from "../src/index.js";
import { freePort, waitUntil } from "./support/broker.js";
import { passwordConfig } from "./support/fixture.js";
import { ObservedFs } from "./support/observed-fs.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "c8ylink-durable-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const openStore = async (fs: ObservedFs, options: { compactAtBytes?: number; fsync?: boolean } = {}) => {
  const problems: StoreProblem[] = [];
  const store = new FileStore(dir, { ...options, fs, onProblem: (p) => problems.push(p) });
  const loaded = await store.load();
  fs.reset();
  return { store, loaded, problems };
};

/** Lets every pending promise callback run (no timers involved). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

const record = (n: number) => ({ key: `outbox/${String(n).padStart(12, "0")}`, value: { ref: n } });
const credentials = { tenant: "t1", user: "device_x", password: "s3cret" };

describe("fsync is observable", () => {
  it("syncs the log once per batch", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    await store.apply([record(1), record(2)]);
    expect(fs.syncs()).toEqual(["datasync store.log"]);
    await store.apply([record(3)]);
    expect(fs.syncs()).toEqual(["datasync store.log", "datasync store.log"]);
    await store.close();
  });

  it("acknowledges a batch only after its fsync has completed", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    const release = fs.hold("datasync", /^store\.log$/);
    let acknowledged = false;
    const applied = store.apply([record(1)]).then(() => (acknowledged = true));
    await settle();
    expect(fs.count("write", "store.log")).toBe(1); // written, but not yet durable…
    expect(acknowledged).toBe(false); // …so not acknowledged
    release();
    await applied;
    expect(acknowledged).toBe(true);
    await store.close();
  });

  it("group commit: batches queued during an fsync share the next one", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    const release = fs.hold("datasync", /^store\.log$/);
    const first = store.apply([record(1)]);
    await settle();
    const rest = [2, 3, 4, 5].map((n) => store.apply([record(n)]));
    release();
    await Promise.all([first, ...rest]);
    expect(fs.syncs()).toEqual(["datasync store.log", "datasync store.log"]);
    expect(fs.count("write", "store.log")).toBe(2);
    await store.close();
  });

  it("replaces credentials atomically: sync the temp file, rename, sync the directory", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    await store.apply([{ key: "credentials", value: credentials }]);
    const steps = fs.calls.filter((c) => ["writeFile", "sync", "rename"].includes(c.op));
    expect(steps.map((c) => `${c.op} ${c.file}`)).toEqual([
      "writeFile credentials.json.tmp",
      "sync credentials.json.tmp",
      "rename credentials.json.tmp",
      `sync ${basename(dir)}`,
    ]);
    await store.close();
  });

  it("compaction syncs the snapshot and the directory before truncating the log, then syncs the log", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs, { compactAtBytes: 10 });
    await store.apply([record(1)]);
    expect(store.compactions).toBe(1);
    const steps = fs.calls.filter((c) => ["datasync", "sync", "rename", "truncate"].includes(c.op));
    expect(steps.map((c) => `${c.op} ${c.file}`)).toEqual([
      "datasync store.log",
      "sync snapshot.json.tmp",
      "rename snapshot.json.tmp",
      `sync ${basename(dir)}`,
      "truncate store.log",
      "sync store.log",
    ]);
    await store.close();
  });

  it("with fsync: false (an explicit trade-off) nothing is synced", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs, { fsync: false });
    await store.apply([record(1), { key: "credentials", value: credentials }]);
    expect(fs.syncs()).toEqual([]);
    await store.close();
  });
});

describe("write failures are rejected batches, not crashes", () => {
  it("ENOSPC on the log write rejects that batch; the store goes on and keeps later batches", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    fs.fail("write", "ENOSPC", /^store\.log$/);
    await expect(store.apply([record(1)])).rejects.toMatchObject({ code: "ENOSPC" });
    await store.apply([record(2)]);
    await store.close();
    const again = await openStore(new ObservedFs());
    expect(again.problems).toEqual([]);
    expect(again.loaded).toEqual({ [record(2).key]: record(2).value });
    await again.store.close();
  });

  it("ENOSPC on the fsync rejects the batch (it was never acknowledged)", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    fs.fail("datasync", "ENOSPC", /^store\.log$/);
    await expect(store.apply([record(1)])).rejects.toMatchObject({ code: "ENOSPC" });
    await store.close();
  });

  it("EACCES on the credentials temp file rejects the batch and leaves the old credentials", async () => {
    const fs = new ObservedFs();
    const { store } = await openStore(fs);
    await store.apply([{ key: "credentials", value: credentials }]);
    fs.fail("open", "EACCES", /^credentials\.json\.tmp$/);
    const next = { ...credentials, password: "n3w" };
    await expect(store.apply([{ key: "credentials", value: next }])).rejects.toMatchObject({
      code: "EACCES",
    });
    expect(JSON.parse(await readFile(join(dir, "credentials.json"), "utf8"))).toEqual(credentials);
    await store.apply([{ key: "credentials", value: next }]);
    expect(JSON.parse(await readFile(join(dir, "credentials.json"), "utf8"))).toEqual(next);
    await store.close();
  });

  it("leftover temp files from a crash are ignored at load and replaced by the next write", async () => {
    await writeFile(join(dir, "credentials.json.tmp"), '{"tenant":"half-writ');
    await writeFile(join(dir, "snapshot.json.tmp"), "garbage");
    const { store, loaded, problems } = await openStore(new ObservedFs(), { compactAtBytes: 10 });
    expect(loaded).toEqual({});
    expect(problems).toEqual([]);
    await store.apply([record(1), { key: "credentials", value: credentials }]);
    expect((await readdir(dir)).sort()).toEqual(["credentials.json", "snapshot.json", "store.log"]);
    await store.close();
    const again = await openStore(new ObservedFs());
    expect(again.loaded).toEqual({ credentials, [record(1).key]: record(1).value });
    await again.store.close();
  });

  it("a leftover temp path that cannot be replaced (a directory) rejects the batch", async () => {
    await mkdir(join(dir, "credentials.json.tmp"));
    const { store } = await openStore(new ObservedFs());
    await expect(store.apply([{ key: "credentials", value: credentials }])).rejects.toMatchObject({
      code: "EISDIR",
    });
    await store.close();
  });
});

describe("the driver reports a failed store write as persist-failed", () => {
  it.each(["ENOSPC", "EACCES"])(
    "%s on the log write: a persist-failed report, the driver keeps running",
    async (code) => {
      const fs = new ObservedFs();
      const store = new FileStore(dir, { fs });
      const decoded = decodeConfig(passwordConfig());
      if (E.isLeft(decoded)) throw new Error("bad config");
      const reports: Report[] = [];
      // Nothing listens on this port: the driver keeps retrying to connect, which is fine here.
      const driver = new Driver({
        config: decoded.right,
        url: `mqtt://127.0.0.1:${await freePort()}`,
        storage: store,
        onReport: (r) => reports.push(r),
      });
      try {
        await driver.start(); // loads the store
        fs.fail("write", code, /^store\.log$/);
        driver.post({ type: "submit", message: { template: "400", type: "t", text: "kept in memory" } });
        await waitUntil(() => reports.some((r) => r.kind === "persist-failed"), 10_000, "persist-failed");
        expect(reports.find((r) => r.kind === "persist-failed")).toMatchObject({
          kind: "persist-failed",
          message: expect.stringContaining(code),
        });
        expect(driver.fault).toBeNull();
        expect(driver.running).toBe(true);
      } finally {
        driver.close();
        await store.close();
      }
    },
  );
});
