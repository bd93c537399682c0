/**
 * `s/e` error lines (spec §2.6, §4.9). Every error is recorded in the state; it is delivered only
 * when the client subscribed `s/e`. The second field is the offending message id (the one
 * documented example, `40,999,No static template for this message id`), except for malformed
 * CSV where no message id exists and the 1-based row number is used (SmartREST 1.0 style).
 */
import { ERROR_LINE_CODEC, TOPIC_ERRORS } from "@c8ylink/core";
import { serializePlatformRow } from "./csv.js";
import type { Session } from "./model.js";
import { deliverRow, type Tx } from "./tx.js";

/** Codes the model produces. */
export const ErrorCode = {
  /** Unknown static template / custom message id. */
  unknownTemplate: 40,
  /** Template collection problems; state mismatches (no such operation). */
  templateError: 41,
  /** Payload is not well-formed CSV. */
  malformed: 42,
  /** Row does not fit its template (arity, types, mandatory values). */
  invalidArguments: 45,
} as const;

export const NO_STATIC_TEMPLATE = "No static template for this message id";
export const NO_CUSTOM_TEMPLATE = "No template for this message id";
export const WRONG_ARGUMENT_COUNT = "Wrong number of arguments";

/** A refusal decided by a row handler, before it is reported. */
export interface RowError {
  readonly code: number;
  readonly reference: string;
  readonly text: string;
}

export const rowError = (code: number, reference: string, text: string): RowError => ({
  code,
  reference,
  text,
});

export const reportError = (tx: Tx, session: Session, topic: string, error: RowError): void => {
  const row = ERROR_LINE_CODEC.encode({ code: error.code, reference: error.reference, text: error.text });
  const delivered = deliverRow(tx, session, TOPIC_ERRORS, row);
  const record = {
    atMs: tx.now,
    clientKey: session.clientKey,
    deviceId: session.deviceId,
    topic,
    channel: "s/e" as const,
    code: error.code,
    line: serializePlatformRow(row),
    delivered,
  };
  tx.s = { ...tx.s, errors: tx.s.errors.push(record) };
};
