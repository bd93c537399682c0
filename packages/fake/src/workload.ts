/**
 * The workload: each device's application and the tenant's administrator.
 *
 * Owns: message submissions (measurements, events, alarms, each tagged so it can be
 * followed), executing handed-out operations (a restart of the device is a crash), the
 * outcomes the application decided, and the admin script (operations created, pending
 * registrations accepted).
 */
import type { AnyOperation, OperationOutcome, UpstreamMessage } from "@c8ylink/core";
import { listRegistrations } from "@c8ylink/platform";
import { admin } from "./broker.js";
import { assertNever, type Device, type Message, type WorldContext } from "./context.js";
import { crash, feed } from "./devices.js";

/** The application submits one message and plans the next (fault phase only). */
export const submit = (w: WorldContext, dev: Device, life: number): void => {
  if (!dev.up || dev.life !== life || w.healing) return;
  const n = w.nextN++;
  const tag = `m${n}`;
  const roll = w.rng.next();
  const kind: Message["kind"] = roll < 0.7 ? "measurement" : roll < 0.9 ? "event" : "alarm";
  const message: UpstreamMessage =
    kind === "measurement"
      ? { template: "200", fragment: "c8y_Sim", series: "s", value: n }
      : kind === "event"
        ? { template: "400", type: "sim_event", text: `e${n}` }
        : { template: "301", type: `sim_alarm_${n}`, text: `a${n}` };
  const entry: Message = {
    tag,
    dev: dev.id,
    kind,
    n,
    submittedMs: w.now,
    acceptedMs: null,
    rejected: null,
    dropped: false,
    durable: false,
    acked: false,
    excused: null,
  };
  w.messages.set(tag, entry);
  dev.submitted.push(entry);
  const child = w.rng.chance(0.3) ? w.rng.pick(dev.children) : undefined;
  feed(
    w,
    dev,
    child === undefined ? { type: "submit", message, tag } : { type: "submit", message, tag, child },
  );
  const every = w.settings.messageEveryMs;
  w.at(w.rng.int(Math.round(every / 2), Math.round(every * 1.5)), { k: "submit", dev, life });
};

const decide = (w: WorldContext, text: string, status: string): void => {
  const set = w.decisions.get(text) ?? new Set<string>();
  set.add(status);
  w.decisions.set(text, set);
};

/** The application finished executing an operation it was handed. */
export const operationDone = (
  w: WorldContext,
  dev: Device,
  life: number,
  key: string,
  op: AnyOperation,
): void => {
  if (!dev.up || dev.life !== life) return;
  dev.pendingOps.delete(key);
  let outcome: OperationOutcome;
  if (op.template === "510") {
    if (op.deviceId === dev.id) {
      w.stats["restartOperations"]!++;
      crash(w, dev, "executing c8y_Restart");
      return;
    }
    outcome = { status: "successful" };
  } else if (op.template === "511") {
    decide(w, op.text, "SUCCESSFUL");
    outcome = { status: "successful", parameters: [op.text] };
  } else if (op.template === "513") {
    const ok = w.rng.chance(0.7);
    decide(w, op.config, ok ? "SUCCESSFUL" : "FAILED");
    outcome = ok ? { status: "successful" } : { status: "failed", reason: `${op.config} refused` };
  } else {
    outcome = w.rng.chance(0.5) ? { status: "successful" } : { status: "failed", reason: "coin says no" };
  }
  feed(w, dev, { type: "operation-result", key, outcome });
};

/** The admin creates an operation for a random device or child and plans the next. */
export const adminOperation = (w: WorldContext): void => {
  if (w.healing) return;
  const dev = w.rng.pick(w.devices);
  const target = w.rng.chance(0.6) ? dev.id : w.rng.pick(dev.children);
  const fragment = w.rng.pick(w.settings.operations);
  const n = w.nextN++;
  let text = "";
  let fragments: Record<string, unknown>;
  switch (fragment) {
    case "c8y_Restart":
      fragments = { c8y_Restart: {} };
      break;
    case "c8y_Command":
      text = `cmd${n}`;
      fragments = { c8y_Command: { text } };
      break;
    case "c8y_Configuration":
      text = `cfg${n}`;
      fragments = { c8y_Configuration: { config: text } };
      break;
    case "c8y_Relay":
      fragments = { c8y_Relay: { relayState: "OPEN" } };
      break;
    default:
      return assertNever(fragment);
  }
  const outputs = admin(w, {
    type: "admin-create-operation",
    deviceId: target,
    fragments,
    description: `op${n}`,
  });
  for (const o of outputs) {
    if (o.type === "admin-result" && o.ok && o.operationId !== undefined)
      w.created.push({ id: o.operationId, fragment, target, dev: dev.id, text });
  }
  const every = w.settings.operationEveryMs;
  w.at(w.rng.int(Math.round(every / 2), Math.round(every * 1.5)), { k: "admin-op" });
};

/** The admin accepts every pending registration and comes back later. */
export const adminAccept = (w: WorldContext): void => {
  for (const r of listRegistrations(w.platform)) {
    if (r.status === "PENDING_ACCEPTANCE") admin(w, { type: "admin-accept", deviceId: r.deviceId });
  }
  w.at(w.rng.int(1000, 15_000), { k: "admin-accept" });
};
