/**
 * `@c8ylink/mqtt`: the imperative shell around `@c8ylink/core`.
 *
 * - `createEngine` — the embedding API (start, submit, operation handlers, stop).
 * - `Driver` — the interpreter loop (MQTT.js, timers, storage), for custom embeddings.
 * - `SqliteStore` / `FileStore` / `MemoryStorage` — storage adapters; `Storage` is the port.
 * - `Recorder` — the event-log writer (replay with `parseLog` + `replay` from the core).
 * - `claimStateDir` — the lock and device binding of a state directory (done by `start()`).
 */
export {
  createEngine,
  ENGINE_VERSION,
  type Engine,
  type EngineOptions,
  type EngineConfigInput,
  type Operation,
  type OperationContext,
  type OperationHandler,
  type OperationOutcome,
  type SubmitCustomOptions,
  type SubmitOptions,
  type SubmitResult,
  type SubmitRow,
  type BatchResult,
} from "./engine.js";
export {
  coreInvariants,
  Driver,
  type DriverOptions,
  type EventInput,
  type ExecuteOperationCommand,
  type InvariantCheck,
  type StepRecorder,
  type TlsOptions,
} from "./driver.js";
export {
  FileStore,
  type FileStoreOptions,
  type StoreFileHandle,
  type StoreFs,
  type StoreProblem,
} from "./file-store.js";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export { Recorder, readLogFile, type RecorderOptions } from "./recorder.js";
export { MemoryStorage, type OutboxStats, type PagedLoad, type Storage } from "./storage.js";
export { claimStateDir, StateDirError, type StateDirClaim } from "./state-dir.js";
export { certificateProblem, keyMatchProblem, privateKeyProblem, tlsProblems } from "./tls-check.js";
export { monotonicClock, type Clock } from "./clock.js";
export { jwtExpiryMs, type TenantAuth } from "./tenant-auth.js";
