/** Operations: delivery on s/ds, 500, the status templates 501–507 and their side effects (spec §4.5–4.8, §7). */
import { describe, expect, it } from "vitest";
import { parseRows } from "@c8ylink/core";
import { findDevice, findOperation, listOperations, type StoredOperation } from "../src/index.js";
import { delivered, deviceUsers, ofType, Sim } from "./support/sim.js";

const online = () => {
  const s = new Sim({ users: deviceUsers("dev1") });
  s.device("c", "dev1", "s/ds", "s/e");
  s.publish("c", "s/us", "100\n101,dev1-child");
  return s;
};

const created = (out: ReturnType<Sim["step"]>): string => ofType(out, "admin-result")[0]?.operationId ?? "";
const statuses = (op: StoredOperation | undefined) => op?.history.map((h) => h.status);

describe("delivery", () => {
  it("pushes a new operation to the agent's session with \\\"-escaping (spec §5)", () => {
    const s = online();
    const out = s.operation("dev1", { c8y_Command: { text: 'echo "hi"' } });
    expect(delivered(out, "s/ds")).toEqual(['511,dev1,"echo \\"hi\\""']);
    // The core reader gives the original text back.
    expect(parseRows(delivered(out, "s/ds")[0] ?? "")).toEqual({
      _tag: "Right",
      right: [["511", "dev1", 'echo "hi"']],
    });
  });

  it("renders the static templates per fragment; children's operations go to the root's session", () => {
    const s = online();
    const lines = (fragments: Record<string, unknown>, device = "dev1") =>
      delivered(s.operation(device, fragments), "s/ds");
    expect(lines({ c8y_Restart: {} }, "dev1-child")).toEqual(["510,dev1-child"]);
    expect(lines({ c8y_Configuration: { config: "a=1\nb=2" } })).toEqual(['513,dev1,"a=1\nb=2"']);
    expect(lines({ c8y_Firmware: { name: "fw", version: "2.0", url: "http://x" } })).toEqual([
      "515,dev1,fw,2.0,http://x",
    ]);
    expect(
      lines({ c8y_Firmware: { name: "fw", version: "2.1", url: "u", isPatch: true, dependency: "2.0" } }),
    ).toEqual(["525,dev1,fw,2.1,u,2.0"]);
    expect(lines({ c8y_RelayArray: ["OPEN", "CLOSED"] })).toEqual(["519,dev1,OPEN,CLOSED"]);
    expect(
      lines({ c8y_SoftwareUpdate: [{ name: "curl", version: "8", url: "", action: "install" }] }),
    ).toEqual(["528,dev1,curl,8,,install"]);
    expect(
      lines({
        c8y_LogfileRequest: {
          logFile: "syslog",
          dateFrom: "a",
          dateTo: "b",
          searchText: "",
          maximumLines: 100,
        },
      }),
    ).toEqual(["522,dev1,syslog,a,b,,100"]);
    expect(
      lines({ c8y_RemoteAccessConnect: { hostname: "10.0.0.1", port: 22, connectionKey: "k" } }),
    ).toEqual(["530,dev1,10.0.0.1,22,k"]);
    expect(
      lines({
        c8y_DeviceProfile: {
          firmware: { name: "fw", version: "1", url: "u", isPatch: false },
          software: [{ name: "curl", version: "2", url: "su", action: "install", softwareType: "rpm" }],
          configuration: [{ url: "cu", type: "ssh" }],
        },
      }),
    ).toEqual([
      "527,dev1,$FW,fw,1,u,false,,$SW,curl,2,su,install,$CONF,cu,ssh",
      "531,dev1,$FW,fw,1,u,false,,$SW,curl,2,rpm,su,install,$CONF,cu,ssh",
    ]);
    expect(
      lines({
        c8y_RelayStatus: { left: false },
        c8y_ParameterUpdate: {},
        c8y_ParameterUpdate_c8y_RelayStatus: {},
      }),
    ).toEqual(["532,dev1,c8y_RelayStatus.left,b,false"]);
  });

  it("529 once the device declares c8y_SupportedSoftwareTypes", () => {
    const s = online();
    s.publish("c", "s/us", "143,apt");
    const out = s.operation("dev1", {
      c8y_SoftwareUpdate: [{ name: "a", version: "1", url: "u", action: "delete" }],
    });
    expect(delivered(out, "s/ds")).toEqual(["529,dev1,a,1,,u,delete"]);
  });

  it("stores but does not push operations without a template, or whose content does not fit (gap 12)", () => {
    const s = online();
    expect(ofType(s.operation("dev1", { c8y_Custom: { x: 1 } }), "deliver")).toEqual([]);
    expect(ofType(s.operation("dev1", { c8y_Relay: { relayState: "HALF" } }), "deliver")).toEqual([]);
    expect(listOperations(s.state, { status: "PENDING" })).toHaveLength(2);
  });

  it("an unknown device is refused", () => {
    const s = online();
    expect(ofType(s.operation("nobody", { c8y_Restart: {} }), "admin-result")).toMatchObject([{ ok: false }]);
  });

  it("500 re-sends every PENDING operation of the agent and its children, oldest first", () => {
    const s = online();
    s.step({ type: "client-disconnect", clientKey: "c" });
    s.operation("dev1", { c8y_Restart: {} });
    s.operation("dev1-child", { c8y_Command: { text: "ls" } });
    s.device("c", "dev1", "s/ds");
    expect(delivered(s.publish("c", "s/us", "501,c8y_Restart"), "s/ds")).toEqual([]);
    expect(delivered(s.publish("c", "s/us", "500"), "s/ds")).toEqual(["511,dev1-child,ls"]);
  });
});

