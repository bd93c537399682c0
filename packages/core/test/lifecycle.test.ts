/**
 * Scenario tests of the lifecycle reducer, written as scripts against the harness:
 * boot → bootstrap → credentials → reconnect → 100/101/subscribe/500 → data → operation → status.
 * These scenarios run the id-less mode (`operations: "static"`: s/ds lines, 501–503); the
 * default by-id mode has its own in lifecycle.by-id.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";
import { openEntries } from "@c8ylink/core";

const bootstrapConfig = {
  deviceId: "dev1",
  device: { name: "Pump 1", type: "acme_Pump" },
  auth: { mode: "bootstrap", bootstrapPassword: "bs-secret" },
  children: [
    { id: "dev1-valve", name: "Valve" },
    { id: "dev1-valve-sensor", name: "Sensor", parent: "dev1-valve" },
  ],
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  inventory: { requiredIntervalMinutes: 10 },
  seed: 42,
  operations: "static",
};

const passwordConfig = dev2Static;

const temperature = (value: number) => ({
  type: "submit" as const,
  message: { template: "200" as const, fragment: "c8y_Temperature", series: "T", value, unit: "C" },
});

describe("startup", () => {
  it("bootstraps credentials, reconnects with them, registers, subscribes, then sends 500", () => {
    const h = new Harness(bootstrapConfig);
    const [connect] = commandsOf(h.start(), "connect");
    expect(connect).toMatchObject({
      clientId: "dev1",
      username: "management/devicebootstrap",
      password: "bs-secret",
    });

    expect(commandsOf(h.connack(), "subscribe")[0]?.topics).toEqual([{ topic: "s/dcr", qos: 0 }]);
    expect(commandsOf(h.suback(), "publish")).toMatchObject([{ topic: "s/ucr", payload: "" }]);

    // Not accepted yet: the device keeps asking on a jittered interval.
    const polls = commandsOf(h.advance(20_000), "publish").filter((p) => p.topic === "s/ucr");
    expect(polls.length).toBeGreaterThanOrEqual(3);

    const afterCredentials = h.deliver("s/dcr", "70,t42,device_dev1,n3w");
    expect(commandsOf(afterCredentials, "persist")[0]?.changes).toEqual([
      { key: "credentials", value: { tenant: "t42", user: "device_dev1", password: "n3w" } },
    ]);
    // Nothing else happens before the credentials are durable.
    expect(commandsOf(afterCredentials, "connect")).toEqual([]);

    const reconnect = h.persistAll();
    expect(commandsOf(reconnect, "disconnect")).toHaveLength(1);
    expect(commandsOf(reconnect, "connect")[0]).toMatchObject({
      clientId: "d:dev1",
      username: "t42/device_dev1",
      password: "n3w",
    });

    const session = h.connack();
    const sessionPublishes = commandsOf(session, "publish");
    expect(sessionPublishes.map((p) => [p.topic, p.payload])).toEqual([
      ["s/us", "100,Pump 1,acme_Pump\n101,dev1-valve,Valve,c8y_MQTTChildDevice"],
      ["s/us/dev1-valve", "101,dev1-valve-sensor,Sensor,c8y_MQTTChildDevice"],
    ]);
    expect(commandsOf(session, "subscribe")[0]?.topics).toEqual([
      { topic: "s/ds", qos: 1 },
      { topic: "s/e", qos: 0 },
    ]);

    const online = h.suback();
    expect(h.state.phase.name).toBe("online");
    expect(commandsOf(online, "publish").map((p) => p.payload)).toEqual([
      "114,c8y_Restart,c8y_Command\n117,10\n500",
    ]);
  });

  it("publishes no data before every SUBACK is in, and refused subscriptions are retried with backoff", () => {
    const h = new Harness({ ...passwordConfig, customTemplates: ["myTpl"] });
    h.start();
    h.connack();
    h.send(temperature(20));
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("200"))).toEqual([]);

    const refused = h.suback([1, 0, 0x80]);
    expect(h.state.phase.name).toBe("subscribing");
    const report = h.reports().find((r) => r.kind === "subscription-refused");
    expect(report).toMatchObject({ topics: ["s/dc/myTpl"] });
    expect(commandsOf(refused, "timer-set").map((t) => t.key)).toContain("resubscribe");
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("200"))).toEqual([]);

    const retry = h.advance(400_000);
    expect(commandsOf(retry, "subscribe")[0]?.topics).toEqual([{ topic: "s/dc/myTpl", qos: 1 }]);
    expect(h.rowsOn("s/us")).not.toContain("500"); // not before every subscription is granted
    const granted = h.suback();
    expect(h.state.phase.name).toBe("online");
    // The 500 goes out once, on the SUBACK of the retried subscription, before the queued data.
    const rowsAfterResubscribe = commandsOf(granted, "publish")
      .filter((p) => p.topic === "s/us")
      .flatMap((p) => p.payload.split("\n"));
    const at500 = rowsAfterResubscribe.indexOf("500");
    const atData = rowsAfterResubscribe.indexOf("200,c8y_Temperature,T,20,C");
    expect(at500).toBeGreaterThanOrEqual(0);
    expect(atData).toBeGreaterThan(at500);
    expect(h.rowsOn("s/us").filter((r) => r === "500")).toHaveLength(1);
  });

  it("re-bootstraps after repeated CONNACK 4 with stored credentials", () => {
    const h = new Harness({ ...bootstrapConfig, credentialRejectLimit: 2 });
    h.start({ credentials: { tenant: "t1", user: "device_dev1", password: "old" } });
    expect(commandsOf(h.commands, "connect")[0]).toMatchObject({ username: "t1/device_dev1" });
    h.connack(4);
    h.advance(h.timers.get("reconnect")! - h.now);
    const secondRefusal = h.connack(4);
    expect(commandsOf(secondRefusal, "persist")[0]?.changes).toEqual([{ key: "credentials", value: null }]);
    expect(h.reports().some((r) => r.kind === "credentials-discarded")).toBe(true);
    h.advance(h.timers.get("reconnect")! - h.now);
    expect(commandsOf(h.commands, "connect").at(-1)).toMatchObject({
      username: "management/devicebootstrap",
    });
  });

  it("treats CONNACK 1/2/4 as configuration errors: backing off to configErrorDelayMs, saying what to check", () => {
    const h = new Harness({
      ...passwordConfig,
      backoff: { floorMs: 1000, capMs: 600_000, configErrorDelayMs: 5_000 },
    });
    h.start();
    const transient = commandsOf(h.connack(3), "timer-set").find((t) => t.key === "reconnect")!;
    expect(transient.atMs - h.now).toBeGreaterThanOrEqual(1000);
    expect(transient.atMs - h.now).toBeLessThanOrEqual(2000);
    h.advance(transient.atMs - h.now);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = commandsOf(h.connack(4), "timer-set").find((x) => x.key === "reconnect")!;
      delays.push(t.atMs - h.now);
      h.advance(t.atMs - h.now);
    }
    // Growing from the floor, never beyond configErrorDelayMs (the default is 60 s).
    expect(delays.every((d) => d >= 1000 && d <= 5_000)).toBe(true);
    expect(delays.at(-1)).toBeGreaterThanOrEqual(2_500);
    const refused = h.reports().filter((r) => r.kind === "connect-refused");
    expect(refused.map((r) => r.kind === "connect-refused" && r.code)).toEqual([3, 4, 4, 4, 4, 4, 4]);
    expect(refused[1]).toMatchObject({
      meaning: expect.stringContaining("check the tenant, user and password"),
    });
  });

  it("certificate devices connect without a password and refresh their JWT at half its lifetime", () => {
    const h = new Harness({ deviceId: "cert1", auth: { mode: "certificate" }, operations: "static" });
    const [connect] = commandsOf(h.start(), "connect");
    expect(connect).toMatchObject({ clientId: "d:cert1", username: null, password: null });
    expect(commandsOf(h.connack(), "subscribe")[0]?.topics.map((t) => t.topic)).toEqual([
      "s/ds",
      "s/e",
      "s/dat",
    ]);
    const online = h.suback();
    expect(commandsOf(online, "publish").filter((p) => p.topic === "s/uat")).toHaveLength(1);
    const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
    const jwt = `${b64({ alg: "none" })}.${b64({ iat: 1000, exp: 4600 })}.sig`;
    const received = h.deliver("s/dat", `71,${jwt}`);
    expect(h.reports().at(-1)).toEqual({ kind: "token", token: jwt, refreshInMs: 1_800_000 });
    expect(commandsOf(received, "timer-set")).toEqual([
      { type: "timer-set", key: "token-refresh", atMs: h.now + 1_800_000 },
    ]);
    const refresh = h.advance(1_800_000);
    expect(commandsOf(refresh, "publish").filter((p) => p.topic === "s/uat")).toHaveLength(1);
  });

  it("does not re-send unchanged inventory on a new session, but always 100/101 and 500", () => {
    const h = new Harness(bootstrapConfig);
    h.bringOnline({ credentials: { tenant: "t", user: "u", password: "p" } });
    h.ackAll();
    h.persistAll();
    const first = h.rowsOn("s/us");
    expect(first).toEqual(expect.arrayContaining(["114,c8y_Restart,c8y_Command", "117,10", "500"]));

    const restarted = new Harness(bootstrapConfig);
    restarted.bringOnline(Object.fromEntries(h.storage));
    const second = restarted.rowsOn("s/us");
    expect(second).toContain("500");
    expect(second.some((r) => r.startsWith("100,"))).toBe(true);
    expect(second.some((r) => r.startsWith("114") || r.startsWith("117"))).toBe(false);
  });
});

describe("cycle: data", () => {
  it("resends unacknowledged rows in order after a reconnect", () => {
    const h = new Harness({ ...passwordConfig, inflightWindow: 2 });
    h.bringOnline();
    h.ackAll();
    for (let i = 0; i < 5; i++) h.send(temperature(i));
    // Window of 2: the first rows pack into one publish, so everything may already be in flight.
    h.drop();
    expect(h.state.phase.name).toBe("waiting");
    h.advance(400_000);
    h.connack();
    h.suback();
    h.ackAll();
    const values = h
      .rowsOn("s/us")
      .filter((r) => r.startsWith("200"))
      .map((r) => Number(r.split(",")[3]));
    // Every value arrives, the last delivery of each is in order.
    const lastSeen = [...new Set(values.reverse())].reverse();
    expect(lastSeen).toEqual([0, 1, 2, 3, 4]);
    expect(h.state.counters.delivered).toBe(5 + 0);
  });

  it("packs rows into publishes and reports delivery", () => {
    const h = new Harness(passwordConfig);
    h.bringOnline();
    h.ackAll();
    h.send({ ...temperature(1), tag: "a" });
    h.send({ ...temperature(2), tag: "b" });
    h.ackAll();
    const delivered = h.reports().filter((r) => r.kind === "delivered");
    expect(delivered.flatMap((r) => (r.kind === "delivered" ? r.refs : []))).toHaveLength(2);
  });

  it("drops the oldest measurement when the measurement class is full, and counts it", () => {
    const h = new Harness({ ...passwordConfig, outbox: { measurement: { maxMessages: 3 } } });
    h.start();
    for (let i = 0; i < 5; i++) h.send(temperature(i));
    expect(h.state.counters.dropped).toBe(2);
    expect(h.state.counters.droppedByReason).toEqual({ "measurement-overflow": 2 });
    const dropped = h.reports().filter((r) => r.kind === "dropped");
    expect(dropped).toHaveLength(2);
    h.connack();
    h.suback();
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("200"))).toEqual([
      "200,c8y_Temperature,T,2,C",
      "200,c8y_Temperature,T,3,C",
      "200,c8y_Temperature,T,4,C",
    ]);
  });

  it("refuses submissions before start, so refs cannot collide with restored ones", () => {
    const h = new Harness(passwordConfig);
    h.send(temperature(1));
    expect(h.reports().at(-1)).toEqual({ kind: "rejected", reason: "engine not started" });
    h.start({
      "outbox/000000000001": {
        ref: 1,
        cls: "measurement",
        topic: "s/us",
        line: "200,f,s,1",
        bytes: 9,
        template: "200",
      },
    });
    h.send(temperature(2));
    expect(h.reports().at(-1)).toEqual({ kind: "accepted", ref: 2 });
  });

  it("rejects invalid messages and rows too large for one publish with a reason", () => {
    const h = new Harness(passwordConfig);
    h.start();
    // NaN cannot cross a JSON boundary; an embedding application can still pass it in-process.
    h.send(
      { type: "submit", message: { template: "200", fragment: "f", series: "s", value: Number.NaN } },
      { raw: true },
    );
    h.send({ type: "submit", message: { template: "400", type: "big", text: "x".repeat(20_000) } });
    const rejected = h.reports().filter((r) => r.kind === "rejected");
    expect(rejected).toHaveLength(2);
    expect(rejected[1]).toMatchObject({ reason: expect.stringContaining("row-too-large") });
    expect(h.state.counters.rejected).toBe(2);
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 1, "too-large": 1 });
  });

  it("correlates s/e errors with the recent messages of that template", () => {
    const h = new Harness(passwordConfig);
    h.bringOnline();
    h.ackAll();
    h.send({ type: "submit", message: { template: "400", type: "t", text: "hello" } });
    const ref = h.reports().find((r) => r.kind === "accepted");
    h.deliver("s/e", "45,400,Wrong number of arguments");
    const err = h.reports().find((r) => r.kind === "platform-error");
    expect(err).toMatchObject({
      code: 45,
      reference: "400",
      correlated: [ref?.kind === "accepted" ? ref.ref : -1],
    });
    expect(h.state.counters.platformErrors).toEqual({ "45": 1 });
    expect(h.state.phase.name).toBe("online");
  });
});

describe("cycle: operations", () => {
  const online = () => {
    const h = new Harness(passwordConfig);
    h.bringOnline();
    h.flush();
    return h;
  };

  it("journals, persists, then hands out an operation and reports 501 / 503", () => {
    const h = online();
    const received = h.deliver("s/ds", '511,dev2,"echo \\"hi\\""');
    expect(commandsOf(received, "execute-operation")).toEqual([]);
    expect(commandsOf(received, "persist")[0]?.changes[0]?.key).toBe("journal/op-1");
    const handed = h.persistAll();
    expect(commandsOf(handed, "execute-operation")[0]).toMatchObject({
      key: "op-1",
      fragment: "c8y_Command",
      operation: { template: "511", deviceId: "dev2", text: 'echo "hi"' },
    });
    h.finish("op-1", { status: "successful", parameters: ["hi"] });
    h.flush();
    h.persistAll();
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("50"))).toEqual([
      "500",
      "501,c8y_Command",
      "503,c8y_Command,hi",
    ]);
    expect(openEntries(h.state.journal)).toEqual([]);
  });

  it("runs operations of one fragment strictly one at a time, in arrival order", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,first\n511,dev2,second\n510,dev2");
    h.persistAll();
    expect(h.handedOut.map((o) => [o.fragment, o.key])).toEqual([
      ["c8y_Command", "op-1"],
      ["c8y_Restart", "op-3"],
    ]);
    h.finish("op-1", { status: "failed", reason: "exit 1" });
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-3", "op-2"]);
    h.finish("op-2", { status: "successful" });
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("50") && r.includes("c8y_Command"))).toEqual([
      "501,c8y_Command",
      "502,c8y_Command,exit 1",
      "501,c8y_Command",
      "503,c8y_Command",
    ]);
  });

  it("ignores a redelivered operation that is still pending on the platform", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll();
    expect(h.handedOut).toHaveLength(1);
    expect(h.state.counters.operationsDuplicate).toBe(1);
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.flush();
    h.persistAll();
    // A stale copy arriving now is still absorbed (the line is kept for tombstoneMs)...
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll();
    expect(h.handedOut).toHaveLength(1);
    // ...and when it expires, the twin might have been a real second operation: 500 again.
    expect(h.rowsOn("s/us").filter((r) => r === "500")).toHaveLength(1);
    h.advance(60_000);
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => r === "500")).toHaveLength(2);
  });

  it("fails unsupported and malformed operations with 501 then 502 and a reason", () => {
    const h = online();
    h.deliver("s/ds", "513,dev2,config-text\n530,dev2,host,notaport,key\n512,dev2");
    h.persistAll();
    h.flush();
    const rows = h.rowsOn("s/us").filter((r) => r.startsWith("50") && r !== "500");
    expect(rows[0]).toBe("501,c8y_Configuration");
    expect(rows[1]).toMatch(/^502,c8y_Configuration,operation c8y_Configuration is not supported/);
    expect(rows[2]).toBe("501,c8y_RemoteAccessConnect");
    expect(rows[3]).toMatch(/^502,c8y_RemoteAccessConnect,"?malformed 530 line/);
    expect(h.reports().some((r) => r.kind === "operation-ignored")).toBe(true);
    expect(h.handedOut).toEqual([]);
  });

  it("ignores an operation whose target id cannot be a topic level", () => {
    const h = online();
    h.deliver("s/ds", "510,a/b");
    h.persistAll();
    expect(h.reports().at(-1)).toMatchObject({ kind: "operation-ignored", raw: ["510", "a/b"] });
    expect(h.publishes().some((p) => p.topic.includes("a/b"))).toBe(false);
  });

  it("reports status by id (504/506/505) for custom-template operations that carry the operation id", () => {
    const h = new Harness({
      ...passwordConfig,
      supportedOperations: ["c8y_Restart", "set_wifi"],
      customTemplates: ["ops"],
      customOperations: [{ xid: "ops", messageId: "dm1", fragment: "set_wifi", operationIdField: 0 }],
    });
    h.bringOnline();
    h.flush();
    h.deliver("s/dc/ops", "dm1,dev2,4711,Factory Wifi,WPA3\ndm1,dev2,4712,Guest,WPA2\nzz9,dev2,x");
    h.persistAll();
    expect(h.handedOut[0]).toMatchObject({
      fragment: "set_wifi",
      operation: {
        template: "custom",
        xid: "ops",
        operationId: "4711",
        values: ["4711", "Factory Wifi", "WPA3"],
      },
    });
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.persistAll();
    h.finish(h.handedOut[1]!.key, { status: "failed", reason: "no such network" });
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => /^50[4-6]/.test(r))).toEqual([
      "504,4711",
      "506,4711",
      "504,4712",
      "505,4712,no such network",
    ]);
    // A line of the collection that is not an operation reaches the application as it is.
    expect(h.reports()).toContainEqual({
      kind: "downstream",
      message: { kind: "custom", xid: "ops", row: ["zz9", "dev2", "x"] },
    });
  });

  it("shortens a failure reason that would exceed the publish limit, measured after escaping", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,run");
    h.persistAll();
    h.finish(h.handedOut[0]!.key, { status: "failed", reason: '"'.repeat(20_000) });
    h.flush();
    const failed = h.publishes().find((p) => p.payload.startsWith("502,"))!;
    expect(failed.payload.endsWith('…(truncated)"')).toBe(true);
    expect(failed.payload.length).toBeLessThanOrEqual(16_184);
  });

  it("fails an operation whose success result cannot fit one publish", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,cat big");
    h.persistAll();
    h.finish(h.handedOut[0]!.key, { status: "successful", parameters: ["x".repeat(17_000)] });
    h.flush();
    expect(h.rowsOn("s/us")).toContain(
      "502,c8y_Command,operation result exceeds the 16184-byte publish limit",
    );
  });

  it("sends child operation statuses on the child's topic", () => {
    const h = new Harness({ ...passwordConfig, children: [{ id: "kid" }] });
    h.bringOnline();
    h.deliver("s/ds", "510,kid");
    h.persistAll();
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.flush();
    expect(h.rowsOn("s/us/kid")).toEqual(["501,c8y_Restart", "503,c8y_Restart"]);
  });

  it("after a restart, completes an executing c8y_Restart and fails any other executing operation", () => {
    const h = online();
    h.deliver("s/ds", "510,dev2\n511,dev2,sleep 100");
    h.persistAll();
    h.flush();
    h.persistAll();
    expect(h.handedOut).toHaveLength(2);
    // Power cut: a new engine starts from what storage holds.
    const after = new Harness(passwordConfig);
    after.bringOnline(Object.fromEntries(h.storage));
    after.flush();
    const rows = after.rowsOn("s/us").filter((r) => r.startsWith("50") && r !== "500");
    expect(rows).toEqual([
      "503,c8y_Restart",
      "502,c8y_Command,c8ylink restarted while the operation was executing",
    ]);
    expect(after.handedOut).toEqual([]);
  });

  it("sends 507 when the journal cannot be read after a restart", () => {
    const h = new Harness(passwordConfig);
    h.bringOnline({ "journal/op-9": { garbage: true } });
    h.flush();
    expect(h.rowsOn("s/us")).toContain("507,,c8ylink journal unreadable after restart");
    expect(h.reports().some((r) => r.kind === "invalid-input")).toBe(true);
  });

  it("refuses results for unknown or non-executing operations without crashing", () => {
    const h = online();
    h.finish("op-404", { status: "successful" });
    expect(h.reports().at(-1)).toMatchObject({ kind: "invalid-input", source: "operation-result" });
  });
});

describe("timers, persistence and stop", () => {
  it("ignores stale and duplicate timer fires", () => {
    const h = new Harness(passwordConfig);
    h.start();
    const before = h.state;
    const out = h.send({ type: "timer-fired", key: "reconnect" });
    expect(out).toEqual([]);
    expect(h.state.timers).toEqual(before.timers);
    h.send({ type: "timer-fired", key: "connect-timeout" }); // deadline not reached yet
    expect(h.state.phase.name).toBe("connecting");
  });

  it("treats a missing CONNACK as a failed attempt", () => {
    const h = new Harness(passwordConfig);
    h.start();
    const out = h.advance(30_000);
    expect(commandsOf(out, "disconnect")).toHaveLength(1);
    expect(h.state.phase.name).toBe("waiting");
  });

  it("retries a failed credentials persist and only reconnects once it is durable", () => {
    const h = new Harness(bootstrapConfig);
    h.start();
    h.connack();
    h.suback();
    h.deliver("s/dcr", "70,t,u,p");
    h.failPersist();
    expect(h.state.phase.name).toBe("storing-credentials");
    const retry = h.advance(2_000);
    expect(commandsOf(retry, "persist")).toHaveLength(1);
    const done = h.persistAll();
    expect(commandsOf(done, "connect")[0]).toMatchObject({ username: "t/u" });
  });

  it("stops gracefully: flushes the outbox within the deadline, then disconnects", () => {
    const h = new Harness(passwordConfig);
    h.bringOnline();
    h.send(temperature(1));
    h.send({ type: "stop" });
    expect(h.state.phase.name).toBe("stopping");
    h.send(temperature(2));
    expect(h.reports().at(-1)).toMatchObject({ kind: "rejected", reason: "engine is stopping" });
    const out = h.ackAll();
    expect(commandsOf(out, "disconnect")).toHaveLength(1);
    expect(h.state.phase.name).toBe("stopped");
    expect(h.reports().at(-1)).toEqual({ kind: "stopped", undelivered: 0 });
  });

  it("stops at the deadline with undelivered rows kept in storage", () => {
    const h = new Harness({ ...passwordConfig, stopDeadlineMs: 1000 });
    h.bringOnline();
    h.send(temperature(1));
    h.send({ type: "stop" });
    h.advance(1000);
    expect(h.state.phase.name).toBe("stopped");
    expect(h.reports().at(-1)).toEqual({ kind: "stopped", undelivered: 1 });
  });
});
