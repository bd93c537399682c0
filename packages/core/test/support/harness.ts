/**
 * A tiny scripted world around one engine, for scenario tests and properties.
 *
 * It remembers what the engine asked for and not yet got an answer to (connect,
 * subscribe, QoS 1 publishes, persists, timers, handed-out operations), and offers
 * readable verbs that answer those requests: `connack()`, `suback()`, `ackAll()`,
 * `persistAll()`, `advance(ms)`, `deliver(topic, payload)`, `finish(key, outcome)`.
 * Every event goes through the io-ts codec first (as a replayed log would).
 */
import * as E from "fp-ts/lib/Either.js";
import {
  EventCodec,
  decodeConfig,
  formatProblems,
  initialState,
  snapshotState,
  step,
  type Command,
  type EngineState,
  type Event,
  type EventInput,
  type OperationOutcome,
  type Report,
} from "@c8ylink/core";

export type Publish = Extract<Command, { type: "publish" }>;
export type { EventInput };

export class Harness {
  state: EngineState;
  now = 0;
  /** Every command, in order. */
  readonly commands: Command[] = [];
  /** Every event fed to `step`, in order (the event log). */
  readonly events: Event[] = [];
  /** The storage: what `persist` commands wrote. */
  readonly storage = new Map<string, unknown>();

  readonly timers = new Map<string, number>();
  pendingConnect: number | null = null;
  readonly pendingSubscribes: Extract<Command, { type: "subscribe" }>[] = [];
  readonly inflight: Publish[] = [];
  readonly pendingPersists: Extract<Command, { type: "persist" }>[] = [];
  readonly handedOut: Extract<Command, { type: "execute-operation" }>[] = [];
  /** Called after every step with the event, its commands and both states (used by invariant checkers). */
  readonly observers: ((
    event: Event,
    commands: readonly Command[],
    before: EngineState,
    after: EngineState,
  ) => void)[] = [];

  constructor(config: unknown, state?: EngineState) {
    const decoded = decodeConfig(config);
    if (E.isLeft(decoded)) throw new Error(`bad test config:\n${formatProblems(decoded.left)}`);
    this.state = state ?? initialState(decoded.right);
  }

  get connectionId(): number {
    return this.state.connectionId;
  }

  /** Feeds one event (stamped with the harness clock) and records what comes out. */
  send(input: EventInput, options: { raw?: boolean } = {}): Command[] {
    const event = { ...input, nowMs: this.now } as Event;
    let fed = event;
    if (options.raw !== true) {
      const decoded = EventCodec.decode(JSON.parse(JSON.stringify(event)));
      if (E.isLeft(decoded)) throw new Error(`event does not decode: ${JSON.stringify(event)}`);
      fed = decoded.right;
    }
    this.events.push(fed);
    const before = this.state;
    const beforeJson = JSON.stringify(snapshotState(before));
    const result = step(before, fed);
    if (JSON.stringify(snapshotState(before)) !== beforeJson) {
      throw new Error(`step mutated its input state on ${fed.type}`);
    }
    this.state = result.state;
    for (const c of result.commands) this.track(c);
    this.commands.push(...result.commands);
    for (const observe of this.observers) observe(fed, result.commands, before, result.state);
    return [...result.commands];
  }

  private track(c: Command): void {
    switch (c.type) {
      case "connect":
        this.pendingConnect = c.connectionId;
        this.pendingSubscribes.length = 0;
        this.inflight.length = 0;
        return;
      case "disconnect":
        if (this.pendingConnect === c.connectionId) this.pendingConnect = null;
        return;
      case "subscribe":
        this.pendingSubscribes.push(c);
        return;
      case "publish":
        if (c.qos > 0) this.inflight.push(c);
        return;
      case "persist":
        this.pendingPersists.push(c);
        return;
      case "timer-set":
        this.timers.set(c.key, c.atMs);
        return;
      case "timer-cancel":
        this.timers.delete(c.key);
        return;
      case "execute-operation":
        this.handedOut.push(c);
        return;
      case "report":
        return;
    }
  }

  start(durable: Record<string, unknown> = {}): Command[] {
    return this.send({ type: "start", durable });
  }

  connack(code = 0): Command[] {
    const id = this.pendingConnect ?? this.connectionId;
    this.pendingConnect = null;
    return code === 0
      ? this.send({ type: "connected", connectionId: id })
      : this.send({ type: "connect-failed", connectionId: id, cause: { kind: "refused", code } });
  }

  /** Answers the oldest outstanding SUBSCRIBE, granting `qos` per topic (default: as asked). */
  suback(granted?: number[]): Command[] {
    const sub = this.pendingSubscribes.shift();
    if (sub === undefined) throw new Error("no outstanding SUBSCRIBE");
    return this.send({
      type: "subscribed",
      connectionId: sub.connectionId,
      ref: sub.ref,
      granted: granted ?? sub.topics.map((t) => t.qos),
    });
  }

