/**
 * The real engine (`@c8ylink/mqtt`'s `createEngine`) against the simulated tenant over TCP and
 * WebSocket on 127.0.0.1: bootstrap (Step 0), device and children creation (Steps 1–2, one child
 * nested), subscriptions and Step 3, data, operations created over the HTTP admin API with
 * their status history, and per-client delivery. Every engine records its event log, and every
 * log replays through the core with zero divergence.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  findDevice,
  listAlarms,
  listEvents,
  listMeasurements,
  type StoredOperation,
} from "@c8ylink/platform";
import type { EngineConfigInput, Operation, OperationContext } from "@c8ylink/mqtt";
import {
  BOOTSTRAP_PASSWORD,
  Fixture,
  ONLINE_TIMEOUT,
  expectReplays,
  fastEngine,
  http,
  sleep,
  waitUntil,
} from "./support.js";

const ROOT = "gw-1";
const CHILD = "gw-1-c1";
const NESTED = "gw-1-c2";

const bootstrapConfig: EngineConfigInput = {
  deviceId: ROOT,
  device: { name: "Gateway 1", type: "c8ylink_Gateway" },
  auth: { mode: "bootstrap", bootstrapPassword: BOOTSTRAP_PASSWORD },
  children: [
    { id: NESTED, name: "Nested sensor", type: "c8ylink_Sensor", parent: CHILD },
    { id: CHILD, name: "Child hub", type: "c8ylink_Hub" },
  ],
  supportedOperations: ["c8y_Command", "c8y_Restart"],
  ...fastEngine,
};

const passwordConfig = (deviceId: string): EngineConfigInput => ({
  deviceId,
  device: { name: `Device ${deviceId}`, type: "c8ylink_Test" },
  auth: { mode: "password", tenant: "t100", user: `device_${deviceId}`, password: `pw-${deviceId}` },
  supportedOperations: ["c8y_Command"],
  ...fastEngine,
});

const statuses = (op: StoredOperation | undefined): string[] => op?.history.map((h) => h.status) ?? [];

describe("engine ↔ simulated tenant", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("bootstraps, creates the device tree, sends data and runs operations from the admin API", async () => {
    const { tenant, entries } = await fx.tenant({
      platform: { autoAccept: true, bootstrapPassword: BOOTSTRAP_PASSWORD },
    });
    // Step 0 needs a registration; with autoAccept the first poll accepts it.
    const registered = await http(tenant, "POST", "/registrations", { deviceId: ROOT });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ deviceId: ROOT, status: "WAITING_FOR_CONNECTION" });

    const { engine, logPath, reports } = await fx.engine({ config: bootstrapConfig, url: tenant.mqttUrl });
    const seen: string[] = [];
    engine.onOperation((op: Operation, ctx: OperationContext) => seen.push(`${op.fragment}@${ctx.deviceId}`));
    engine.handle("c8y_Command", async (op) => {
      if (op.template !== "511") throw new Error("unexpected template");
      return { status: "successful", parameters: [`ran ${op.text}`] };
    });
    engine.handle("c8y_Restart", () => Promise.reject(new Error("restart refused by test")));
    await engine.start();
    await engine.whenOnline(ONLINE_TIMEOUT);

    // Step 0: credentials delivered on s/dcr after the registration was accepted.
    expect(reports).toContainEqual({ kind: "credentials-received", tenant: "t100", user: `device_${ROOT}` });
    const registration = await http(tenant, "GET", `/registrations/${ROOT}`);
    expect(registration.body).toMatchObject({ status: "ACCEPTED", username: `device_${ROOT}` });
    expect((registration.body as { history: { status: string }[] }).history.map((h) => h.status)).toEqual([
      "WAITING_FOR_CONNECTION",
      "PENDING_ACCEPTANCE",
      "ACCEPTED",
    ]);
    expect(entries).toContainEqual(
      expect.objectContaining({
        kind: "publish-out",
        topic: "s/dcr",
        payload: expect.stringMatching(/^70,t100,device_gw-1,/),
      }),
    );

    // Steps 1–3: device tree with c8y_Serial external ids, supported operations, subscriptions.
    await waitUntil(() => findDevice(tenant.state(), NESTED) !== undefined, 5_000, "the nested child");
    const root = findDevice(tenant.state(), ROOT);
    expect(root).toMatchObject({
      name: "Gateway 1",
      type: "c8ylink_Gateway",
      parent: null,
      children: [CHILD],
    });
    expect(root?.fragments).toMatchObject({
      c8y_IsDevice: {},
      com_cumulocity_model_Agent: {},
      c8y_SupportedOperations: ["c8y_Command", "c8y_Restart"],
    });
    expect(findDevice(tenant.state(), CHILD)).toMatchObject({
      parent: ROOT,
      children: [NESTED],
      name: "Child hub",
    });
    expect(findDevice(tenant.state(), NESTED)).toMatchObject({
      parent: CHILD,
      children: [],
      name: "Nested sensor",
    });
    for (const id of [ROOT, CHILD, NESTED]) expect(tenant.state().identities.keys()).toContain(id);
    const devices = await http(tenant, "GET", "/devices");
    expect((devices.body as { externalId: string }[]).map((d) => d.externalId)).toEqual([
      ROOT,
      CHILD,
      NESTED,
    ]);
    const session = tenant
      .state()
      .sessions.values()
      .find((s) => s.deviceId === ROOT);
    expect(session).toMatchObject({ kind: "device", username: `device_${ROOT}` });
    // Operations by id (the default): JSON notifications beside s/ds.
    expect(Object.keys(session?.subscriptions ?? {}).sort()).toEqual([
      "devicecontrol/notifications",
      "s/ds",
      "s/e",
    ]);

    // Data: measurement on the root, event on the child, alarm on the nested child.
    const submitted = [
      engine.submit({ template: "200", fragment: "c8y_Temperature", series: "T", value: 21.5, unit: "C" }),
      engine.submit({ template: "400", type: "c8y_Door", text: "door opened" }, { child: CHILD }),
      engine.submit({ template: "301", type: "c8y_Overheat", text: "too hot" }, { child: NESTED }),
    ];
    expect(submitted.every((s) => s.accepted)).toBe(true);
    await engine.whenDrained(5_000);
    await waitUntil(() => listAlarms(tenant.state(), NESTED).length === 1, 5_000, "the alarm");
    expect(listMeasurements(tenant.state(), ROOT)).toEqual([
      expect.objectContaining({
        type: "c8y_Temperature",
        fragments: { c8y_Temperature: { T: { value: 21.5, unit: "C" } } },
      }),
    ]);
    expect(listEvents(tenant.state(), CHILD)).toEqual([
      expect.objectContaining({ type: "c8y_Door", text: "door opened" }),
    ]);
    expect(listAlarms(tenant.state(), NESTED)).toEqual([
      expect.objectContaining({
        type: "c8y_Overheat",
        severity: "CRITICAL",
        status: "ACTIVE",
        text: "too hot",
      }),
    ]);
    const measurements = await http(tenant, "GET", `/measurements?device=${ROOT}`);
    expect(measurements.body).toHaveLength(1);
    const events = await http(tenant, "GET", `/events?device=${CHILD}`);
    expect(events.body).toHaveLength(1);
    const alarms = await http(tenant, "GET", `/alarms?device=${NESTED}`);
    expect(alarms.body).toHaveLength(1);

    // An operation created over the admin API reaches the handler and ends SUCCESSFUL.
    const created = await http(tenant, "POST", "/operations", {
      deviceId: ROOT,
      fragments: { c8y_Command: { text: "uptime" } },
      description: "run uptime",
    });
    expect(created.status).toBe(201);
    const op = created.body as StoredOperation;
    expect(op).toMatchObject({ status: "PENDING", externalId: ROOT, description: "run uptime" });
    await waitUntil(
      () => statuses(tenant.state().operations.find((o) => o.id === op.id)).length === 3,
      10_000,
      "the command to finish",
    );
    const done = await http(tenant, "GET", `/operations/${op.id}`);
    expect(done.body).toMatchObject({
      status: "SUCCESSFUL",
      fragments: { c8y_Command: { text: "uptime", result: "ran uptime" } },
    });
    expect(statuses(done.body as StoredOperation)).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
    expect((done.body as StoredOperation).history.map((h) => h.cause)).toEqual([
      "admin-create-operation",
      `504,${op.id}`,
      `506,${op.id},ran uptime`,
    ]);

    // One that fails: FAILED with the handler's reason.
    const restart = await http(tenant, "POST", "/operations", {
      deviceId: ROOT,
      fragments: { c8y_Restart: {} },
    });
    expect(restart.status).toBe(201);
    const restartId = (restart.body as StoredOperation).id;
    await waitUntil(
      () => tenant.state().operations.find((o) => o.id === restartId)?.status === "FAILED",
      10_000,
      "the restart to fail",
    );
    const failed = await http(tenant, "GET", `/operations/${restartId}`);
    expect(statuses(failed.body as StoredOperation)).toEqual(["PENDING", "EXECUTING", "FAILED"]);
    expect(failed.body).toMatchObject({ failureReason: "restart refused by test" });

    // An operation for the nested child is delivered to the agent (the root's connection).
    const forChild = await http(tenant, "POST", "/operations", {
      deviceId: NESTED,
      fragments: { c8y_Command: { text: "ls" } },
    });
    expect(forChild.status).toBe(201);
    const childOpId = (forChild.body as StoredOperation).id;
    await waitUntil(
      () => tenant.state().operations.find((o) => o.id === childOpId)?.status === "SUCCESSFUL",
      10_000,
      "the child's command",
    );
    expect(seen).toEqual([`c8y_Command@${ROOT}`, `c8y_Restart@${ROOT}`, `c8y_Command@${NESTED}`]);
    const listed = await http(tenant, "GET", `/operations?device=${ROOT}&status=SUCCESSFUL`);
    expect((listed.body as StoredOperation[]).map((o) => o.id)).toEqual([op.id]);

    expect(tenant.state().errors.toArray()).toEqual([]);
    await engine.stop();
    await expectReplays(logPath);
  });

  it("delivers an operation only to the device it targets", async () => {
    const { tenant, entries } = await fx.tenant({
      platform: {
        users: ["a", "b", "c"].map((d) => ({ username: `device_dev-${d}`, password: `pw-dev-${d}` })),
      },
    });
    const devA = await fx.engine({ config: passwordConfig("dev-a"), url: tenant.mqttUrl });
    const devB = await fx.engine({ config: passwordConfig("dev-b"), url: tenant.mqttUrl });
    const ran: Record<string, string[]> = { a: [], b: [] };
    devA.engine.handle("c8y_Command", async (op) => {
      ran.a?.push(op.template === "511" ? op.text : "?");
      return { status: "successful" };
    });
    devB.engine.handle("c8y_Command", async (op) => {
      ran.b?.push(op.template === "511" ? op.text : "?");
      return { status: "successful" };
    });
    // A third device listens on s/ds and s/e with a raw client: it must receive nothing.
    const sniffer = await fx.client(tenant.mqttUrl, {
      clientId: "d:dev-c",
      username: "t100/device_dev-c",
      password: "pw-dev-c",
    });
    const sniffed: string[] = [];
    sniffer.on("message", (topic, payload) => sniffed.push(`${topic} ${payload.toString("utf8")}`));
    await sniffer.publishAsync("s/us", "100", { qos: 1 }); // subscriptions need the device (spec §2.5)
    expect(await sniffer.subscribeAsync({ "s/ds": { qos: 1 }, "s/e": { qos: 0 } })).toEqual([
      { topic: "s/ds", qos: 1 },
      { topic: "s/e", qos: 0 },
    ]);
    await Promise.all([devA.engine.start(), devB.engine.start()]);
    await Promise.all([devA.engine.whenOnline(ONLINE_TIMEOUT), devB.engine.whenOnline(ONLINE_TIMEOUT)]);
    await waitUntil(
      () =>
        findDevice(tenant.state(), "dev-a") !== undefined &&
        findDevice(tenant.state(), "dev-b") !== undefined,
      5_000,
      "both devices",
    );

    const forA = await http(tenant, "POST", "/operations", {
      deviceId: "dev-a",
      fragments: { c8y_Command: { text: "only-a" } },
    });
    expect(forA.status).toBe(201);
    const idA = (forA.body as StoredOperation).id;
    await waitUntil(
      () => tenant.state().operations.find((o) => o.id === idA)?.status === "SUCCESSFUL",
      10_000,
      "A's operation",
    );
    const forB = await http(tenant, "POST", "/operations", {
      deviceId: "dev-b",
      fragments: { c8y_Command: { text: "only-b" } },
    });
    const idB = (forB.body as StoredOperation).id;
    await waitUntil(
      () => tenant.state().operations.find((o) => o.id === idB)?.status === "SUCCESSFUL",
      10_000,
      "B's operation",
    );
    await sleep(200); // room for any stray delivery to show up

    expect(ran).toEqual({ a: ["only-a"], b: ["only-b"] });
    expect(sniffed).toEqual([]);
    // The timeline shows exactly one s/ds delivery per operation, each to its own connection.
    const out = entries.flatMap((e) =>
      e.kind === "publish-out" && e.topic === "s/ds" ? [`${e.clientId} ${e.payload}`] : [],
    );
    expect(out).toEqual(["d:dev-a 511,dev-a,only-a", "d:dev-b 511,dev-b,only-b"]);

    await devA.engine.stop();
    await devB.engine.stop();
    await expectReplays(devA.logPath);
    await expectReplays(devB.logPath);
  });

  it("connects over WebSocket (ws://…/mqtt)", async () => {
    const { tenant } = await fx.tenant({
      wsPort: 0,
      platform: { users: [{ username: "device_ws-1", password: "pw-ws-1" }] },
    });
    expect(tenant.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const { engine, logPath } = await fx.engine({ config: passwordConfig("ws-1"), url: tenant.wsUrl ?? "" });
    engine.handle("c8y_Command", async () => ({ status: "successful", parameters: ["ok"] }));
    await engine.start();
    await engine.whenOnline(ONLINE_TIMEOUT);
    expect(engine.submit({ template: "211", temperature: 19.5 })).toMatchObject({ accepted: true });
    await engine.whenDrained(5_000);
    await waitUntil(
      () => listMeasurements(tenant.state(), "ws-1").length === 1,
      5_000,
      "the measurement over WebSocket",
    );
    expect(
      tenant.step({
        type: "admin-create-operation",
        deviceId: "ws-1",
        fragments: { c8y_Command: { text: "x" } },
      }),
    ).toMatchObject({ ok: true });
    await waitUntil(
      () => tenant.state().operations[0]?.status === "SUCCESSFUL",
      10_000,
      "the operation over WebSocket",
    );
    await engine.stop();
    await expectReplays(logPath);
  });

  it("keeps a bootstrapping device waiting until the registration is accepted over HTTP", async () => {
    const { tenant } = await fx.tenant({ platform: { bootstrapPassword: BOOTSTRAP_PASSWORD } });
    expect((await http(tenant, "POST", "/registrations", { deviceId: ROOT })).status).toBe(201);
    const { engine, logPath, reports } = await fx.engine({
      config: { ...bootstrapConfig, children: [] },
      url: tenant.mqttUrl,
    });
    await engine.start();
    await waitUntil(
      () => tenant.state().registrations.get(ROOT)?.status === "PENDING_ACCEPTANCE",
      10_000,
      "the first poll",
    );
    await sleep(700); // another poll or more: still nothing delivered
    expect(reports.some((r) => r.kind === "credentials-received")).toBe(false);
    const accepted = await http(tenant, "POST", `/registrations/${ROOT}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: "ACCEPTED" });
    // Accepting twice is a conflict.
    expect((await http(tenant, "POST", `/registrations/${ROOT}/accept`)).status).toBe(409);
    await engine.whenOnline(ONLINE_TIMEOUT);
    await waitUntil(() => findDevice(tenant.state(), ROOT) !== undefined, 5_000, "the device");

    // Blocking closes the live session and refuses the credentials from then on.
    const blocked = await http(tenant, "POST", `/registrations/${ROOT}/block`);
    expect(blocked.status).toBe(200);
    await waitUntil(() => engine.phase() !== "online", 5_000, "the engine to lose its connection");
    expect(tenant.state().connectionLog.toArray()).toContainEqual(
      expect.objectContaining({ event: "dropped", reason: "device blocked" }),
    );
    await engine.stop();
    await expectReplays(logPath);
  });
});
