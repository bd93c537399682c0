/**
 * The broker: the platform model's inputs and outputs.
 *
 * Owns: feeding `client-*` and `admin-*` inputs to the platform model on the virtual clock,
 * and routing each output back on the connection it belongs to (CONNACK, SUBACK, PUBACK,
 * deliveries, closes), with the broker-side faults (refused subscriptions, lost PUBACKs,
 * duplicated deliveries). Deliveries are routed alike whatever their topic: JSON operation
 * notifications (`devicecontrol/notifications`) meet the same duplicates, and in network.ts
 * the same delays and reorders, as `s/ds` lines.
 */
import { TOPIC_OPERATION_NOTIFICATIONS, type EventInput } from "@c8ylink/core";
import { platformStep, type PlatformInput, type PlatformOutput } from "@c8ylink/platform";
import {
  EPOCH_MS,
  assertNever,
  type ClientInput,
  type Conn,
  type OutputContext,
  type WorldContext,
} from "./context.js";
import { breakConn, sendDown } from "./network.js";

/** One input of the platform model; its outputs are routed, and returned to the caller. */
export const platformIn = (w: WorldContext, input: ClientInput, ctx: OutputContext): PlatformOutput[] => {
  if (w.finished) return [];
  const full = { ...input, nowMs: EPOCH_MS + w.now } as PlatformInput;
  w.stats["platformInputs"]!++;
  w.traceInput("P", null, JSON.stringify(full));
  const { state, outputs } = platformStep(w.platform, full);
  w.platform = state;
  for (const o of outputs) route(w, o, ctx);
  return [...outputs];
};

/** An input of the tenant's administrator (not on any connection). */
export const admin = (w: WorldContext, input: ClientInput): PlatformOutput[] => platformIn(w, input, {});

/**
 * The platform model keeps a subscription the broker's fault refused, but a real broker that
 * answered 0x80 delivers nothing on it: JSON operation notifications of such a connection are
 * held back until a later SUBACK grants the topic. (Only the JSON topic: `s/ds` keeps the
 * behaviour the pinned static worlds were recorded with, where an engine refused `s/ds`
 * reconnects anyway.)
 */
const noteJsonGrant = (conn: Conn, ref: number, granted: readonly number[]): void => {
  const topics = conn.subscribeRefs.get(ref) ?? [];
  topics.forEach((topic, i) => {
    if (topic === TOPIC_OPERATION_NOTIFICATIONS) conn.jsonRefused = (granted[i] ?? 0x80) >= 0x80;
  });
};

const route = (w: WorldContext, o: PlatformOutput, ctx: OutputContext): void => {
  switch (o.type) {
    case "connack": {
      const conn = w.conns.get(o.clientKey);
      if (conn === undefined) return;
      if (o.code === 0) sendDown(w, conn, { type: "connected", connectionId: conn.id }, null);
      else {
        sendDown(
          w,
          conn,
          { type: "connect-failed", connectionId: conn.id, cause: { kind: "refused", code: o.code } },
          null,
        );
        if (conn.state === "open") conn.state = "broker-closed";
      }
      return;
    }
    case "suback": {
      const conn = w.conns.get(o.clientKey);
      if (conn === undefined || ctx.ref === undefined) return;
      let granted = [...o.granted];
      if (w.faultsOn && w.rng.chance(w.plan.refuseSubscription)) {
        const i = w.rng.int(0, granted.length - 1);
        // A tenant that speaks JSON via MQTT does not refuse its operations topic at random:
        // the engine's fallback to id-less operations is exercised by `platformJson: false`
        // worlds (judged by static rules), not injected into by-id worlds.
        const jsonTopic = (conn.subscribeRefs.get(ctx.ref) ?? [])[i] === TOPIC_OPERATION_NOTIFICATIONS;
        if ((granted[i] ?? 0x80) < 0x80 && !(jsonTopic && w.settings.platformJson)) {
          granted = granted.map((g, j) => (j === i ? 0x80 : g));
          w.stats["refusedSubscriptions"]!++;
          w.trace(`FAULT broker refuses subscription #${i} of ${conn.key}`);
        }
      }
      noteJsonGrant(conn, ctx.ref, granted);
      sendDown(w, conn, { type: "subscribed", connectionId: conn.id, ref: ctx.ref, granted }, null);
      return;
    }
    case "publish-accepted": {
      const conn = w.conns.get(o.clientKey);
      if (conn === undefined || ctx.injected === true || ctx.ref === undefined || ctx.qos !== 1) return;
      if (w.faultsOn && w.rng.chance(w.plan.losePuback)) {
        w.stats["lostPubacks"]!++;
        breakConn(w, conn, "connection lost before the PUBACK", true);
        return;
      }
      sendDown(w, conn, { type: "published", connectionId: conn.id, ref: ctx.ref }, null);
      return;
    }
    case "deliver": {
      const conn = w.conns.get(o.clientKey);
      if (conn === undefined) return;
      if (o.topic === TOPIC_OPERATION_NOTIFICATIONS && conn.jsonRefused) {
        w.trace(`BROKER ${conn.key} refused ${o.topic}: not delivered`);
        return;
      }
      const event: EventInput = {
        type: "message",
        connectionId: conn.id,
        topic: o.topic,
        payload: o.payload,
      };
      sendDown(w, conn, event, o.topic);
      if (o.qos > 0 && w.faultsOn && w.rng.chance(w.plan.duplicateDownstream)) {
        w.stats["duplicatedMessages"]!++;
        w.trace(`FAULT duplicate ${o.topic} to ${conn.key}`);
        sendDown(w, conn, event, o.topic);
      }
      return;
    }
    case "disconnect": {
      w.stats["brokerDisconnects"]!++;
      const conn = w.conns.get(o.clientKey);
      if (/exceeds/.test(o.reason)) {
        w.stats["oversizeDisconnects"]!++;
        w.violate("size-law", `the platform closed ${o.clientKey}: ${o.reason}`);
        return;
      }
      if (conn === undefined) return;
      sendDown(
        w,
        conn,
        { type: "disconnected", connectionId: conn.id, cause: { kind: "network", message: o.reason } },
        null,
      );
      if (conn.state === "open") conn.state = "broker-closed";
      return;
    }
    case "invalid-input":
      w.violate("world-bug", `the platform refused an input of the world: ${o.reason}`);
      return;
    case "unsuback":
    case "admin-result":
      return;
    default:
      return assertNever(o);
  }
};
