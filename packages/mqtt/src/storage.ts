/**
 * The storage port: a dumb key-value store the core persists its durable records into
 * (see `DURABLE` in `@c8ylink/core`). The core decodes every record it gets back at start,
 * so adapters never interpret values.
 */
import type { DurableChange } from "@c8ylink/core";
import { OutboxIndex } from "./outbox-index.js";

export interface Storage {
  /** Every record currently stored (key → value). Called once, before the engine starts. */
  load(): Promise<Record<string, unknown>>;
  /**
   * Applies one batch of changes (`value: null` deletes the key). The batch must be durable
   * when the promise resolves. Calls are issued one after another and must complete in order.
   */
  apply(changes: readonly DurableChange[]): Promise<void>;
  /** Releases resources; called once by `Engine.stop()` after the last `apply` settled. */
  close?(): Promise<void>;
  /**
   * Up to `max` stored outbox values (`outbox/<ref>` records) of class `cls` (their `cls`
   * field) with a ref above `afterRef`, in ref order, reflecting every `apply` issued before.
   * The core pages its outbox through it (`outboxMemoryRows` rows per class in memory):
   * a storage without it cannot hold more than that many queued rows per class.
   */
  loadOutbox?(cls: string, afterRef: number, max: number): Promise<unknown[]>;
  /**
   * Like `load()`, but at most `memoryRows` outbox rows of each class (all operation
   * statuses), with count, bytes and last ref of the rows held beyond them: a restart with a
   * large backlog reads only what the core keeps in memory.
   */
  loadPaged?(memoryRows: number): Promise<PagedLoad>;
}

export interface PagedLoad {
  readonly records: Record<string, unknown>;
  readonly outboxStored: Record<string, OutboxStats>;
}

/** What a store holds of one outbox class (stores that index the outbox by class). */
export interface OutboxStats {
  readonly count: number;
  readonly bytes: number;
  readonly lastRef: number;
}

/** A volatile storage in memory: for tests and for devices that accept losing data on restart. */
export class MemoryStorage implements Storage {
  // Created on the first record: an engine that never persists anything (a fleet of idle
  // engines, mostly) keeps no empty hash table.
  private recordMap: Map<string, unknown> | null = null;
  // Likewise the outbox index: created for the first outbox row, dropped when it holds none.
  private outbox: OutboxIndex | null = null;

  constructor(initial: Readonly<Record<string, unknown>> = {}) {
    for (const [k, v] of Object.entries(initial)) {
      (this.recordMap ??= new Map()).set(k, v);
      this.indexChange(k, v);
    }
  }

  private indexChange(key: string, value: unknown): void {
    if (value === null && this.outbox === null) return; // nothing indexed to delete
    const index = (this.outbox ??= new OutboxIndex());
    index.change(key, value);
    if (index.empty) this.outbox = null;
  }

  /** Every record held now. */
  get records(): ReadonlyMap<string, unknown> {
    return this.recordMap ?? new Map();
  }

  loadOutbox(cls: string, afterRef: number, max: number): Promise<unknown[]> {
    return Promise.resolve(this.outbox?.load(cls, afterRef, max) ?? []);
  }

  load(): Promise<Record<string, unknown>> {
    return Promise.resolve(Object.fromEntries(this.records));
  }

  apply(changes: readonly DurableChange[]): Promise<void> {
    for (const { key, value } of changes) {
      this.indexChange(key, value);
      if (value === null) {
        this.recordMap?.delete(key);
        if (this.recordMap?.size === 0) this.recordMap = null;
      }
      // Values come from the core, which never mutates data it has emitted: no copy needed.
      else (this.recordMap ??= new Map()).set(key, value);
    }
    return Promise.resolve();
  }
}
