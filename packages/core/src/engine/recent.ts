/**
 * Recently published rows, for correlating an `s/e` error line with what was sent. Kept as a
 * persistent list of packets, newest first: adding a packet is O(1) (no copy of the list per
 * publish), and the list is cut back to the last RECENT_ROWS rows once it holds twice as many,
 * so the work per row stays O(1) amortized and the memory bounded.
 *
 * A packet keeps only what correlation reads, each row's ref and template id, flat in one
 * array of exactly their number: holding the rows themselves kept their lines (up to the
 * packet size each) alive long after delivery, for up to 128 rows per engine.
 */
import type { OutboxEntry } from "./outbox.js";

export const RECENT_ROWS = 64;

/** `[ref, template, ref, template, …]` of one packet, oldest row first. */
type PacketRows = readonly (number | string)[];

type Packets = { readonly rows: PacketRows; readonly older: Packets } | null;

export interface Recent {
  readonly newest: Packets;
  /** Rows held in `newest` (may exceed RECENT_ROWS until the next cut). */
  readonly rows: number;
}

export const emptyRecent: Recent = { newest: null, rows: 0 };

const packetRows = (rows: readonly OutboxEntry[]): PacketRows => {
  const flat = new Array<number | string>(2 * rows.length);
  for (let i = 0; i < rows.length; i++) {
    const e = rows[i] as OutboxEntry;
    flat[2 * i] = e.ref;
    flat[2 * i + 1] = e.template;
  }
  return flat;
};

export const addRecent = (recent: Recent, rows: readonly OutboxEntry[]): Recent => {
  const added: Recent = {
    newest: { rows: packetRows(rows), older: recent.newest },
    rows: recent.rows + rows.length,
  };
  if (added.rows <= 2 * RECENT_ROWS) return added;
  // Keep the newest packets that cover the last RECENT_ROWS rows.
  const kept: PacketRows[] = [];
  let count = 0;
  for (let cur = added.newest; cur !== null && count < RECENT_ROWS; cur = cur.older) {
    kept.push(cur.rows);
    count += cur.rows.length / 2;
  }
  let newest: Packets = null;
  for (let i = kept.length - 1; i >= 0; i--) newest = { rows: kept[i] ?? [], older: newest };
  return { newest, rows: count };
};

/** The last RECENT_ROWS rows published (template id and ref), oldest first. */
export const recentRows = (recent: Recent): { readonly template: string; readonly ref: number }[] => {
  const out: { template: string; ref: number }[] = [];
  for (let cur = recent.newest; cur !== null && out.length < RECENT_ROWS; cur = cur.older) {
    for (let i = cur.rows.length - 2; i >= 0 && out.length < RECENT_ROWS; i -= 2) {
      out.push({ template: cur.rows[i + 1] as string, ref: cur.rows[i] as number });
    }
  }
  return out.reverse();
};
