/**
 * Fault injection over time (the faults that strike per device-minute, not per packet).
 *
 * Owns: scheduling each enabled fault of the plan per device, and what a strike does: a
 * dropped link, a crash, a forward jump of the device's clock, or the platform re-pushing the
 * device's PENDING operations. Per-packet faults live where the packet is (network, broker).
 */
import { platformIn } from "./broker.js";
import { assertNever, type ChaosKind, type Device, type WorldContext } from "./context.js";
import { crash, scheduleTimer } from "./devices.js";
import type { FaultPlan } from "./faults.js";
import { breakConn } from "./network.js";

const rateOf = (plan: FaultPlan, what: ChaosKind): number => {
  switch (what) {
    case "drop":
      return plan.dropConnection;
    case "crash":
      return plan.crash;
    case "clock":
      return plan.clockJump;
    case "repush":
      return plan.redeliverOperations;
    default:
      return assertNever(what);
  }
};

const CHAOS_KINDS: readonly ChaosKind[] = ["drop", "crash", "clock", "repush"];

/** Uniform in [0, 2·mean]: mean interval 60 s / rate. */
const nextChaos = (w: WorldContext, ratePerMinute: number): number =>
  w.rng.next() * 2 * (60_000 / ratePerMinute);

/** Plans the first strike of every fault the plan enables, for one device. */
export const scheduleChaos = (w: WorldContext, dev: Device): void => {
  for (const what of CHAOS_KINDS) {
    const rate = rateOf(w.plan, what);
    if (rate > 0) w.at(nextChaos(w, rate), { k: "chaos", dev, what });
  }
};

/** A fault strikes `dev` (fault phase only), and the next strike of its kind is planned. */
export const chaos = (w: WorldContext, dev: Device, what: ChaosKind): void => {
  if (w.healing) return;
  w.at(nextChaos(w, rateOf(w.plan, what)), { k: "chaos", dev, what });
  switch (what) {
    case "drop": {
      const conn = dev.up ? dev.conns.get(dev.state.connectionId) : undefined;
      if (conn !== undefined && conn.state === "open") breakConn(w, conn, "network drop", true);
      return;
    }
    case "crash":
      crash(w, dev, "fault injection");
      return;
    case "clock": {
      const jump = w.rng.int(1000, 120_000);
      dev.offset += jump;
      w.stats["clockJumps"]!++;
      w.trace(`FAULT clock of ${dev.id} jumps +${jump} ms`);
      if (dev.up) for (const [key, atLocal] of dev.timers) scheduleTimer(w, dev, key, atLocal);
      return;
    }
    case "repush": {
      const key = w.platform.liveSessions.get(dev.id);
      const session = key === undefined ? undefined : w.platform.sessions.get(key);
      if (key === undefined || session?.kind !== "device") return;
      w.stats["repushes"]!++;
      w.trace(`FAULT platform re-pushes PENDING operations to ${key}`);
      platformIn(
        w,
        { type: "client-publish", clientKey: key, topic: "s/us", payload: "500", qos: 0 },
        { injected: true },
      );
      return;
    }
    default:
      return assertNever(what);
  }
};
