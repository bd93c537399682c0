/**
 * @c8ylink/fake — a deterministic in-memory world: many c8ylink engines against the platform
 * model, over a simulated broker and network with seeded faults, on a virtual clock.
 * See README.md.
 */
export {
  World,
  runWorld,
  type AuthKind,
  type DeviceSummary,
  type EventInput,
  type OperationKind,
  type OperationsMode,
  type Violation,
  type WorldOptions,
  type WorldReport,
} from "./world.js";
export {
  FAULT_LABELS,
  FAULT_NAMES,
  NO_FAULTS,
  describePlan,
  enabledFaults,
  swarmPlan,
  type FaultName,
  type FaultPlan,
} from "./faults.js";
export { Rng, TraceHash } from "./prng.js";
export { Agenda } from "./heap.js";
export { summaryLine, reproduceCommand, explain, modeLabel } from "./summary.js";
