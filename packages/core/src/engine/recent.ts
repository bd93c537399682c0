/**
 * Recently published rows, for correlating an `s/e` error line with what was sent. Kept as a
 * persistent list of packets, newest first: adding a packet is O(1) (no copy of the list per
 * publish), and the list is cut back to the last RECENT_ROWS rows once it holds twice as many,
 * so the work per row stays O(1) amortized and the memory bounded.
 */
import type { OutboxEntry } from "./outbox.js";

export const RECENT_ROWS = 64;

type Packets = { readonly rows: readonly OutboxEntry[]; readonly older: Packets } | null;

export interface Recent {
  readonly newest: Packets;
  /** Rows held in `newest` (may exceed RECENT_ROWS until the next cut). */
  readonly rows: number;
}

export const emptyRecent: Recent = { newest: null, rows: 0 };

export const addRecent = (recent: Recent, rows: readonly OutboxEntry[]): Recent => {
  // A copy of exactly the packet's length: the array taken from the outbox grew by push and
  // keeps room for 17 rows, about 150 bytes of slack per packet for up to 128 packets kept.
  const exact = rows.slice();
  const added: Recent = { newest: { rows: exact, older: recent.newest }, rows: recent.rows + rows.length };
  if (added.rows <= 2 * RECENT_ROWS) return added;
  // Keep the newest packets that cover the last RECENT_ROWS rows.
  const kept: (readonly OutboxEntry[])[] = [];
  let count = 0;
  for (let cur = added.newest; cur !== null && count < RECENT_ROWS; cur = cur.older) {
    kept.push(cur.rows);
    count += cur.rows.length;
  }
  let newest: Packets = null;
  for (let i = kept.length - 1; i >= 0; i--) newest = { rows: kept[i] ?? [], older: newest };
  return { newest, rows: count };
};

/** The last RECENT_ROWS rows published (template id and ref), oldest first. */
export const recentRows = (recent: Recent): { readonly template: string; readonly ref: number }[] => {
  const out: { template: string; ref: number }[] = [];
  for (let cur = recent.newest; cur !== null && out.length < RECENT_ROWS; cur = cur.older) {
    for (let i = cur.rows.length - 1; i >= 0 && out.length < RECENT_ROWS; i--) {
      const e = cur.rows[i];
      if (e !== undefined) out.push({ template: e.template, ref: e.ref });
    }
  }
  return out.reverse();
};
