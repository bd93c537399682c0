/**
 * Boot and recovery: the `start` event, reading back the durable records (credentials,
 * inventory, outbox, journal) and ending the operations that were executing when the process
 * died. Then the first connect.
 */
import * as E from "fp-ts/lib/Either.js";
import type { OperationOutcome } from "../events.js";
import { markUncertain, restoreStored, type OutboxEntry } from "../outbox.js";
import { OUTBOX_CLASSES, type OutboxClass } from "../config.js";
import { restoreEntry } from "./outbox-pump.js";
import { addFinished, emptyFinishedIds } from "../finished-ids.js";
import { DurableJournalEntryCodec, openEntries, putEntry, type JournalEntry } from "../journal.js";
import {
  DurableOutboxEntryCodec,
  DurableCredentialsCodec,
  DurableInventoryCodec,
  DurableFinishedCodec,
  DURABLE,
} from "../durable.js";
import { decode, formatProblems } from "../decode.js";
import { customCandidate, notificationCandidate, staticCandidate } from "./candidates.js";
import { advanceAll, finishOperation, markForCleanup } from "./operations.js";
import { enqueueStatus } from "./statuses.js";
import { connect } from "./session.js";
import type { Tx } from "./tx.js";

/** Rows a paging store holds beyond the restored head, per class. */
export type OutboxStored = Readonly<Record<string, { count: number; bytes: number; lastRef: number }>>;

export const onStart = (
  tx: Tx,
  durable: Readonly<Record<string, unknown>>,
  outboxStored: OutboxStored,
): void => {
  if (tx.s.phase.name !== "idle") {
    tx.report({
      kind: "invalid-input",
      source: "start",
      reason: `engine already started (${tx.s.phase.name})`,
    });
    return;
  }
  restoreDurable(tx, durable, outboxStored);
  connect(tx, "boot");
};

const restoreDurable = (
  tx: Tx,
  durable: Readonly<Record<string, unknown>>,
  outboxStored: OutboxStored,
): void => {
  const invalid = (key: string, reason: string) => {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: `durable ${key}`, reason });
  };
  let journalUnreadable = false;
  let finishedIds = emptyFinishedIds;
  const outboxEntries: OutboxEntry[] = [];
  let maxRef = 0;
  for (const key of Object.keys(durable).sort()) {
    const value = durable[key];
    if (key === DURABLE.credentials) {
      const c = decode(DurableCredentialsCodec, value);
      if (E.isLeft(c)) invalid(key, formatProblems(c.left));
      else if (tx.config.auth.mode === "bootstrap") tx.set({ credentials: c.right });
    } else if (key === DURABLE.inventory) {
      const inv = decode(DurableInventoryCodec, value);
      if (E.isLeft(inv)) invalid(key, formatProblems(inv.left));
      else tx.set({ inventoryAcked: inv.right });
    } else if (key.startsWith(DURABLE.outboxPrefix)) {
      const entry = decode(DurableOutboxEntryCodec, value);
      if (E.isLeft(entry)) invalid(key, formatProblems(entry.left));
      else {
        outboxEntries.push(entry.right);
        maxRef = Math.max(maxRef, entry.right.ref);
      }
    } else if (key.startsWith(DURABLE.journalPrefix)) {
      const entry = decode(DurableJournalEntryCodec, value);
      if (E.isLeft(entry)) {
        journalUnreadable = true;
        invalid(key, formatProblems(entry.left));
      } else {
        const d = entry.right;
        const xid = d.xid ?? null;
        const again =
          d.json !== undefined
            ? notificationCandidate(tx.config, d.json)
            : xid === null
              ? staticCandidate(tx.config, d.raw)
              : customCandidate(tx.config, xid, d.raw);
        const candidate = "candidate" in again ? again.candidate : null;
        const { xid: _x, json: _j, operationId: _o, ...stored } = d;
        const restored: JournalEntry = {
          ...stored,
          raw: d.raw,
          xid,
          json: d.json ?? null,
          operationId: d.operationId ?? candidate?.operationId ?? null,
          operation: candidate?.operation ?? null,
          order: d.order ?? d.seq,
          executingAcked: false,
          handedOut: false,
          persistRef: null,
          duplicates: 0,
        };
        tx.set({ journal: putEntry(tx.s.journal, restored) });
      }
    } else if (key.startsWith(DURABLE.finishedPrefix)) {
      const finished = decode(DurableFinishedCodec, value);
      if (E.isLeft(finished)) invalid(key, formatProblems(finished.left));
      else
        finishedIds = addFinished(finishedIds, key.slice(DURABLE.finishedPrefix.length), finished.right.atMs);
    } else {
      invalid(key, "unknown durable key");
    }
  }
  tx.set({ finishedIds });
  for (const { durableAfter: _durable, ...entry } of outboxEntries.sort((a, b) => a.ref - b.ref)) {
    restoreEntry(tx, markUncertain(entry)); // read back from storage: durable
  }
  for (const [cls, stored] of Object.entries(outboxStored)) {
    if (stored.count <= 0) continue;
    if (!OUTBOX_CLASSES.includes(cls as OutboxClass) || cls === "operation-status") {
      invalid(`outbox stored ${cls}`, "not a pageable outbox class");
      continue;
    }
    // Held only by the store, after the restored head: read back as the head drains.
    tx.set({ outbox: restoreStored(tx.s.outbox, cls as OutboxClass, stored.count, stored.bytes) });
    tx.count((c) => ({ admitted: c.admitted + stored.count }));
    maxRef = Math.max(maxRef, stored.lastRef);
  }
  tx.set({ nextRef: Math.max(tx.s.nextRef, maxRef + 1) });
  recoverAfterRestart(tx, journalUnreadable);
};

/**
 * Operations that were executing when the process died end now, except those of a resumable
 * fragment, which are handed to the application again; see the theory of operation.
 */
const recoverAfterRestart = (tx: Tx, journalUnreadable: boolean): void => {
  for (const entry of openEntries(tx.s.journal).sort((a, b) => a.seq - b.seq)) {
    if (entry.stage !== "executing") continue;
    if (entry.operation !== null && tx.config.resumableOperations.includes(entry.fragment)) {
      // Still EXECUTING on the platform: its status follows the application's result (advanceAll).
      tx.set({ journal: putEntry(tx.s.journal, { ...entry, resumed: true }) });
      continue;
    }
    if (entry.fragment === "c8y_Restart" && entry.operationId === null && entry.order !== entry.seq) {
      // It absorbed an identical line while PENDING (its order was bumped): that may have been a
      // second restart, which a replayed 501 can have set EXECUTING and no 500 will name again.
      markForCleanup(tx, entry.deviceId, entry.fragment, true);
    }
    const outcome: OperationOutcome =
      entry.fragment === "c8y_Restart"
        ? { status: "successful" }
        : { status: "failed", reason: "c8ylink restarted while the operation was executing" };
    finishOperation(tx, entry, outcome);
  }
  if (journalUnreadable) {
    enqueueStatus(tx, undefined, ["507", "", "c8ylink journal unreadable after restart"], undefined);
  }
  advanceAll(tx);
};