describe("status by fragment (501–503)", () => {
  it("act on the oldest operation of the fragment in the preceding state (leap-frog)", () => {
    const s = online();
    const a = created(s.operation("dev1", { c8y_Command: { text: "a" } }));
    const b = created(s.operation("dev1", { c8y_Command: { text: "b" } }));
    s.publish("c", "s/us", "501,c8y_Command");
    expect(findOperation(s.state, a)?.status).toBe("EXECUTING");
    expect(findOperation(s.state, b)?.status).toBe("PENDING");
    // The device starts b as well and finishes it first: the id-less 503 still hits a, the oldest.
    s.publish("c", "s/us", "501,c8y_Command");
    s.publish("c", "s/us", '503,c8y_Command,"result of b"');
    expect(findOperation(s.state, a)).toMatchObject({
      status: "SUCCESSFUL",
      fragments: { c8y_Command: { text: "a", result: "result of b" } },
    });
    expect(findOperation(s.state, b)?.status).toBe("EXECUTING");
    s.publish("c", "s/us", "502,c8y_Command,disk full");
    expect(findOperation(s.state, b)).toMatchObject({ status: "FAILED", failureReason: "disk full" });
    expect(findOperation(s.state, a)?.history).toEqual([
      { status: "PENDING", atMs: expect.any(Number) as number, cause: "admin-create-operation" },
      { status: "EXECUTING", atMs: expect.any(Number) as number, cause: "501,c8y_Command" },
      { status: "SUCCESSFUL", atMs: expect.any(Number) as number, cause: "503,c8y_Command,result of b" },
    ]);
  });

  it("apply to the device the topic addresses; nothing to act on → 41 on s/e", () => {
    const s = online();
    const op = created(s.operation("dev1-child", { c8y_Restart: {} }));
    expect(delivered(s.publish("c", "s/us", "501,c8y_Restart"), "s/e")).toEqual([
      "41,501,No PENDING operation with fragment c8y_Restart for device dev1",
    ]);
    s.publish("c", "s/us/dev1-child", "501,c8y_Restart\n503,c8y_Restart");
    expect(statuses(findOperation(s.state, op))).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
  });

  it("side effects of 503: relay states and log file URL (spec §4.7)", () => {
    const s = online();
    s.operation("dev1", { c8y_RelayArray: ["OPEN", "OPEN"] });
    s.operation("dev1", { c8y_LogfileRequest: { logFile: "x" } });
    s.publish("c", "s/us", "501,c8y_RelayArray\n503,c8y_RelayArray,CLOSED,OPEN");
    s.publish("c", "s/us", '501,c8y_LogfileRequest\n503,c8y_LogfileRequest,"https://t/event/1/binaries"');
    expect(findDevice(s.state, "dev1")?.fragments["c8y_RelayArray"]).toEqual(["CLOSED", "OPEN"]);
    expect(listOperations(s.state, { fragment: "c8y_LogfileRequest" })[0]?.fragments).toEqual({
      c8y_LogfileRequest: { logFile: "x", file: "https://t/event/1/binaries" },
    });
  });
});

