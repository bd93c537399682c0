/**
 * The world's downstream faults treat JSON operation notifications (`devicecontrol/notifications`)
 * exactly as `s/ds` lines: the same duplicates, delays and re-pushes reach both channels. A
 * connection is set up by hand against the platform model (what an engine subscribing both
 * topics would do), so this holds whatever the engine subscribes today.
 */
import { describe, expect, it } from "vitest";
import { TOPIC_OPERATION_NOTIFICATIONS } from "@c8ylink/core";
import { admin, platformIn } from "../src/broker.js";
import { chaos } from "../src/chaos.js";
import type { Conn, Item } from "../src/context.js";
import { NO_FAULTS, World, type FaultPlan } from "../src/index.js";

interface Arrival {
  readonly at: number;
  readonly topic: string;
  readonly payload: string;
}

/** A world that records every downstream message it schedules, with its arrival time. */
class Recording extends World {
  readonly arrivals: Arrival[] = [];
  override atTime(atMs: number, item: Item): void {
    if (item.k === "down" && item.event.type === "message")
      this.arrivals.push({ at: atMs, topic: item.event.topic, payload: item.event.payload });
    super.atTime(atMs, item);
  }
}

const BOTH = [
  { topic: "s/ds", qos: 1 },
  { topic: TOPIC_OPERATION_NOTIFICATIONS, qos: 1 },
];

/** dev0 online with one connection whose SUBSCRIBE (ref 1) asked for `topics`. */
const connected = (plan: FaultPlan, topics = BOTH): { w: Recording; conn: Conn } => {
  const w = new Recording({ seed: 7, devices: 1, auth: "password", faults: plan });
  const dev = w.devices[0]!;
  dev.up = true;
  dev.life = 1;
  const conn: Conn = {
    key: `${dev.id}/1/1`,
    dev,
    life: 1,
    id: 1,
    state: "open",
    upTail: 0,
    tailAll: 0,
    tailAcks: 0,
    tailTopic: new Map(),
    subscribeRefs: new Map([[1, topics.map((t) => t.topic)]]),
    jsonRefused: false,
  };
  dev.conns.set(conn.id, conn);
  w.conns.set(conn.key, conn);
  const clientKey = conn.key;
  platformIn(
    w,
    {
      type: "client-connect",
      clientKey,
      clientId: dev.id,
      username: `t100/device_${dev.id}`,
      password: `pw-${dev.id}`,
      certificateCn: null,
    },
    { conn },
  );
  platformIn(
    w,
    { type: "client-publish", clientKey, topic: "s/us", payload: `100,${dev.id},c8y_MQTTDevice`, qos: 1 },
    { conn, ref: 1, qos: 1 },
  );
  platformIn(w, { type: "client-subscribe", clientKey, topics }, { conn, ref: 1 });
  return { w, conn };
};

const createCommand = (w: World, text: string): void => {
  const out = admin(w, {
    type: "admin-create-operation",
    deviceId: "dev0",
    fragments: { c8y_Command: { text } },
    description: text,
  });
  expect(out.some((o) => o.type === "admin-result" && o.ok)).toBe(true);
};

const onTopic = (w: Recording, topic: string): Arrival[] => w.arrivals.filter((a) => a.topic === topic);

