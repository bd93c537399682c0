/**
 * Child process for the crash test (file-store.crash.test.ts): writes batches through a
 * FileStore as fast as it can, several in flight at once (group commit), and prints
 * `ack <n>` on stdout when batch n's promise resolved, i.e. when the store said it is durable.
 * It never stops by itself: the test kills it with SIGKILL, and gives up after `maxBatches`.
 *
 * Batch n: sets `rec/<n>` = {n, pad}, sets `counter` = n, deletes `tmp/<n-1>` and sets
 * `tmp/<n>`; every 5th batch also replaces `credentials` (its own file, atomic replace); it
 * deletes the first `OUTBOX_ACKED` outbox rows of batch n-1 and puts its own `OUTBOX_ROWS`.
 *
 * Usage: store-writer.ts <dir> <first batch number> <max batches> [file|sqlite]
 */
import { writeSync } from "node:fs";
import { FileStore } from "../../src/file-store.js";
import { SqliteStore } from "../../src/sqlite-store.js";
import { OUTBOX_ACKED, OUTBOX_ROWS, outboxKey, outboxRow } from "./store-writer-rows.js";

const [dir, firstArg, maxArg, kind = "file"] = process.argv.slice(2);
if (dir === undefined || firstArg === undefined || maxArg === undefined) {
  process.stderr.write("usage: store-writer.ts <dir> <first> <max> [file|sqlite]\n");
  process.exit(2);
}
const first = Number(firstArg);
const last = first + Number(maxArg);
const IN_FLIGHT = 4;

const batch = (n: number) => [
  { key: `rec/${n}`, value: { n, pad: "p".repeat(n % 200) } },
  { key: "counter", value: n },
  { key: `tmp/${n - 1}`, value: null },
  { key: `tmp/${n}`, value: n },
  ...(n % 5 === 0 ? [{ key: "credentials", value: { tenant: "t", user: "u", password: `pw${n}` } }] : []),
  // Outbox rows as the core queues and acknowledges them: the previous batch's first rows are
  // deleted (in the SQLite store a partial delete of its chunk), then this batch's rows are put.
  ...Array.from({ length: OUTBOX_ACKED }, (_, i) => ({
    key: outboxKey((n - 1) * OUTBOX_ROWS + i + 1),
    value: null,
  })),
  ...Array.from({ length: OUTBOX_ROWS }, (_, i) => {
    const ref = n * OUTBOX_ROWS + i + 1;
    return { key: outboxKey(ref), value: outboxRow(ref) };
  }),
];

const store = kind === "sqlite" ? new SqliteStore(dir) : new FileStore(dir, { compactAtBytes: 2 * 1024 });
await store.load();
// Synchronous writes: an `ack` line is out of this process before the next batch starts.
writeSync(1, "ready\n");
let next = first;
const writeOne = async (): Promise<void> => {
  while (next < last) {
    const n = next++;
    await store.apply(batch(n));
    writeSync(1, `ack ${n}\n`);
  }
};
await Promise.all(Array.from({ length: IN_FLIGHT }, writeOne));
await store.close();
