/** Rows from stdin with backpressure: reading pauses while too many rows are not yet durable. */
import { describe, expect, it } from "vitest";
import type { DurableChange } from "@c8ylink/core";
import { createEngine, MemoryStorage, type Storage } from "@c8ylink/mqtt";
import { readRows } from "../src/stdin-rows.js";
import { closedPort } from "./process-support.js";
import { memoryIo } from "./support.js";

/** Storage whose writes wait while it is closed. */
class Valve implements Storage {
  private readonly inner = new MemoryStorage();
  private open = false;
  private waiting: (() => void)[] = [];
  load() {
    return this.inner.load();
  }
  async apply(changes: readonly DurableChange[]): Promise<void> {
    if (!this.open) await new Promise<void>((resolve) => this.waiting.push(resolve));
    await this.inner.apply(changes);
  }
  shut(): void {
    this.open = false;
  }
  release(): void {
    this.open = true;
    for (const w of this.waiting.splice(0)) w();
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe("readRows", () => {
  it("keeps rows read but not durable within the bound, and goes on once they are durable", async () => {
    const storage = new Valve();
    const engine = createEngine({
      config: {
        deviceId: "bp-1",
        auth: { mode: "password", tenant: "t", user: "u", password: "p" },
        outbox: { measurement: { maxMessages: 20_000 } },
      },
      url: `mqtt://127.0.0.1:${await closedPort()}`,
      storage,
    });
    const startDone = engine.start();
    storage.release(); // the start's load and first writes
    await startDone;
    storage.shut(); // from now on, writes wait
    const m = memoryIo();
    const bad: string[] = [];
    const reader = readRows(engine, m.io.input, {
      maxUndurable: 1_000,
      onBadLine: (line, message) => bad.push(`${line}: ${message}`),
      onNotDurable: (message) => bad.push(message),
    });
    m.stdin.end(Array.from({ length: 10_000 }, (_, i) => `200,c8y_T,T,${i + 1},C\n`).join(""));
    await settle();
    const paused = reader.progress();
    // Rows read (submitted or in hand) never exceed the bound while nothing is durable.
    expect(paused.lines).toBeLessThanOrEqual(1_000);
    expect(paused.lines).toBeGreaterThan(0);
    expect(engine.undurableCount()).toBeLessThanOrEqual(1_000);
    expect(paused.durable).toBe(0);
    await settle();
    expect(reader.progress().lines).toBe(paused.lines); // still paused
    storage.release();
    await reader.done;
    await engine.whenDurable();
    expect(reader.progress()).toMatchObject({
      lines: 10_000,
      accepted: 10_000,
      durable: 10_000,
      durableLine: 10_000,
    });
    expect(bad).toEqual([]);
    await engine.stop();
  });
});
