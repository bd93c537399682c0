/**
 * The outbox rows of the crash test's writer (store-writer.ts): batch n owns refs
 * n·OUTBOX_ROWS + 1 … (n+1)·OUTBOX_ROWS; batch n+1 deletes the first OUTBOX_ACKED of them.
 */
export const OUTBOX_ROWS = 10;
export const OUTBOX_ACKED = 7;

export const outboxKey = (ref: number): string => `outbox/${String(ref).padStart(12, "0")}`;

/** A plain queued measurement, as the core writes it. */
export const outboxRow = (ref: number) => {
  const line = `200,c8y_Temperature,T,${ref},C`;
  return { ref, cls: "measurement", topic: "s/us", line, bytes: line.length, template: "200" };
};
