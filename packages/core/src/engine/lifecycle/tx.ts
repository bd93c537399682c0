/**
 * The working set of one step: a private draft of the next state plus the commands, the
 * durable changes and the persist waiter it accumulates. Owns nothing else.
 */
import type { Command, DurableChange } from "../commands.js";
import type { EngineConfig, OutboxClass } from "../config.js";
import type { DraftClassState, Outbox } from "../outbox.js";
import type { Report } from "../reports.js";
import type { EngineState, Phase, PersistWaiter, SessionState, TimerKey } from "../state.js";
import { nextRandom } from "../prng.js";

type NumericCounter = {
  [K in keyof EngineState["counters"]]: EngineState["counters"][K] extends number ? K : never;
}[keyof EngineState["counters"]];

export interface StepResult {
  readonly state: EngineState;
  readonly commands: readonly Command[];
}

/**
 * A copy of a state with every field written out, not `{ ...state }`: V8 builds a spread copy
 * of this 21-field record as an empty object literal with the fields added after, most of them
 * out of line in a separate array (56 + 160 bytes instead of 192, and one more load per field
 * read). Every engine of a fleet keeps one such state; every step makes one.
 */
const draftOf = (s: EngineState): { -readonly [K in keyof EngineState]: EngineState[K] } => ({
  config: s.config,
  phase: s.phase,
  connectionId: s.connectionId,
  nextRef: s.nextRef,
  rng: s.rng,
  timers: s.timers,
  credentials: s.credentials,
  credentialRejects: s.credentialRejects,
  backoffAttempt: s.backoffAttempt,
  outbox: s.outbox,
  session: s.session,
  journal: s.journal,
  inventoryAcked: s.inventoryAcked,
  recent: s.recent,
  persistWaiters: s.persistWaiters,
  persistedUpTo: s.persistedUpTo,
  tombstones: s.tombstones,
  finishedIds: s.finishedIds,
  cleanupGroups: s.cleanupGroups,
  probes: s.probes,
  counters: s.counters,
});

/** A copy of a session record with its fields in line (see `draftOf`), to be patched. */
const sessionCopy = (s: SessionState): { -readonly [K in keyof SessionState]: SessionState[K] } => ({
  inflight: s.inflight,
  registrationRows: s.registrationRows,
  afterGateRows: s.afterGateRows,
  settle: s.settle,
  operationsById: s.operationsById,
});

/** Accumulates the next state and the commands of one step. Local to `step`: inputs stay untouched. */
export class Tx {
  readonly commands: Command[] = [];
  private changes: DurableChange[] = [];
  private waiter: { credentials: boolean; journalKeys: string[] } = { credentials: false, journalKeys: [] };

  /**
   * The next state, as a private draft: a shallow copy made once per step and patched in
   * place, so the input state is never touched and a step does not copy the state per change.
   */
  readonly s: { -readonly [K in keyof EngineState]: EngineState[K] };
  private countersCopied = false;
  /** The outbox record and class states this step created, so it may change them in place. */
  private ownedOutbox: Outbox | null = null;
  private readonly ownedClasses: Partial<Record<OutboxClass, DraftClassState>> = {};

  constructor(
    state: EngineState,
    readonly now: number,
  ) {
    this.s = draftOf(state);
  }

  get config(): EngineConfig {
    return this.s.config;
  }

  emit(command: Command): void {
    this.commands.push(command);
  }

  report(report: Report): void {
    this.emit({ type: "report", report });
  }

  set(patch: Partial<EngineState>): void {
    Object.assign(this.s, patch);
  }

  /** Patches the connection's own record (see `SessionState`). */
  setSession(patch: Partial<SessionState>): void {
    this.set({ session: Object.assign(sessionCopy(this.s.session), patch) });
  }

  count(patch: (c: EngineState["counters"]) => Partial<EngineState["counters"]>): void {
    if (!this.countersCopied) {
      this.s.counters = { ...this.s.counters };
      this.countersCopied = true;
    }
    Object.assign(this.s.counters, patch(this.s.counters));
  }

  /** Adds `n` to a numeric counter (no closure or patch object: this runs once per row). */
  add(key: NumericCounter, n: number): void {
    if (!this.countersCopied) {
      this.s.counters = { ...this.s.counters };
      this.countersCopied = true;
    }
    (this.s.counters as Record<NumericCounter, number>)[key] += n;
  }

  /**
   * The draft's state of outbox class `cls`, as an object this step created and may change in
   * place: copied (with the outbox record) the first time in the step, or whenever something
   * replaced it since. Objects of the input state are never changed.
   */
  ownClass(cls: OutboxClass): DraftClassState {
    let outbox = this.s.outbox;
    if (outbox !== this.ownedOutbox) {
      outbox = { ...outbox };
      this.s.outbox = outbox;
      this.ownedOutbox = outbox;
    }
    const current = outbox[cls];
    const owned = this.ownedClasses[cls];
    if (owned === current) return owned;
    const copy: DraftClassState = { ...current };
    (outbox as Record<OutboxClass, DraftClassState>)[cls] = copy;
    this.ownedClasses[cls] = copy;
    return copy;
  }

  ref(): number {
    const ref = this.s.nextRef;
    this.set({ nextRef: ref + 1 });
    return ref;
  }

  random(): number {
    const [value, rng] = nextRandom(this.s.rng);
    this.set({ rng });
    return value;
  }

  enter(phase: Phase, reason: string): void {
    const from = this.s.phase.name;
    this.set({ phase });
    if (from !== phase.name) this.report({ kind: "phase", from, to: phase.name, reason });
  }

  setTimer(key: TimerKey, atMs: number): void {
    this.set({ timers: { ...this.s.timers, [key]: atMs } });
    this.emit({ type: "timer-set", key, atMs });
  }

  cancelTimer(key: TimerKey): void {
    if (this.s.timers[key] === undefined) return;
    const { [key]: _gone, ...rest } = this.s.timers;
    this.set({ timers: rest });
    this.emit({ type: "timer-cancel", key });
  }

  /** Queues a durable change; all changes of a step go out as one `persist` command. */
  persist(key: string, value: unknown, wait?: { credentials?: boolean; journalKey?: string }): void {
    this.changes.push({ key, value });
    if (wait?.credentials === true) this.waiter.credentials = true;
    if (wait?.journalKey !== undefined) this.waiter.journalKeys.push(wait.journalKey);
  }

  /** The ref the pending persist will carry (allocated lazily, once per step). */
  private persistRef: number | null = null;
  pendingPersistRef(): number {
    if (this.persistRef === null) this.persistRef = this.ref();
    return this.persistRef;
  }

  finish(): StepResult {
    if (this.changes.length > 0) {
      const ref = this.pendingPersistRef();
      // Before the step's first `load-outbox`: a load reads what every persist issued before
      // it wrote, so rows this step stored beyond the head must be written first (else the
      // load finds none of them and they count as lost).
      const persist: Command = { type: "persist", ref, changes: this.changes };
      const firstLoad = this.commands.findIndex((c) => c.type === "load-outbox");
      if (firstLoad < 0) this.emit(persist);
      else this.commands.splice(firstLoad, 0, persist);
      if (this.waiter.credentials || this.waiter.journalKeys.length > 0) {
        const w: PersistWaiter = {
          credentials: this.waiter.credentials,
          journalKeys: this.waiter.journalKeys,
        };
        this.set({ persistWaiters: { ...this.s.persistWaiters, [ref]: w } });
      }
    }
    return { state: this.s, commands: this.commands };
  }
}
