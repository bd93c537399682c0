/**
 * Operation candidates (engine/lifecycle/candidates.ts): what an `s/ds` line, an `s/dc/<xid>`
 * line or a JSON notification asks for, as exact values: the candidate's fields, the failure
 * texts (unsupported fragment, malformed line, missing or invalid operation id), the reports
 * of lines that are no operation, and the 531 → 527 twin row.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeConfig, type EngineConfig } from "../src/index.js";
import {
  customCandidate,
  idlessTwinRow,
  notificationCandidate,
  staticCandidate,
} from "../src/engine/lifecycle/candidates.js";
import { decodeDownstreamRow } from "../src/smartrest/downstream.js";
import type { Row } from "../src/smartrest/types.js";

const configOf = (extra: Record<string, unknown> = {}): EngineConfig => {
  const decoded = decodeConfig({
    deviceId: "dev1",
    auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
    supportedOperations: ["c8y_Restart", "c8y_Command"],
    customTemplates: ["ops"],
    customOperations: [
      { xid: "ops", messageId: "dm1", fragment: "set_wifi", operationIdField: 1 },
      { xid: "ops", messageId: "dm2", fragment: "c8y_Command" },
    ],
    ...extra,
  });
  if (E.isLeft(decoded)) throw new Error("bad config");
  return decoded.right;
};
const config = configOf();
const anything = configOf({ supportedOperations: [], customOperations: [] });

describe("staticCandidate", () => {
  it("a supported operation: the decoded operation, no failure, no xid or id", () => {
    const row: Row = ["511", "dev1", "uptime"];
    const decoded = decodeDownstreamRow(row);
    expect(staticCandidate(config, row)).toEqual({
      candidate: {
        deviceId: "dev1",
        fragment: "c8y_Command",
        operation: decoded.kind === "operation" ? decoded.operation : "not an operation",
        failure: null,
        xid: null,
        operationId: null,
      },
    });
  });

  it("an operation of a fragment not declared: failed with the reason", () => {
    const row: Row = ["513", "dev1", "http://example.com/cfg"];
    expect(staticCandidate(config, row)).toMatchObject({
      candidate: {
        deviceId: "dev1",
        failure: "operation c8y_Configuration is not supported by this device",
      },
    });
  });

  it("with no supportedOperations declared, any fragment is taken", () => {
    expect(staticCandidate(anything, ["513", "dev1", "http://example.com/cfg"])).toMatchObject({
      candidate: { fragment: "c8y_Configuration", failure: null },
    });
  });

  it("a malformed operation line with a device id: failed on its template's fragment, with the decoder's reason", () => {
    const row: Row = ["510", "dev1", "x"];
    const decoded = decodeDownstreamRow(row);
    expect(decoded.kind).toBe("malformed");
    const reason = decoded.kind === "malformed" ? decoded.reason : "";
    expect(reason).not.toBe("");
    expect(staticCandidate(config, row)).toEqual({
      candidate: {
        deviceId: "dev1",
        fragment: "c8y_Restart",
        operation: null,
        failure: `malformed 510 line: ${reason}`,
        xid: null,
        operationId: null,
      },
    });
  });

  it("a malformed operation line without a device id: ignored with the reason and the line", () => {
    const row: Row = ["510"];
    const decoded = decodeDownstreamRow(row);
    const reason = decoded.kind === "malformed" ? decoded.reason : "not malformed";
    expect(staticCandidate(config, row)).toEqual({ report: { kind: "operation-ignored", reason, raw: row } });
  });

  it("a malformed answer line (no operation template): ignored, not failed", () => {
    const row: Row = ["124"];
    const decoded = decodeDownstreamRow(row);
    expect(decoded.kind).toBe("malformed");
    const reason = decoded.kind === "malformed" ? decoded.reason : "";
    expect(staticCandidate(config, row)).toEqual({ report: { kind: "operation-ignored", reason, raw: row } });
  });

  it("an unknown template: ignored, naming it", () => {
    const row: Row = ["999", "dev1"];
    expect(staticCandidate(config, row)).toEqual({
      report: { kind: "operation-ignored", reason: "unknown template 999", raw: row },
    });
  });

  it("an answer line: reported as a downstream message", () => {
    const row: Row = ["124", "12345"];
    expect(staticCandidate(config, row)).toEqual({
      report: { kind: "downstream", message: { kind: "managed-object-id", id: "12345" } },
    });
  });
});

describe("customCandidate", () => {
  it("a line no mapping names: a plain downstream report with a copy of the row", () => {
    const row: Row = ["dm9", "dev1", "a"];
    const other = customCandidate(config, "ops", row);
    expect(other).toEqual({ report: { kind: "downstream", message: { kind: "custom", xid: "ops", row } } });
    const report = "report" in other ? other.report : undefined;
    expect(report?.kind === "downstream" && report.message.kind === "custom" && report.message.row).not.toBe(
      row,
    );
    // The message id of another template's mapping does not count.
    expect(customCandidate(config, "other", ["dm1", "dev1", "x", "77"])).toMatchObject({
      report: { kind: "downstream", message: { kind: "custom", xid: "other" } },
    });
  });

  it("a mapped line with an operation id: the custom operation, carrying the id", () => {
    expect(customCandidate(config, "ops", ["dm1", "dev1", "ssid", "op-7_X"])).toEqual({
      candidate: {
        deviceId: "dev1",
        fragment: "set_wifi",
        operation: {
          template: "custom",
          xid: "ops",
          messageId: "dm1",
          fragment: "set_wifi",
          deviceId: "dev1",
          values: ["ssid", "op-7_X"],
          operationId: "op-7_X",
        },
        failure: "operation set_wifi is not supported by this device",
        xid: "ops",
        operationId: "op-7_X",
      },
    });
  });

  it("a mapping without an id field: no id, no failure for a supported fragment", () => {
    expect(customCandidate(config, "ops", ["dm2", "dev1", "ls"])).toEqual({
      candidate: {
        deviceId: "dev1",
        fragment: "c8y_Command",
        operation: {
          template: "custom",
          xid: "ops",
          messageId: "dm2",
          fragment: "c8y_Command",
          deviceId: "dev1",
          values: ["ls"],
        },
        failure: null,
        xid: "ops",
        operationId: null,
      },
    });
  });

  it.each([
    ["missing", ["dm1", "dev1", "ssid"]],
    ["empty", ["dm1", "dev1", "ssid", ""]],
    ["with a dot", ["dm1", "dev1", "ssid", "1.2"]],
    ["with a space", ["dm1", "dev1", "ssid", "a b"]],
    ["with a prefix outside the set", ["dm1", "dev1", "ssid", ".12"]],
    ["with a suffix outside the set", ["dm1", "dev1", "ssid", "12."]],
  ] as const)("an operation id %s: failed naming the value, no id", (_, row) => {
    const got = customCandidate(config, "ops", [...row]);
    expect(got).toMatchObject({
      candidate: { failure: "custom operation dm1: no operation id in value 1", operationId: null },
    });
    expect("candidate" in got && got.candidate.operation).not.toHaveProperty("operationId");
  });

  it.each(["0", "9", "a", "z", "A", "Z", "_", "-", "aZ09_-"])("operation id %s is valid", (id) => {
    expect(customCandidate(config, "ops", ["dm1", "dev1", "ssid", id])).toMatchObject({
      candidate: { operationId: id, operation: { operationId: id } },
    });
  });

  it("without a device id: ignored, naming the message id", () => {
    for (const row of [["dm2", ""], ["dm2"]] as Row[]) {
      expect(customCandidate(config, "ops", row)).toEqual({
        report: { kind: "operation-ignored", reason: "custom operation dm2 without a device id", raw: row },
      });
    }
  });

  it("an unsupported fragment is failed only when the id is fine", () => {
    const cfg = configOf({ supportedOperations: ["c8y_Restart"] });
    expect(customCandidate(cfg, "ops", ["dm2", "dev1"])).toMatchObject({
      candidate: { failure: "operation c8y_Command is not supported by this device" },
    });
    expect(customCandidate(configOf({ supportedOperations: [] }), "ops", ["dm2", "dev1"])).toMatchObject({
      candidate: { failure: null },
    });
  });
});

describe("notificationCandidate", () => {
  const notification = (extra: Record<string, unknown>) =>
    JSON.stringify({
      id: "42",
      deviceId: "900",
      status: "PENDING",
      creationTime: "2026-11-29T10:00:00Z",
      ...extra,
    });

  it("an executable operation: by id, with the equivalent static row and the platform's status", () => {
    const got = notificationCandidate(config, notification({ c8y_Command: { text: "uptime" } }));
    expect(got).toEqual({
      candidate: {
        deviceId: "dev1",
        fragment: "c8y_Command",
        operation: { template: "511", fragment: "c8y_Command", deviceId: "dev1", text: "uptime" },
        failure: null,
        xid: null,
        operationId: "42",
      },
      staticRow: ["511", "dev1", "uptime"],
      status: "PENDING",
    });
  });

  it("an undeclared fragment is failed, an undeclared list takes it", () => {
    const payload = notification({ c8y_DownloadConfigFile: { url: "http://x/c" } });
    expect(notificationCandidate(config, payload)).toMatchObject({
      candidate: {
        failure: "operation c8y_DownloadConfigFile is not supported by this device",
        operationId: "42",
      },
    });
    expect(notificationCandidate(anything, payload)).toMatchObject({ candidate: { failure: null } });
  });

  it("one that cannot be executed: failed with the decoder's reason, an empty static row", () => {
    const got = notificationCandidate(anything, notification({}));
    expect(got).toMatchObject({ candidate: { operation: null, operationId: "42" }, staticRow: [] });
    expect(
      "candidate" in got && typeof got.candidate.failure === "string" && got.candidate.failure !== "",
    ).toBe(true);
  });

  it("not JSON: invalid input from devicecontrol/notifications", () => {
    expect(notificationCandidate(config, "{")).toEqual({
      report: {
        kind: "invalid-input",
        source: "devicecontrol/notifications",
        reason: expect.stringMatching(/^not JSON/),
      },
    });
  });
});

describe("idlessTwinRow", () => {
  it("is the 527 of a 531 (software without types); undefined for any other line", () => {
    const row531: Row = [
      "531",
      "dev1",
      "$FW",
      "fw",
      "1.0",
      "http://fw",
      "false",
      "",
      "$SW",
      "curl",
      "2.3.4",
      "rpm",
      "http://curl",
      "install",
      "agent",
      "1.2.3",
      "",
      "http://agent",
      "delete",
      "$CONF",
      "http://conf",
      "ssh",
      "http://c",
      "conf",
    ];
    const decoded = decodeDownstreamRow(row531);
    const op = decoded.kind === "operation" ? decoded.operation : null;
    expect(op?.template).toBe("531");
    expect(idlessTwinRow(op)).toEqual([
      "527",
      "dev1",
      "$FW",
      "fw",
      "1.0",
      "http://fw",
      "false",
      "",
      "$SW",
      "curl",
      "2.3.4",
      "http://curl",
      "install",
      "agent",
      "1.2.3",
      "http://agent",
      "delete",
      "$CONF",
      "http://conf",
      "ssh",
      "http://c",
      "conf",
    ]);
    expect(idlessTwinRow(null)).toBeUndefined();
    const restart = decodeDownstreamRow(["510", "dev1"]);
    expect(idlessTwinRow(restart.kind === "operation" ? restart.operation : null)).toBeUndefined();
  });
});