describe("status by id (504–506) and 507", () => {
  it("504–506 move the operation with that id; repeats are no-ops; unknown ids → 41", () => {
    const s = online();
    const id = created(s.operation("dev1", { c8y_Restart: {} }));
    const other = created(s.operation("dev1", { c8y_Restart: {} }));
    s.publish("c", "s/us", `504,${other}\n504,${other}\n506,${other}`);
    expect(statuses(findOperation(s.state, other))).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
    expect(findOperation(s.state, id)?.status).toBe("PENDING");
    s.publish("c", "s/us", `505,${id},gave up`);
    expect(findOperation(s.state, id)).toMatchObject({ status: "FAILED", failureReason: "gave up" });
    const out = s.publish("c", "s/us", `504,99999\n504,${id}\n506,${id}`);
    expect(delivered(out, "s/e")).toEqual([
      "41,504,Operation 99999 not found",
      `41,504,Operation ${id} is already FAILED`,
      `41,506,Operation ${id} is already FAILED`,
    ]);
    // The child's operation, sent on the root's topic, is refused with the topic to use (spec
    // §4.5: the operation must have the caller as source); on the child's topic it applies.
    const childOp = created(s.operation("dev1-child", { c8y_Restart: {} }));
    expect(delivered(s.publish("c", "s/us", `504,${childOp}`), "s/e")).toEqual([
      `41,504,Operation ${childOp} is for device dev1-child: report it on s/us/dev1-child`,
    ]);
    s.publish("c", "s/us/dev1-child", `504,${childOp}\n505,${childOp},no`);
    expect(findOperation(s.state, childOp)).toMatchObject({ status: "FAILED", failureReason: "no" });
  });

  it("504–506 apply by id to any operation, also one no template renders; other trees' ids are unknown", () => {
    const s = online();
    const custom = created(s.operation("dev1", { acme_Custom: { x: 1 } }));
    s.publish("c", "s/us", `504,${custom}\n506,${custom},done`);
    expect(statuses(findOperation(s.state, custom))).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
    // Another device's operation (another session's tree) is not revealed.
    const s2 = new Sim({ users: deviceUsers("dev1", "dev2") });
    s2.device("a", "dev1", "s/e");
    s2.device("b", "dev2", "s/e");
    s2.publish("a", "s/us", "100");
    s2.publish("b", "s/us", "100");
    const foreign = created(s2.operation("dev2", { c8y_Restart: {} }));
    for (const line of [`504,${foreign}`, `505,${foreign},x`, `506,${foreign}`])
      expect(delivered(s2.publish("a", "s/us", line), "s/e")).toEqual([
        `41,${line.slice(0, 3)},Operation ${foreign} not found`,
      ]);
    expect(findOperation(s2.state, foreign)?.status).toBe("PENDING");
  });

  it("507 fails every EXECUTING operation of the device, optionally of one fragment", () => {
    const s = online();
    const restart = created(s.operation("dev1", { c8y_Restart: {} }));
    const command = created(s.operation("dev1", { c8y_Command: { text: "x" } }));
    const pending = created(s.operation("dev1", { c8y_Command: { text: "y" } }));
    s.publish("c", "s/us", `504,${restart}\n504,${command}`);
    s.publish("c", "s/us", "507,c8y_Restart,crashed");
    expect(findOperation(s.state, restart)).toMatchObject({ status: "FAILED", failureReason: "crashed" });
    expect(findOperation(s.state, command)?.status).toBe("EXECUTING");
    s.publish("c", "s/us", "507");
    expect([command, pending].map((id) => findOperation(s.state, id)?.status)).toEqual(["FAILED", "PENDING"]);
  });
});
