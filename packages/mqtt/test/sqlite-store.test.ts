/**
 * The SQLite store: round trips, the outbox table read a class at a time, group commit,
 * failures that reject a batch (never crash, never take the other batches of the group
 * down), corrupt records skipped, and the one-time import of a file-store state directory.
 * Crash safety under SIGKILL is in file-store.crash.test.ts (run for both stores).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import type BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileStore, type StoreProblem } from "../src/file-store.js";
import { SqliteStore, type SqliteStoreOptions } from "../src/sqlite-store.js";

const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "c8ylink-sqlite-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = async (options: SqliteStoreOptions = {}) => {
  const problems: StoreProblem[] = [];
  const store = new SqliteStore(dir, { ...options, onProblem: (p) => problems.push(p) });
  const loaded = await store.load();
  return { store, loaded, problems };
};

const key = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;
const row = (ref: number, cls: string) => ({ ref, cls, bytes: 5 + ref, line: `200,${ref}` });
const credentials = { tenant: "t1", user: "device_x", password: "s3cret" };

const diskFull = (): Error => Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });

describe("SqliteStore", () => {
  it("round-trips records, outbox rows, deletions and credentials across reopen", async () => {
    const a = await open();
    expect(a.loaded).toEqual({});
    await a.store.apply([
      { key: key(1), value: row(1, "measurement") },
      { key: key(2), value: row(2, "alarm") },
      { key: "credentials", value: credentials },
    ]);
    await a.store.apply([
      { key: key(1), value: null },
      { key: "inventory", value: { "s/us 114": "114,c8y_Restart" } },
    ]);
    await a.store.close();

    const b = await open();
    expect(b.problems).toEqual([]);
    expect(b.loaded).toEqual({
      credentials,
      [key(2)]: row(2, "alarm"),
      inventory: { "s/us 114": "114,c8y_Restart" },
    });
    await b.store.apply([{ key: "credentials", value: null }]);
    await b.store.close();
    const c = await open();
    expect(c.loaded.credentials).toBeUndefined();
    await c.store.close();
  });

  it("reads the outbox a class at a time in ref order, and counts it per class", async () => {
    const { store } = await open();
    const classes = ["measurement", "event", "measurement", "alarm", "measurement", "measurement"];
    await store.apply(classes.map((cls, i) => ({ key: key(i + 1), value: row(i + 1, cls) })));
    await store.apply([{ key: key(3), value: null }]);
    expect(await store.loadOutbox("measurement", 0, 2)).toEqual([
      row(1, "measurement"),
      row(5, "measurement"),
    ]);
    expect(await store.loadOutbox("measurement", 5, 10)).toEqual([row(6, "measurement")]);
    expect(await store.loadOutbox("event", 0, 10)).toEqual([row(2, "event")]);
    expect(await store.outboxStats()).toEqual({
      measurement: { count: 3, bytes: 6 + 10 + 11, lastRef: 6 },
      event: { count: 1, bytes: 7, lastRef: 2 },
      alarm: { count: 1, bytes: 9, lastRef: 4 },
    });
    await store.close();
  });

  it("keeps keys that only look like outbox keys, and values without a class, as they are", async () => {
    const a = await open();
    await a.store.apply([
      { key: "outbox/17", value: "short key" },
      { key: key(9), value: [1, 2] },
    ]);
    await a.store.close();
    const b = await open();
    expect(b.loaded).toEqual({ "outbox/17": "short key", [key(9)]: [1, 2] });
    await b.store.close();
  });

  it("creates the database with mode 0600", async () => {
    const { store } = await open();
    await store.apply([{ key: "credentials", value: credentials }]);
    expect((await stat(join(dir, "store.db"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "store.db-wal"))).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it("group commit: batches applied in one macrotask share one transaction and complete in order", async () => {
    const { store } = await open();
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        store.apply([{ key: key(n), value: row(n, "event") }]).then(() => order.push(n)),
      ),
    );
    expect(order).toEqual([1, 2, 3, 4]);
    expect(store.commits).toBe(1);
    await store.close();
  });

  it("a write failure (ENOSPC) rejects that batch only; the store goes on and keeps the others", async () => {
    let failNext = 0;
    const { store } = await open({
      beforeCommit: (batches) => {
        // The group fails, then the retry of its first batch alone.
        if (failNext > 0) {
          failNext--;
          throw diskFull();
        }
        expect(batches).toBeGreaterThan(0);
      },
    });
    failNext = 2;
    const results = await Promise.allSettled([
      store.apply([{ key: key(1), value: row(1, "event") }]),
      store.apply([{ key: key(2), value: row(2, "event") }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: "ENOSPC" });
    await store.apply([{ key: key(3), value: row(3, "event") }]);
    await store.close();
    const b = await open();
    expect(Object.keys(b.loaded)).toEqual([key(2), key(3)]);
    await b.store.close();
  });

  it("applies a batch's puts and deletes in order, whatever runs they form", async () => {
    const { store } = await open();
    const changes: { key: string; value: unknown }[] = [];
    for (let ref = 1; ref <= 200; ref++) changes.push({ key: key(ref), value: row(ref, "event") });
    changes.push({ key: key(500), value: row(500, "alarm") });
    // A run of consecutive refs with one gap (77 stays), then 77 rewritten, then single deletes.
    for (let ref = 5; ref <= 150; ref++) if (ref !== 77) changes.push({ key: key(ref), value: null });
    changes.push({ key: key(77), value: { ...row(77, "event"), line: "rewritten" } });
    changes.push({ key: key(199), value: null }, { key: key(3), value: null });
    // Put after delete of the same ref in one batch: the put wins.
    changes.push({ key: key(4), value: null }, { key: key(4), value: row(4, "event") });
    await store.apply(changes);
    const expected = [1, 2, 4, 77, ...Array.from({ length: 50 }, (_, i) => 151 + i).filter((r) => r !== 199)];
    const events = (await store.loadOutbox("event", 0, 1000)) as { ref: number; line: string }[];
    expect(events.map((e) => e.ref)).toEqual(expected);
    expect(events.find((e) => e.ref === 77)?.line).toBe("rewritten");
    expect(((await store.loadOutbox("alarm", 0, 10)) as { ref: number }[]).map((e) => e.ref)).toEqual([500]);
    await store.close();
    const b = await open();
    expect(Object.keys(b.loaded).filter((k) => k.startsWith("outbox/")).length).toBe(expected.length + 1);
    await b.store.close();
  });

  it("resolves a batch only after an fsync of the WAL that began after its commit", async () => {
    const syncs: { fd: number; done: () => void; fail: (e: Error) => void }[] = [];
    const { store } = await open({
      fsyncFd: (fd) => new Promise((done, fail) => syncs.push({ fd, done, fail })),
    });
    let first = false;
    const a = store.apply([{ key: key(1), value: row(1, "event") }]).then(() => (first = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(syncs).toHaveLength(1);
    expect(first).toBe(false);
    // Committed while the first fsync runs: waits for a second one, shared with later commits.
    const b = store.apply([{ key: key(2), value: row(2, "event") }]);
    await new Promise((r) => setTimeout(r, 20));
    const c = store.apply([{ key: key(3), value: row(3, "event") }]);
    await new Promise((r) => setTimeout(r, 20));
    expect(syncs).toHaveLength(1);
    syncs[0]!.done();
    await a;
    expect(first).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(syncs).toHaveLength(2);
    syncs[1]!.fail(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }));
    await expect(b).rejects.toMatchObject({ code: "EIO" });
    await expect(c).rejects.toMatchObject({ code: "EIO" });
    const d = store.apply([{ key: key(4), value: row(4, "event") }]);
    await new Promise((r) => setTimeout(r, 20));
    syncs[2]!.done();
    await d;
    await store.close();
  });

  it("does not hold a committed batch's changes while its fsync runs", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let sync: (() => void) | undefined;
    const { store } = await open({ fsyncFd: () => new Promise<void>((done) => (sync = done)) });
    const written = (() => {
      const changes = [{ key: key(1), value: row(1, "event") }];
      return { ref: new WeakRef(changes), durable: store.apply(changes) };
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(sync).toBeDefined();
    gc();
    await new Promise((r) => setTimeout(r, 0));
    gc();
    expect(written.ref.deref()).toBeUndefined();
    sync?.();
    await written.durable;
    await store.close();
  });

  it("a failed batch leaves nothing of itself behind (one transaction)", async () => {
    const { store } = await open();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(
      store.apply([
        { key: key(1), value: row(1, "event") },
        { key: "broken", value: cyclic },
      ]),
    ).rejects.toThrow();
    await store.close();
    const b = await open();
    expect(b.loaded).toEqual({});
    await b.store.close();
  });

  it("reports a corrupt record and starts without it", async () => {
    const a = await open();
    await a.store.apply([
      { key: "inventory", value: { a: "b" } },
      { key: key(1), value: row(1, "event") },
    ]);
    await a.store.close();
    const db = new Database(join(dir, "store.db"));
    db.prepare("UPDATE outbox SET value = '{\"ref\":' WHERE ref = 1").run();
    db.close();
    const b = await open();
    expect(b.loaded).toEqual({ inventory: { a: "b" } });
    expect(b.problems).toHaveLength(1);
    expect(b.problems[0]?.reason).toMatch(/^record outbox\/000000000001: corrupt JSON ignored/);
    await b.store.close();
  });

  it("imports a file-store state directory once and removes its files", async () => {
    const files = new FileStore(dir);
    await files.load();
    await files.apply([
      { key: key(1), value: row(1, "measurement") },
      { key: "credentials", value: credentials },
      { key: "inventory", value: { x: "y" } },
    ]);
    await files.close();
    const a = await open();
    expect(a.loaded).toEqual({ [key(1)]: row(1, "measurement"), credentials, inventory: { x: "y" } });
    for (const f of ["store.log", "snapshot.json", "credentials.json"])
      expect(existsSync(join(dir, f))).toBe(false);
    await a.store.apply([{ key: key(1), value: null }]);
    await a.store.close();
    const b = await open();
    expect(b.loaded).toEqual({ credentials, inventory: { x: "y" } });
    await b.store.close();
  });

  it("after a crash between the import and the removal of the old files, does not import them again", async () => {
    const a = await open();
    await a.store.apply([{ key: "inventory", value: { x: "new" } }]);
    await a.store.close();
    const db = new Database(join(dir, "store.db"));
    db.prepare("INSERT INTO meta (key, value) VALUES ('imported-file-store', '1')").run();
    db.close();
    const files = new FileStore(dir);
    await files.load();
    await files.apply([{ key: "inventory", value: { x: "old" } }]);
    await files.close();
    const b = await open();
    expect(b.loaded).toEqual({ inventory: { x: "new" } });
    expect(existsSync(join(dir, "store.log"))).toBe(false);
    await b.store.close();
  });
});
