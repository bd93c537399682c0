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

/**
 * One packet and the older ones: `[rowsHeld, older, ref, template, ref, template, …]`, the
 * packet's rows oldest first; `rowsHeld` counts the rows of this packet and every older one
 * (may exceed RECENT_ROWS until the next cut). One array per packet, not a node, a rows array
 * and a list header: an idle engine of a fleet holds a few packets (its registration, its 500,
 * its last measurement) and each cost ~110 bytes more.
 */
type Packet = readonly [rowsHeld: number, older: Packet | null, ...rows: (number | string)[]];

/** Recently published rows, newest packet first (null: none yet). */
export type Recent = Packet | null;

export const emptyRecent: Recent = null;

/** Rows (ref, template pairs) of a packet start at this index. */
const ROWS = 2;

const packet = (older: Packet | null, rowsHeld: number, rows: readonly (number | string)[]): Packet => {
  const p = new Array<number | string | Packet | null>(ROWS + rows.length);
  p[0] = rowsHeld;
  p[1] = older;
  for (let i = 0; i < rows.length; i++) p[ROWS + i] = rows[i] as number | string;
  return p as unknown as Packet;
};

const packetOf = (older: Packet | null, entries: readonly OutboxEntry[]): Packet => {
  const p = new Array<number | string | Packet | null>(ROWS + 2 * entries.length);
  p[0] = (older?.[0] ?? 0) + entries.length;
  p[1] = older;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as OutboxEntry;
    p[ROWS + 2 * i] = e.ref;
    p[ROWS + 2 * i + 1] = e.template;
  }
  return p as unknown as Packet;
};

/** Rows of one packet (not counting older ones). */
const ownRows = (p: Packet): number => (p.length - ROWS) / 2;

export const addRecent = (recent: Recent, rows: readonly OutboxEntry[]): Recent => {
  const added = packetOf(recent, rows);
  if (added[0] <= 2 * RECENT_ROWS) return added;
  // Keep the newest packets that cover the last RECENT_ROWS rows.
  const kept: Packet[] = [];
  let count = 0;
  for (let cur: Packet | null = added; cur !== null && count < RECENT_ROWS; cur = cur[1]) {
    kept.push(cur);
    count += ownRows(cur);
  }
  let newest: Packet | null = null;
  for (let i = kept.length - 1; i >= 0; i--) {
    const p = kept[i] as Packet;
    newest = packet(newest, (newest?.[0] ?? 0) + ownRows(p), p.slice(ROWS) as (number | string)[]);
  }
  return newest;
};

/** The last RECENT_ROWS rows published (template id and ref), oldest first. */
export const recentRows = (recent: Recent): { readonly template: string; readonly ref: number }[] => {
  const out: { template: string; ref: number }[] = [];
  for (let cur = recent; cur !== null && out.length < RECENT_ROWS; cur = cur[1]) {
    for (let i = cur.length - 2; i >= ROWS && out.length < RECENT_ROWS; i -= 2) {
      out.push({ template: cur[i + 1] as string, ref: cur[i] as number });
    }
  }
  return out.reverse();
};
