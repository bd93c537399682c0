/**
 * The simulated disk answers `load-outbox`: the stored outbox rows of one class after a ref,
 * in ref order, as the disk will hold them once every write issued before has landed (a
 * write that is going to fail never lands; a lying disk never stores tagged rows).
 */
import { DURABLE, type Command } from "@c8ylink/core";
import type { Device, WorldContext } from "./context.js";

export const answerLoad = (
  w: WorldContext,
  dev: Device,
  c: Extract<Command, { type: "load-outbox" }>,
): void => {
  const view = new Map(dev.storage);
  for (const p of dev.persists) {
    if (p.fail) continue;
    for (const { key, value } of p.changes) {
      const lie = w.sabotage === "lying-disk" && typeof (value as { tag?: unknown } | null)?.tag === "string";
      if (value === null) view.delete(key);
      else if (!lie) view.set(key, value);
    }
  }
  const rows: { ref: number }[] = [];
  for (const [key, value] of view) {
    const row = value as { ref?: unknown; cls?: unknown };
    if (!key.startsWith(DURABLE.outboxPrefix) || row.cls !== c.cls) continue;
    if (typeof row.ref === "number" && row.ref > c.afterRef) rows.push(value as { ref: number });
  }
  rows.sort((a, b) => a.ref - b.ref);
  const event = { type: "outbox-loaded", cls: c.cls, max: c.max, rows: rows.slice(0, c.max) } as const;
  w.atTime(Math.max(w.now + 1, dev.storageTail), { k: "local", dev, life: dev.life, event });
};
