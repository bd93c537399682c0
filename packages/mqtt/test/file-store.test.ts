import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileStore, type StoreProblem } from "../src/file-store.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "c8ylink-store-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = async (options: { compactAtBytes?: number } = {}) => {
  const problems: StoreProblem[] = [];
  const store = new FileStore(dir, { ...options, onProblem: (p) => problems.push(p) });
  const loaded = await store.load();
  return { store, loaded, problems };
};

const credentials = { tenant: "t1", user: "device_x", password: "s3cret" };

describe("FileStore", () => {
  it("round-trips records, deletions and credentials across reopen", async () => {
    const a = await open();
    expect(a.loaded).toEqual({});
    await a.store.apply([
      { key: "outbox/000000000001", value: { ref: 1, line: "200,a" } },
      { key: "outbox/000000000002", value: { ref: 2, line: "200,b" } },
      { key: "credentials", value: credentials },
    ]);
    await a.store.apply([
      { key: "outbox/000000000001", value: null },
      { key: "inventory", value: { "s/us 114": "114,c8y_Restart" } },
    ]);
    await a.store.close();

    const b = await open();
    expect(b.problems).toEqual([]);
    expect(b.loaded).toEqual({
      credentials,
      "outbox/000000000002": { ref: 2, line: "200,b" },
      inventory: { "s/us 114": "114,c8y_Restart" },
    });
    // Credentials live in their own file, never in the log.
    expect(await readFile(join(dir, "store.log"), "utf8")).not.toContain("s3cret");
    expect(JSON.parse(await readFile(join(dir, "credentials.json"), "utf8"))).toEqual(credentials);

    await b.store.apply([{ key: "credentials", value: null }]);
    await b.store.close();
    const c = await open();
    expect(c.loaded.credentials).toBeUndefined();
    await c.store.close();
  });

  it("writes credentials.json, the log and the snapshot with mode 0600", async () => {
    const a = await open({ compactAtBytes: 10 });
    await a.store.apply([{ key: "credentials", value: credentials }]);
    await a.store.apply([{ key: "outbox/000000000001", value: { line: "x".repeat(50) } }]);
    await a.store.close();
    for (const f of ["credentials.json", "store.log", "snapshot.json"]) {
      expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600);
    }
    expect((await stat(dir)).mode & 0o077).toBe(0);
  });

  it("survives a crash in the middle of an append: the truncated last line is reported and skipped", async () => {
    const a = await open();
    await a.store.apply([{ key: "outbox/000000000001", value: { line: "one" } }]);
    await a.store.apply([{ key: "outbox/000000000002", value: { line: "two" } }]);
    await a.store.close();
    // Simulate the crash: a torn third batch without its newline.
    await appendFile(join(dir, "store.log"), '{"changes":[{"key":"outbox/000000000003","val');

    const b = await open();
    expect(b.loaded).toEqual({
      "outbox/000000000001": { line: "one" },
      "outbox/000000000002": { line: "two" },
    });
    expect(b.problems).toHaveLength(1);
    expect(b.problems[0]).toMatchObject({ file: "store.log", line: 3 });
    expect(b.problems[0]?.reason).toMatch(/truncated last line/);
    // The torn tail was compacted away, so the next append is readable.
    await b.store.apply([{ key: "outbox/000000000004", value: { line: "four" } }]);
    await b.store.close();

    const c = await open();
    expect(c.problems).toEqual([]);
    expect(Object.keys(c.loaded).sort()).toEqual([
      "outbox/000000000001",
      "outbox/000000000002",
      "outbox/000000000004",
    ]);
    await c.store.close();
  });

  it("skips a corrupt line in the middle and corrupt files without crashing", async () => {
    await writeFile(
      join(dir, "store.log"),
      ['{"changes":[{"key":"a","value":1}]}', "garbage", '{"changes":[{"key":"b","value":2}]}', ""].join(
        "\n",
      ),
    );
    await writeFile(join(dir, "credentials.json"), "{not json");
    await writeFile(join(dir, "snapshot.json"), "[1,2]");
    const a = await open();
    expect(a.loaded).toEqual({ a: 1, b: 2 });
    expect(a.problems.map((p) => p.file).sort()).toEqual(["credentials.json", "snapshot.json", "store.log"]);
    expect(a.problems.find((p) => p.file === "store.log")).toMatchObject({ line: 2 });
    await a.store.close();
  });

  it("compacts the log into a snapshot once it grows beyond the threshold", async () => {
    const a = await open({ compactAtBytes: 2_000 });
    for (let i = 0; i < 200; i++) {
      await a.store.apply([
        { key: `outbox/${String(i).padStart(12, "0")}`, value: { ref: i, line: `200,c8y_T,T,${i}` } },
        ...(i >= 10 ? [{ key: `outbox/${String(i - 10).padStart(12, "0")}`, value: null }] : []),
      ]);
    }
    expect(a.store.compactions).toBeGreaterThan(5);
    expect(a.store.logSize).toBeLessThanOrEqual(2_000);
    await a.store.close();
    expect((await stat(join(dir, "store.log"))).size).toBeLessThanOrEqual(2_000);

    const b = await open({ compactAtBytes: 2_000 });
    expect(b.problems).toEqual([]);
    expect(Object.keys(b.loaded)).toHaveLength(10);
    expect(b.loaded["outbox/000000000199"]).toEqual({ ref: 199, line: "200,c8y_T,T,199" });
    await b.store.close();
  });

  it("replays a log that survived a crash between snapshot rename and log truncation", async () => {
    const a = await open();
    await a.store.apply([{ key: "k", value: 1 }]);
    await a.store.apply([
      { key: "k", value: null },
      { key: "j", value: 2 },
    ]);
    await a.store.close();
    // The snapshot already holds the final state, the log still holds both batches.
    await writeFile(join(dir, "snapshot.json"), JSON.stringify({ j: 2 }));
    const b = await open();
    expect(b.loaded).toEqual({ j: 2 });
    await b.store.close();
  });

  it("completes concurrent applies in order (group commit)", async () => {
    const a = await open();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        a.store.apply([{ key: "counter", value: i }]).then(() => order.push(i)),
      ),
    );
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await a.store.close();
    const b = await open();
    expect(b.loaded.counter).toBe(49);
    await b.store.close();
  });
});
