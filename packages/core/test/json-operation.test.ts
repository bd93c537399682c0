/**
 * Operations as JSON (`devicecontrol/notifications`, spec §2.7): golden payloads, the
 * encode → decode law for every operation template, and totality on arbitrary input.
 */
import { describe, expect, it } from "vitest";
import { test, fc } from "../../../test/support/property.js";
import {
  decodeOperationNotification,
  jsonEquivalent,
  operationNotification,
  type OperationNotification,
} from "../src/json/operation.js";
import type { Operation } from "../src/smartrest/downstream.js";
import { OPERATION_ARBITRARIES, anyOperation } from "./support/operations.js";

const decode = (json: unknown, root = "dev1"): OperationNotification =>
  decodeOperationNotification(JSON.stringify(json), root);

describe("golden notifications", () => {
  it("a command for the device itself", () => {
    expect(
      decode({
        id: "1234",
        deviceId: "9876",
        agentId: "9876",
        status: "PENDING",
        creationTime: "2026-11-29T10:00:00.000Z",
        description: "Execute shell command",
        delivery: { log: [], status: "PENDING", time: "2026-11-29T10:00:00.000Z" },
        c8y_Command: { text: "uptime" },
      }),
    ).toEqual({
      kind: "operation",
      operationId: "1234",
      status: "PENDING",
      deviceId: "dev1",
      fragment: "c8y_Command",
      operation: { template: "511", fragment: "c8y_Command", deviceId: "dev1", text: "uptime" },
      failure: null,
    });
  });

  it("a restart for a child named by externalSource, with a numeric id", () => {
    const n = decode({
      id: 42,
      status: "PENDING",
      externalSource: { externalId: "child-1", type: "c8y_Serial" },
      c8y_Restart: {},
    });
    expect(n).toMatchObject({
      kind: "operation",
      operationId: "42",
      deviceId: "child-1",
      operation: { template: "510", fragment: "c8y_Restart", deviceId: "child-1" },
    });
  });

  it("a typed software update and a firmware patch pick the typed templates", () => {
    expect(
      decode({
        id: "7",
        c8y_SoftwareUpdate: [
          { name: "nginx", version: "1.2", url: "", softwareType: "apt", action: "install" },
        ],
      }),
    ).toMatchObject({ operation: { template: "529", software: [{ name: "nginx", softwareType: "apt" }] } });
    expect(
      decode({ id: "8", c8y_Firmware: { name: "fw", version: "2", url: "http://x/fw", dependency: "1" } }),
    ).toMatchObject({ operation: { template: "525", isPatch: true, dependency: "1" } });
  });

  it("an unknown fragment names the id and the reason, so it can be failed by id", () => {
    expect(decode({ id: "9", status: "PENDING", c8y_Teleport: { to: "mars" } })).toEqual({
      kind: "operation",
      operationId: "9",
      status: "PENDING",
      deviceId: "dev1",
      fragment: "c8y_Teleport",
      operation: null,
      failure: "no handler is defined for fragment c8y_Teleport",
    });
  });

  it("a known fragment with bad fields is malformed but keeps its id", () => {
    const n = decode({ id: "10", c8y_Relay: { relayState: "HALF" } });
    expect(n).toMatchObject({ kind: "operation", operationId: "10", fragment: "c8y_Relay", operation: null });
    expect(n.kind === "operation" && n.failure).toMatch(/malformed c8y_Relay/);
  });

  it("metadata keys are never taken for the fragment", () => {
    expect(decode({ id: "11", status: "PENDING", delivery: {}, description: "x" })).toMatchObject({
      operation: null,
      failure: "the operation has no fragment",
    });
  });

  it.each([
    ["not JSON", "{"],
    ["no id", JSON.stringify({ c8y_Restart: {} })],
    ["an array", "[]"],
    ["an id that cannot be a topic field", JSON.stringify({ id: "1,2", c8y_Restart: {} })],
  ])("%s is malformed, with a reason", (_, payload) => {
    const n = decodeOperationNotification(payload, "dev1");
    expect(n.kind).toBe("malformed");
    expect(n.kind === "malformed" && n.reason.length).toBeGreaterThan(3);
  });
});

describe("laws", () => {
  const withId = (op: Operation, root: string) =>
    operationNotification(op, {
      id: "555",
      deviceInternalId: "1",
      status: "PENDING",
      creationTime: "2026-11-29T10:00:00.000Z",
      ...(op.deviceId === root ? {} : { childExternalId: op.deviceId }),
    });

  for (const [id, arbitrary] of Object.entries(OPERATION_ARBITRARIES)) {
    test.prop([arbitrary as fc.Arbitrary<Operation>, fc.boolean()])(
      `${id}: operationNotification → decode gives the same typed operation`,
      (op, isRoot) => {
        const root = isRoot ? op.deviceId : `${op.deviceId}-root`;
        const decoded = decodeOperationNotification(JSON.stringify(withId(op, root)), root);
        expect(decoded).toEqual({
          kind: "operation",
          operationId: "555",
          status: "PENDING",
          deviceId: op.deviceId,
          fragment: op.fragment,
          operation: jsonEquivalent(op),
          failure: null,
        });
      },
    );
  }

  test.prop([
    fc.oneof(
      fc.string(),
      fc.json(),
      anyOperation.map((o) => JSON.stringify({ id: "1", [o.fragment]: o })),
    ),
  ])("decoding is total: any payload gives a value", (payload) => {
    const n = decodeOperationNotification(payload, "dev1");
    expect(["operation", "malformed"]).toContain(n.kind);
  });
});