describe("JSON operation notifications meet the faults s/ds lines meet", () => {
  it("reach the device on both channels without faults (one each)", () => {
    const { w } = connected(NO_FAULTS);
    createCommand(w, "cmd1");
    expect(onTopic(w, "s/ds").map((a) => a.payload)).toEqual(["511,dev0,cmd1"]);
    const json = onTopic(w, TOPIC_OPERATION_NOTIFICATIONS);
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0]!.payload)).toMatchObject({ status: "PENDING", c8y_Command: { text: "cmd1" } });
  });

  it("are duplicated like s/ds lines (QoS 1 redelivery)", () => {
    const { w } = connected({ ...NO_FAULTS, duplicateDownstream: 1 });
    createCommand(w, "cmd1");
    const sds = onTopic(w, "s/ds");
    const json = onTopic(w, TOPIC_OPERATION_NOTIFICATIONS);
    expect(sds).toHaveLength(2);
    expect(json).toHaveLength(2);
    expect(json[1]!.payload).toBe(json[0]!.payload);
    expect(w.stats["duplicatedMessages"]).toBe(2);
  });

  it("are held back by a delay spike like s/ds lines", () => {
    const { w } = connected({ ...NO_FAULTS, delayDownstream: 1 });
    createCommand(w, "cmd1");
    for (const a of w.arrivals) expect(a.at).toBeGreaterThanOrEqual(1000);
    expect(onTopic(w, TOPIC_OPERATION_NOTIFICATIONS)).toHaveLength(1);
    expect(w.stats["delayedPackets"]).toBeGreaterThanOrEqual(2);
  });

  it("may overtake s/ds lines (and be overtaken) under the reorder fault, each topic in its own order", () => {
    const { w } = connected({ ...NO_FAULTS, reorderDownstream: 1, delayDownstream: 0 });
    createCommand(w, "cmd1");
    createCommand(w, "cmd2");
    expect(w.stats["reorderable"]).toBe(4);
    for (const topic of ["s/ds", TOPIC_OPERATION_NOTIFICATIONS]) {
      const times = onTopic(w, topic).map((a) => a.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it("are re-pushed with s/ds lines when the platform re-sends PENDING operations", () => {
    const { w } = connected({ ...NO_FAULTS, redeliverOperations: 1 });
    createCommand(w, "cmd1");
    chaos(w, w.devices[0]!, "repush");
    expect(w.stats["repushes"]).toBe(1);
    expect(onTopic(w, "s/ds")).toHaveLength(2);
    const json = onTopic(w, TOPIC_OPERATION_NOTIFICATIONS);
    expect(json).toHaveLength(2);
    expect(JSON.parse(json[1]!.payload).id).toBe(JSON.parse(json[0]!.payload).id);
  });

  it("are never refused at random by a tenant that speaks JSON (the fallback is for platformJson: false)", () => {
    const { w, conn } = connected({ ...NO_FAULTS, refuseSubscription: 1 }, [
      { topic: TOPIC_OPERATION_NOTIFICATIONS, qos: 1 },
    ]);
    expect(w.stats["refusedSubscriptions"]).toBe(0);
    expect(conn.jsonRefused).toBe(false);
    createCommand(w, "cmd1");
    expect(onTopic(w, TOPIC_OPERATION_NOTIFICATIONS)).toHaveLength(1);
  });
});

describe("operations modes of a world", () => {
  it("refuses to tolerate known issues under by-id rules", () => {
    expect(() => new World({ seed: 1, operationsMode: "by-id", tolerateKnown: true })).toThrow(
      /tolerateKnown applies to static rules only/,
    );
    expect(new World({ seed: 1, operationsMode: "static", tolerateKnown: true }).settings.rules).toBe(
      "static",
    );
    const fallback = new World({ seed: 1, platformJson: false, tolerateKnown: true });
    expect(fallback.settings).toMatchObject({
      operationsMode: "by-id",
      platformJson: false,
      rules: "static",
    });
  });

  it("configures every engine with the mode and the platform with platformJson", () => {
    const byId = new World({ seed: 2, devices: 2 });
    expect(byId.devices.map((d) => d.config.operations)).toEqual(["by-id", "by-id"]);
    expect(byId.platform.config.jsonOperations).toBe(true);
    const legacy = new World({ seed: 2, devices: 2, operationsMode: "static", platformJson: false });
    expect(legacy.devices.map((d) => d.config.operations)).toEqual(["static", "static"]);
    expect(legacy.platform.config.jsonOperations).toBe(false);
  });

  it("the mode draws nothing from the seed: both modes build the same devices and plan", () => {
    const a = new World({ seed: 3, devices: 3, operationsMode: "static" });
    const b = new World({ seed: 3, devices: 3, operationsMode: "by-id", platformJson: false });
    expect(b.plan).toEqual(a.plan);
    expect(b.devices.map((d) => [d.auth, d.children, d.config.seed])).toEqual(
      a.devices.map((d) => [d.auth, d.children, d.config.seed]),
    );
  });
});