  /** PUBACKs every in-flight QoS 1 publish, oldest first, until none is left. */
  ackAll(limit = 10_000): Command[] {
    const out: Command[] = [];
    for (let i = 0; i < limit && this.inflight.length > 0; i++) out.push(...this.ackOldest());
    return out;
  }

  /** Completes every persist and acknowledges every publish until nothing is outstanding. */
  flush(limit = 1000): Command[] {
    const out: Command[] = [];
    for (let i = 0; i < limit && (this.pendingPersists.length > 0 || this.inflight.length > 0); i++) {
      out.push(...this.persistAll(), ...this.ackAll());
    }
    return out;
  }

  ackOldest(): Command[] {
    const p = this.inflight.shift();
    if (p === undefined) return [];
    return this.send({ type: "published", connectionId: p.connectionId, ref: p.ref });
  }

  /** Writes and confirms every outstanding persist, oldest first. */
  persistAll(limit = 10_000): Command[] {
    const out: Command[] = [];
    for (let i = 0; i < limit && this.pendingPersists.length > 0; i++) {
      const p = this.pendingPersists.shift()!;
      for (const change of p.changes) {
        if (change.value === null) this.storage.delete(change.key);
        else this.storage.set(change.key, JSON.parse(JSON.stringify(change.value)));
      }
      out.push(...this.send({ type: "persisted", ref: p.ref }));
    }
    return out;
  }

  /** Writes every outstanding persist as one batch and acknowledges them with one cumulative `persisted`. */
  persistBatch(): Command[] {
    const batch = this.pendingPersists.splice(0);
    const last = batch.at(-1);
    if (last === undefined) return [];
    for (const p of batch) {
      for (const change of p.changes) {
        if (change.value === null) this.storage.delete(change.key);
        else this.storage.set(change.key, JSON.parse(JSON.stringify(change.value)));
      }
    }
    return this.send({ type: "persisted", ref: last.ref });
  }

  /** Fails every outstanding persist with one cumulative `persist-failed`. */
  failPersistBatch(message = "disk full"): Command[] {
    const batch = this.pendingPersists.splice(0);
    const last = batch.at(-1);
    if (last === undefined) return [];
    return this.send({ type: "persist-failed", ref: last.ref, message });
  }

  failPersist(message = "disk full"): Command[] {
    const p = this.pendingPersists.shift();
    if (p === undefined) throw new Error("no outstanding persist");
    return this.send({ type: "persist-failed", ref: p.ref, message });
  }

  deliver(topic: string, payload: string): Command[] {
    return this.send({ type: "message", connectionId: this.connectionId, topic, payload });
  }

  drop(message = "connection reset"): Command[] {
    return this.send({
      type: "disconnected",
      connectionId: this.connectionId,
      cause: { kind: "network", message },
    });
  }

  /** Moves the clock forward, firing due timers in deadline order. */
  advance(ms: number): Command[] {
    const until = this.now + ms;
    const out: Command[] = [];
    for (;;) {
      const due = [...this.timers.entries()].filter(([, at]) => at <= until).sort((a, b) => a[1] - b[1])[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1]);
      out.push(...this.send({ type: "timer-fired", key: due[0] }));
    }
    this.now = until;
    return out;
  }

  finish(key: string, outcome: OperationOutcome): Command[] {
    return this.send({ type: "operation-result", key, outcome });
  }

  /** Boot → connect → (bootstrap →) subscribe → online, acknowledging everything on the way. */
  bringOnline(durable: Record<string, unknown> = {}): void {
    this.start(durable);
    for (let i = 0; i < 20 && this.state.phase.name !== "online"; i++) {
      if (this.pendingConnect !== null) this.connack();
      else if (this.pendingSubscribes.length > 0) this.suback();
      else if (this.pendingPersists.length > 0) this.persistAll();
      else if (this.state.phase.name === "bootstrapping") {
        this.deliver("s/dcr", "70,t100,device_x,pw");
      } else break;
    }
    if (this.state.phase.name !== "online") throw new Error(`not online: ${this.state.phase.name}`);
    // Acknowledge the session rows (with the 500), then let the 500 answer window pass.
    this.ackAll();
    const settle = this.timers.get("settle");
    if (settle !== undefined) this.advance(settle - this.now);
  }

  publishes(): Publish[] {
    return this.commands.filter((c): c is Publish => c.type === "publish");
  }

  reports(): Report[] {
    return this.commands.flatMap((c) => (c.type === "report" ? [c.report] : []));
  }

  rowsOn(topic: string): string[] {
    return this.publishes()
      .filter((p) => p.topic === topic)
      .flatMap((p) => (p.payload === "" ? [] : p.payload.split("\n")));
  }
}

export const commandsOf = <T extends Command["type"]>(commands: readonly Command[], type: T) =>
  commands.filter((c): c is Extract<Command, { type: T }> => c.type === type);
