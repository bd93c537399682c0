export * from "./config.js";
export * from "./decode.js";
export * from "./suggest.js";
export * from "./events.js";
export * from "./commands.js";
export * from "./reports.js";
export * from "./state.js";
export * from "./step.js";
export { assertNever } from "./assert-never.js";
export * from "./invariants.js";
export * from "./durable.js";
export {
  type AnyOperation,
  type CustomOperation,
  type Journal,
  type JournalEntry,
  type JournalStage,
  emptyJournal,
  entryOf,
  openEntries,
  putEntry,
} from "./journal.js";
export { finishedRecord, isFinished } from "./finished-ids.js";
export { type Outbox, type OutboxEntry, heldCount, queuedCount } from "./outbox.js";
export * as Queue from "./queue.js";
export * from "./log.js";
export {
  addInflight,
  emptyInflight,
  findInflight,
  inflightPackets,
  takeInflight,
  type Inflight,
  type InflightPacket,
} from "./inflight.js";
