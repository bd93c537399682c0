/**
 * Operation candidates: what a downstream line (`s/ds` or `s/dc/<xid>`) or a JSON notification
 * (`devicecontrol/notifications`) asks for, before the journal takes it over. Pure functions of the configuration and the row; no `Tx`.
 */
import type { EngineConfig } from "../config.js";
import type { Report } from "../reports.js";
import type { AnyOperation, CustomOperation } from "../journal.js";
import { DOWNSTREAM_SPECS, decodeDownstreamRow, encodeOperation } from "../../smartrest/downstream.js";
import {
  decodeOperationNotification,
  TOPIC_OPERATION_NOTIFICATIONS,
  type OperationStatus,
} from "../../json/operation.js";
import type { Row } from "../../smartrest/types.js";

/** Fragment of each operation template, for failing malformed lines on the right fragment. */
const FRAGMENT_OF_TEMPLATE: ReadonlyMap<string, string> = new Map(
  DOWNSTREAM_SPECS.filter((s) => s.id.startsWith("5")).map((s) => [s.id, s.name]),
);

/** What a downstream line asks for, before the journal takes it over. */
export interface OperationCandidate {
  readonly deviceId: string;
  readonly fragment: string;
  readonly operation: AnyOperation | null;
  readonly failure: string | null;
  readonly xid: string | null;
  readonly operationId: string | null;
}

/** An `s/ds` line as an operation candidate, or undefined (reported) when it is none. */
export const staticCandidate = (
  config: EngineConfig,
  row: Row,
): { candidate: OperationCandidate } | { report: Report } => {
  const decoded = decodeDownstreamRow(row);
  switch (decoded.kind) {
    case "operation": {
      const { deviceId, fragment } = decoded.operation;
      const failure =
        config.supportedOperations.length > 0 && !config.supportedOperations.includes(fragment)
          ? `operation ${fragment} is not supported by this device`
          : null;
      return {
        candidate: {
          deviceId,
          fragment,
          operation: decoded.operation,
          failure,
          xid: null,
          operationId: null,
        },
      };
    }
    case "malformed": {
      const fragment = FRAGMENT_OF_TEMPLATE.get(decoded.templateId);
      if (fragment === undefined || decoded.deviceId === undefined) {
        return { report: { kind: "operation-ignored", reason: decoded.reason, raw: row } };
      }
      const failure = `malformed ${decoded.templateId} line: ${decoded.reason}`;
      return {
        candidate: {
          deviceId: decoded.deviceId,
          fragment,
          operation: null,
          failure,
          xid: null,
          operationId: null,
        },
      };
    }
    case "unsupported":
      return {
        report: { kind: "operation-ignored", reason: `unknown template ${decoded.templateId}`, raw: row },
      };
    default:
      return { report: { kind: "downstream", message: { ...decoded } } };
  }
};

/** An `s/dc/<xid>` line: an operation when configured in `customOperations`, else a plain report. */
export const customCandidate = (
  config: EngineConfig,
  xid: string,
  row: Row,
): { candidate: OperationCandidate } | { report: Report } => {
  const mapping = config.customOperations.find((m) => m.xid === xid && m.messageId === row[0]);
  if (mapping === undefined)
    return { report: { kind: "downstream", message: { kind: "custom", xid, row: [...row] } } };
  const [messageId = "", deviceId = "", ...values] = row;
  if (deviceId === "") {
    return {
      report: {
        kind: "operation-ignored",
        reason: `custom operation ${messageId} without a device id`,
        raw: row,
      },
    };
  }
  const idValue = mapping.operationIdField === undefined ? undefined : values[mapping.operationIdField];
  const operationId = idValue !== undefined && /^[0-9A-Za-z_-]+$/.test(idValue) ? idValue : null;
  const failure =
    mapping.operationIdField !== undefined && operationId === null
      ? `custom operation ${messageId}: no operation id in value ${mapping.operationIdField}`
      : config.supportedOperations.length > 0 && !config.supportedOperations.includes(mapping.fragment)
        ? `operation ${mapping.fragment} is not supported by this device`
        : null;
  const operation: CustomOperation = {
    template: "custom",
    xid,
    messageId,
    fragment: mapping.fragment,
    deviceId,
    values,
    ...(operationId === null ? {} : { operationId }),
  };
  return { candidate: { deviceId, fragment: mapping.fragment, operation, failure, xid, operationId } };
};

/**
 * A `devicecontrol/notifications` payload as an operation candidate (by id), with the static
 * row it is equivalent to and the platform's status of it; or a report when it names no id.
 */
export const notificationCandidate = (
  config: EngineConfig,
  payload: string,
):
  | {
      candidate: OperationCandidate & { readonly operationId: string };
      staticRow: Row;
      status: OperationStatus;
    }
  | { report: Report } => {
  const n = decodeOperationNotification(payload, config.deviceId);
  if (n.kind === "malformed") {
    return { report: { kind: "invalid-input", source: TOPIC_OPERATION_NOTIFICATIONS, reason: n.reason } };
  }
  const unsupported =
    n.fragment !== "" &&
    config.supportedOperations.length > 0 &&
    !config.supportedOperations.includes(n.fragment)
      ? `operation ${n.fragment} is not supported by this device`
      : null;
  return {
    candidate: {
      deviceId: n.deviceId,
      fragment: n.fragment,
      operation: n.operation,
      failure: n.failure ?? unsupported,
      xid: null,
      operationId: n.operationId,
    },
    staticRow: n.operation === null ? [] : encodeOperation(n.operation),
    status: n.status,
  };
};

/**
 * The line an id-less line is the twin of, when the platform sends one operation as two lines:
 * a `c8y_DeviceProfile` with typed software arrives as `527` and then `531` (spec §4.8: 531 is
 * sent in addition to 527), so a 531 names the operation of the 527 it reduces to (the same
 * profile without the software types). Undefined for every other line.
 */
export const idlessTwinRow = (operation: AnyOperation | null): Row | undefined => {
  if (operation === null || operation.template !== "531") return undefined;
  return encodeOperation({
    ...operation,
    template: "527",
    software: operation.software.map(({ name, version, url, action }) => ({ name, version, url, action })),
  });
};
