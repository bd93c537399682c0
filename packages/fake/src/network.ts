/**
 * The simulated network between the devices and the broker.
 *
 * Owns: latency, per-connection FIFO order in each direction, the downstream delay, reorder
 * and loss faults, and broken links. Packets become agenda items; what happens when one
 * arrives (the platform takes it, the engine is fed) is decided by the router in world.ts.
 */
import type { EventInput } from "@c8ylink/core";
import { noteStatusRows } from "./checkers.js";
import type { ClientInput, Conn, Device, OutputContext, SentRow, WorldContext } from "./context.js";

const latency = (w: WorldContext): number => w.rng.int(2, 40);

/** The identity of outbox row `ref` across restarts (see `Device.rowIds`). */
export const rowId = (dev: Device, ref: number): string => {
  let id = dev.rowIds.get(ref);
  if (id === undefined) {
    id = `${dev.life}:${ref}`;
    dev.rowIds.set(ref, id);
  }
  return id;
};

/** Schedules an upstream packet (device → broker), in order behind the connection's last one. */
export const sendUp = (
  w: WorldContext,
  conn: Conn,
  input: ClientInput,
  ref?: number,
  qos?: number,
  rows?: readonly SentRow[],
): void => {
  if (conn.state !== "open") return;
  const at = Math.max(w.now + latency(w), conn.upTail);
  conn.upTail = at;
  w.atTime(at, {
    k: "up",
    conn,
    input,
    ...(ref === undefined ? {} : { ref }),
    ...(qos === undefined ? {} : { qos }),
    ...(rows === undefined ? {} : { rows }),
  });
};

/**
 * An upstream packet arrives at the broker: the context its platform input runs in, or null
 * when the connection no longer carries it.
 */
export const arriveUp = (
  w: WorldContext,
  conn: Conn,
  ref: number | undefined,
  qos: number | undefined,
  rows: readonly SentRow[] | undefined,
): OutputContext | null => {
  if (conn.state === "broken" || conn.state === "broker-closed") return null;
  noteStatusRows(w, conn, rows);
  const ctx: OutputContext = { conn };
  if (ref !== undefined) ctx.ref = ref;
  if (qos !== undefined) ctx.qos = qos;
  return ctx;
};

/**
 * Schedules a downstream packet. `topic` null = control packet (CONNACK, SUBACK, PUBACK,
 * close), which follows everything before it; a message may overtake earlier messages on
 * other topics when the reorder fault allows it.
 */
export const sendDown = (w: WorldContext, conn: Conn, event: EventInput, topic: string | null): void => {
  if (conn.state === "broken" || conn.state === "device-closed") return;
  let base = w.now + latency(w);
  if (w.faultsOn && w.rng.chance(w.plan.delayDownstream)) {
    const extra = w.rng.int(1000, 15_000);
    w.stats["delayedPackets"]!++;
    w.trace(`FAULT delay ${conn.key} +${extra} ms`);
    base += extra;
  }
  let at: number;
  if (topic === null) {
    at = Math.max(base, conn.tailAll);
    conn.tailAcks = at;
  } else {
    const loose = w.faultsOn && w.rng.chance(w.plan.reorderDownstream);
    if (loose) w.stats["reorderable"]!++;
    const floor = loose ? Math.max(conn.tailAcks, conn.tailTopic.get(topic) ?? 0) : conn.tailAll;
    at = Math.max(base, floor);
    conn.tailTopic.set(topic, Math.max(conn.tailTopic.get(topic) ?? 0, at));
  }
  conn.tailAll = Math.max(conn.tailAll, at);
  w.atTime(at, { k: "down", conn, event });
};

/** Whether a downstream packet arriving now reaches the engine it was sent to. */
export const arrivesDown = (conn: Conn): boolean => {
  if (conn.state === "broken" || conn.state === "device-closed") return false;
  const dev = conn.dev;
  return dev.up && dev.life === conn.life;
};

/** The link dies: everything in flight is lost; both ends notice after a while. */
export const breakConn = (w: WorldContext, conn: Conn, why: string, notifyDevice: boolean): void => {
  if (conn.state === "broken") return;
  const wasDeviceClosed = conn.state === "device-closed";
  conn.state = "broken";
  w.stats["connectionsBroken"]!++;
  w.trace(`FAULT link ${conn.key} broken: ${why}`);
  w.at(w.rng.int(0, 8000), { k: "detect", key: conn.key });
  const dev = conn.dev;
  if (notifyDevice && !wasDeviceClosed && dev.up && dev.life === conn.life) {
    w.at(w.rng.int(5, 3000), {
      k: "local",
      dev,
      life: dev.life,
      event: { type: "disconnected", connectionId: conn.id, cause: { kind: "network", message: why } },
    });
  }
};
