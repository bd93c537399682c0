/** The model's side of the REST API (rest.ts): logins, write access, events, binaries, ids. */
import { describe, expect, it } from "vitest";
import { authenticateRestLogin, findEvent, listEvents, mayWriteFor } from "../src/index.js";
import { deviceUsers, ofType, Sim } from "./support/sim.js";

const world = () => {
  const s = new Sim({ users: deviceUsers("dev1", "dev2") });
  s.device("c1", "dev1");
  s.publish("c1", "s/us", "100\n101,kid,Kid,c8y_Child");
  s.device("c2", "dev2");
  s.publish("c2", "s/us", "100");
  const id = (x: string) => s.state.identities.get(x) ?? "";
  return { s, dev1: id("dev1"), kid: id("kid"), dev2: id("dev2") };
};

const result = (outputs: ReturnType<Sim["step"]>) => ofType(outputs, "admin-result")[0];

describe("REST side of the model", () => {
  it("authenticates <tenant>/<user> with the MQTT password and names the device", () => {
    const { s } = world();
    expect(authenticateRestLogin(s.state, "t100/device_dev1", "pw-dev1")).toEqual({
      ok: true,
      username: "device_dev1",
      deviceId: "dev1",
    });
    for (const [login, password] of [
      ["t100/device_dev1", "pw-dev2"],
      ["t999/device_dev1", "pw-dev1"],
      ["device_dev1", "pw-dev1"],
      ["t100/device_nobody", "pw-dev1"],
      ["t100/device_dev1", ""],
    ] as const)
      expect(authenticateRestLogin(s.state, login, password).ok).toBe(false);
  });

  it("lets a device write for itself and its children only", () => {
    const { s, dev1, kid, dev2 } = world();
    expect(mayWriteFor(s.state, "dev1", dev1)).toBe(true);
    expect(mayWriteFor(s.state, "dev1", kid)).toBe(true);
    expect(mayWriteFor(s.state, "dev1", dev2)).toBe(false);
    expect(mayWriteFor(s.state, "dev2", kid)).toBe(false);
    expect(mayWriteFor(s.state, "ghost", dev1)).toBe(false);
    expect(mayWriteFor(s.state, "dev1", "999999")).toBe(false);
  });

  it("creates events with fresh ids, sets and removes c8y_IsBinary, reserves ids", () => {
    const { s, kid } = world();
    const created = result(
      s.step({
        type: "admin-create-event",
        sourceId: kid,
        eventType: "c8y_Logfile",
        text: "t",
        fragments: { x: 1 },
      }),
    );
    const id = created?.objectId ?? "";
    expect(created?.ok).toBe(true);
    expect(listEvents(s.state, "kid")).toMatchObject([
      { id, type: "c8y_Logfile", text: "t", fragments: { x: 1 }, mode: "persistent" },
    ]);
    const binary = { name: "a.log", type: "text/plain", length: 3 };
    expect(result(s.step({ type: "admin-set-event-binary", eventId: id, binary }))?.ok).toBe(true);
    expect(findEvent(s.state, id)?.fragments).toEqual({ x: 1, c8y_IsBinary: binary });
    s.step({ type: "admin-set-event-binary", eventId: id, binary: null });
    expect(findEvent(s.state, id)?.fragments).toEqual({ x: 1 });
    expect(result(s.step({ type: "admin-set-event-binary", eventId: "777777", binary }))?.ok).toBe(false);
    expect(
      result(s.step({ type: "admin-create-event", sourceId: "777777", eventType: "x", text: "" }))?.ok,
    ).toBe(false);
    const reserved = result(s.step({ type: "admin-reserve-id" }))?.objectId;
    expect(Number(reserved)).toBe(Number(id) + 1);
    expect(s.state.nextId).toBe(Number(reserved) + 1);
  });

  it("refuses inputs of the wrong shape without a change", () => {
    const { s } = world();
    const before = s.state;
    const out = s.step({ type: "admin-create-event", sourceId: 5, eventType: "x", text: "" } as never);
    expect(out.map((o) => o.type)).toEqual(["invalid-input"]);
    expect(s.state).toBe(before);
  });
});
