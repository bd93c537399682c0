/** Operations as JSON on devicecontrol/notifications (spec §2.7, §7.2) and the law of their delivery. */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { findDevice, findOperation, type PlatformOutput, type PlatformState } from "../src/index.js";
import { delivered, deviceUsers, ofType, Sim } from "./support/sim.js";

const NOTIFICATIONS = "devicecontrol/notifications";

const created = (out: ReturnType<Sim["step"]>): string => ofType(out, "admin-result")[0]?.operationId ?? "";
const notified = (out: readonly PlatformOutput[], clientKey?: string): Record<string, unknown>[] =>
  delivered(out, NOTIFICATIONS, clientKey).map((p) => JSON.parse(p) as Record<string, unknown>);

/** dev1 (with child dev1-child) online on key c, subscribed to `topics`. */
const online = (...topics: string[]) => {
  const s = new Sim({ users: deviceUsers("dev1", "dev2") });
  s.device("c", "dev1", "s/e");
  s.publish("c", "s/us", "100\n101,dev1-child");
  if (topics.length > 0) s.subscribe("c", ...topics);
  return s;
};

describe("devicecontrol/notifications", () => {
  it("publishes a new operation as JSON to its agent's session only; a child's names its target", () => {
    const s = online(NOTIFICATIONS);
    s.device("d", "dev2", NOTIFICATIONS);
    s.publish("d", "s/us", "100");
    const out = s.operation("dev1", { c8y_Command: { text: "ls" } }, "run ls");
    const root = findDevice(s.state, "dev1")?.id;
    const [json] = notified(out);
    expect(notified(out, "d")).toEqual([]);
    expect(json).toEqual({
      c8y_Command: { text: "ls" },
      id: created(out),
      deviceId: root,
      agentId: root,
      status: "PENDING",
      creationTime: new Date(s.now).toISOString(),
      description: "run ls",
    });
    const child = notified(s.operation("dev1-child", { c8y_Restart: {}, id: "spoofed" }), "c")[0];
    expect(child).toMatchObject({
      deviceId: findDevice(s.state, "dev1-child")?.id,
      agentId: root,
      externalSource: { externalId: "dev1-child", type: "c8y_Serial" },
      c8y_Restart: {},
    });
    // A fragment cannot hide the operation's own fields.
    expect(child?.["id"]).not.toBe("spoofed");
    expect(findOperation(s.state, String(child?.["id"]))?.notifications).toBe(1);
  });

  it("right after the subscription: every PENDING operation not yet forwarded, oldest first", () => {
    const s = online("s/ds");
    const a = created(s.operation("dev1", { c8y_Restart: {} }));
    const b = created(s.operation("dev1-child", { acme_Custom: {} }));
    const c = created(s.operation("dev1", { c8y_Command: { text: "x" } }));
    // a and c were delivered on s/ds already: that does not count as forwarded on this topic.
    s.publish("c", "s/us", `504,${a}`); // EXECUTING: not re-sent
    const out = s.subscribe("c", NOTIFICATIONS);
    expect(ofType(out, "suback")[0]?.granted).toEqual([1]);
    const suback = out.findIndex((o) => o.type === "suback");
    const first = out.findIndex((o) => o.type === "deliver");
    expect(first).toBeGreaterThan(suback);
    expect(notified(out).map((j) => j["id"])).toEqual([b, c]);
    // Forwarded ones are not published again by a later subscription (same or new session) ...
    expect(notified(s.subscribe("c", NOTIFICATIONS))).toEqual([]);
    s.step({ type: "client-disconnect", clientKey: "c" });
    s.device("c2", "dev1", NOTIFICATIONS, "s/ds");
    expect(s.state.operations.map((o) => o.notifications)).toEqual([0, 1, 1]);
    // ... only by 500, which re-sends every PENDING one on both channels (spec §2.7 field report).
    const again = s.publish("c2", "s/us", "500");
    expect(notified(again).map((j) => j["id"])).toEqual([b, c]);
    expect(delivered(again, "s/ds")).toEqual(["511,dev1,x"]);
    expect(findOperation(s.state, c)?.notifications).toBe(2);
  });

  it("a session subscribed to s/ds and the JSON topic gets each push on both; no template → JSON only", () => {
    const s = online("s/ds", NOTIFICATIONS);
    const out = s.operation("dev1", { c8y_Restart: {} });
    expect(delivered(out, "s/ds")).toEqual(["510,dev1"]);
    expect(notified(out).map((j) => j["id"])).toEqual([created(out)]);
    const custom = s.operation("dev1", { acme_Custom: { a: 1 } });
    expect(delivered(custom, "s/ds")).toEqual([]);
    expect(notified(custom)).toHaveLength(1);
  });

  it("the option jsonOperations: false refuses the subscription (0x80); error stays allowed", () => {
    const s = new Sim({ users: deviceUsers("dev1"), jsonOperations: false });
    s.device("c", "dev1");
    s.publish("c", "s/us", "100");
    s.operation("dev1", { c8y_Restart: {} });
    const out = s.subscribe("c", NOTIFICATIONS, "error", "s/ds");
    expect(ofType(out, "suback")[0]?.granted).toEqual([0x80, 1, 1]);
    expect(notified(out)).toEqual([]);
    expect(notified(s.operation("dev1", { c8y_Restart: {} }))).toEqual([]);
  });

  it("bootstrap sessions may not subscribe the JSON topics", () => {
    const s = new Sim();
    s.connect("b", "d:dev9", "management/devicebootstrap", "bs-secret");
    expect(ofType(s.subscribe("b", NOTIFICATIONS, "error", "s/dcr"), "suback")[0]?.granted).toEqual([
      0x80, 0x80, 1,
    ]);
  });

  it("status by id after a JSON delivery: 504/506 on the target's topic", () => {
    const s = online(NOTIFICATIONS);
    const [json] = notified(s.operation("dev1-child", { c8y_Restart: {} }));
    const id = String(json?.["id"]);
    s.publish("c", "s/us/dev1-child", `504,${id}\n506,${id}`);
    expect(findOperation(s.state, id)?.history.map((h) => h.status)).toEqual([
      "PENDING",
      "EXECUTING",
      "SUCCESSFUL",
    ]);
    // A 500 no longer sends it: it is not PENDING.
    expect(notified(s.publish("c", "s/us", "500"))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The law: without 500, every operation is notified at most once, and exactly once when its
// agent's session was subscribed at some moment while it was PENDING; only the owner gets it.
// Each 500 may add one notification per PENDING operation of that agent.

type Step =
  | { readonly k: "connect"; readonly dev: 0 | 1 }
  | { readonly k: "subscribe"; readonly dev: 0 | 1 }
  | { readonly k: "unsubscribe"; readonly dev: 0 | 1 }
  | { readonly k: "disconnect"; readonly dev: 0 | 1 }
  | { readonly k: "operation"; readonly dev: 0 | 1; readonly child: boolean }
  | { readonly k: "status"; readonly pick: number; readonly line: "504" | "505" | "506" }
  | { readonly k: "500"; readonly dev: 0 | 1 };

const dev = fc.constantFrom<0 | 1>(0, 1);
const stepArb = (with500: boolean): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 2, arbitrary: dev.map((d): Step => ({ k: "connect", dev: d })) },
    { weight: 3, arbitrary: dev.map((d): Step => ({ k: "subscribe", dev: d })) },
    { weight: 1, arbitrary: dev.map((d): Step => ({ k: "unsubscribe", dev: d })) },
    { weight: 1, arbitrary: dev.map((d): Step => ({ k: "disconnect", dev: d })) },
    {
      weight: 4,
      arbitrary: fc.tuple(dev, fc.boolean()).map(([d, child]): Step => ({ k: "operation", dev: d, child })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.nat(20), fc.constantFrom<"504" | "505" | "506">("504", "505", "506"))
        .map(([pick, line]): Step => ({ k: "status", pick, line })),
    },
    { weight: with500 ? 2 : 0, arbitrary: dev.map((d): Step => ({ k: "500", dev: d })) },
  );

const DEVICES = ["dev1", "dev2"] as const;

const subscribed = (state: PlatformState, key: string): boolean =>
  state.sessions.has(key) && Object.hasOwn(state.sessions.get(key)?.subscriptions ?? {}, NOTIFICATIONS);

const runLaw = (steps: readonly Step[]) => {
  const s = new Sim({ users: deviceUsers(...DEVICES) });
  const keys = ["k0", "k1"];
  for (const [i, id] of DEVICES.entries()) {
    s.device(keys[i] ?? "", id);
    s.publish(keys[i] ?? "", "s/us", `100\n101,${id}-child`);
  }
  const counts = new Map<string, number>();
  const reachable = new Set<string>();
  const pushes = new Map<string, number>();
  const foreign: string[] = [];
  const observe = (out: readonly PlatformOutput[]) => {
    for (const o of out) {
      if (o.type !== "deliver" || o.topic !== NOTIFICATIONS) continue;
      const json = JSON.parse(o.payload) as { id: string; agentId: string };
      counts.set(json.id, (counts.get(json.id) ?? 0) + 1);
      const owner = DEVICES[keys.indexOf(o.clientKey)];
      if (owner === undefined || findDevice(s.state, owner)?.id !== json.agentId) foreign.push(o.payload);
    }
    for (const op of s.state.operations) {
      const owner = keys[DEVICES.findIndex((d) => findDevice(s.state, d)?.id === op.agentId)] ?? "";
      if (op.status === "PENDING" && subscribed(s.state, owner)) reachable.add(op.id);
    }
  };
  for (const step of steps) {
    switch (step.k) {
      case "connect":
        observe(s.device(keys[step.dev] ?? "", DEVICES[step.dev]));
        break;
      case "subscribe":
        observe(s.subscribe(keys[step.dev] ?? "", NOTIFICATIONS));
        break;
      case "unsubscribe":
        observe(
          s.step({ type: "client-unsubscribe", clientKey: keys[step.dev] ?? "", topics: [NOTIFICATIONS] }),
        );
        break;
      case "disconnect":
        observe(s.step({ type: "client-disconnect", clientKey: keys[step.dev] ?? "" }));
        break;
      case "operation": {
        const target = `${DEVICES[step.dev]}${step.child ? "-child" : ""}`;
        observe(s.operation(target, { c8y_Restart: {} }));
        break;
      }
      case "status": {
        const op = s.state.operations[step.pick % Math.max(1, s.state.operations.length)];
        if (op === undefined) break;
        const owner = DEVICES.findIndex((d) => findDevice(s.state, d)?.id === op.agentId);
        const topic = op.deviceId === op.agentId ? "s/us" : `s/us/${op.externalId}`;
        observe(s.publish(keys[owner] ?? "", topic, `${step.line},${op.id}`));
        break;
      }
      case "500": {
        const key = keys[step.dev] ?? "";
        if (subscribed(s.state, key))
          for (const op of s.state.operations)
            if (op.status === "PENDING" && op.agentId === findDevice(s.state, DEVICES[step.dev])?.id)
              pushes.set(op.id, (pushes.get(op.id) ?? 0) + 1);
        observe(s.publish(key, "s/us", "500"));
        break;
      }
    }
  }
  return { s, counts, reachable, pushes, foreign };
};

describe("notification law", () => {
  test.prop([fc.array(stepArb(false), { maxLength: 40 })], { numRuns: 200 })(
    "without 500: exactly once if ever reachable while PENDING, never otherwise, only to the owner",
    (steps) => {
      const { s, counts, reachable, foreign } = runLaw(steps);
      expect(foreign).toEqual([]);
      for (const op of s.state.operations) {
        expect(counts.get(op.id) ?? 0).toBe(reachable.has(op.id) ? 1 : 0);
        expect(op.notifications).toBe(counts.get(op.id) ?? 0);
      }
    },
  );

  test.prop([fc.array(stepArb(true), { maxLength: 40 })], { numRuns: 200 })(
    "with 500: one more notification per 500 that found it PENDING, none beyond",
    (steps) => {
      const { s, counts, reachable, pushes, foreign } = runLaw(steps);
      expect(foreign).toEqual([]);
      for (const op of s.state.operations) {
        const count = counts.get(op.id) ?? 0;
        const repushed = pushes.get(op.id) ?? 0;
        // A 500 delivers it (and so forwards it); the first delivery may instead have come
        // from the creation or the subscription, in which case the 500s add to it.
        expect(count).toBeGreaterThanOrEqual(reachable.has(op.id) ? 1 : 0);
        expect(count).toBeLessThanOrEqual(repushed + (reachable.has(op.id) ? 1 : 0));
        expect(op.notifications).toBe(count);
      }
    },
  );
});
