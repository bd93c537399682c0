/**
 * The paging trigger (see paging.ts): a class whose in-memory head is at most half full
 * while rows wait in storage asks for the next ones. Called after everything that takes
 * rows from a head (publishing, drops).
 */
import { OUTBOX_CLASSES } from "../config.js";
import { loadNeeded, markLoading } from "../outbox.js";
import type { Tx } from "./tx.js";

/** Asks for the next stored rows of every class whose head runs low. */
export const refill = (tx: Tx): void => {
  for (const cls of OUTBOX_CLASSES) {
    const need = loadNeeded(tx.s.outbox[cls], tx.config.outboxMemoryRows);
    if (need === undefined) continue;
    tx.set({ outbox: markLoading(tx.s.outbox, cls) });
    tx.emit({ type: "load-outbox", cls, afterRef: need.afterRef, max: need.max });
  }
};
