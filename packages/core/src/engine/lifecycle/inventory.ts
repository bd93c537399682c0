/**
 * The device's inventory rows (114, 117, 110, 122, 118, 119, 143, 150): which the
 * configuration declares, which changed since the platform last acknowledged them (sent after
 * the gate, before 500), and recording the acknowledgement durably.
 */
import * as E from "fp-ts/lib/Either.js";
import type { EngineConfig } from "../config.js";
import { admit, emptyOutbox, type Outbox, type OutboxEntry } from "../outbox.js";
import { DURABLE } from "../durable.js";
import { serializeRow } from "../../smartrest/csv.js";
import { utf8ByteLength } from "../../smartrest/text.js";
import { staticUp } from "../../smartrest/topics.js";
import { encodeUpstream, type UpstreamMessage } from "../../smartrest/upstream.js";
import type { Row } from "../../smartrest/types.js";
import type { Tx } from "./tx.js";

/** Inventory rows declared by the configuration, keyed for change detection. */
export const inventoryRows = (config: EngineConfig): Row[] => {
  const inv = config.inventory;
  const messages: UpstreamMessage[] = [];
  if (config.supportedOperations.length > 0) {
    messages.push({ template: "114", operations: config.supportedOperations });
  }
  if (inv.requiredIntervalMinutes !== undefined) {
    messages.push({ template: "117", interval: inv.requiredIntervalMinutes });
  }
  if (inv.hardware !== undefined) messages.push({ template: "110", ...inv.hardware });
  if (inv.agent !== undefined) messages.push({ template: "122", ...inv.agent });
  if (inv.supportedLogs !== undefined) messages.push({ template: "118", logTypes: inv.supportedLogs });
  if (inv.supportedConfigurations !== undefined) {
    messages.push({ template: "119", configTypes: inv.supportedConfigurations });
  }
  if (inv.supportedSoftwareTypes !== undefined)
    messages.push({ template: "143", softwareTypes: inv.supportedSoftwareTypes });
  if (inv.remoteAccessProtocols !== undefined) {
    messages.push({ template: "150", protocols: inv.remoteAccessProtocols });
  }
  const rows: Row[] = [];
  for (const m of messages) {
    const row = encodeUpstream(m);
    if (E.isRight(row)) rows.push(row.right);
  }
  return rows;
};

const inventoryKey = (topic: string, row: Row): string => `${topic} ${row[0] ?? ""}`;

/** Changed inventory, then 500 (after every subscription), then the token request. */
export const afterGateRowsFor = (tx: Tx): Outbox => {
  let rows = emptyOutbox();
  const add = (topic: string, row: Row) => {
    const admitted = admit(rows, sessionEntry(tx, topic, row), {
      maxMessages: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    if (admitted.ok) rows = admitted.outbox;
  };
  const topic = staticUp("persistent");
  for (const row of inventoryRows(tx.config)) {
    if (tx.s.inventoryAcked[inventoryKey(topic, row)] !== serializeRow(row)) add(topic, row);
  }
  add(topic, ["500"]);
  return rows;
};

export const sessionEntry = (tx: Tx, topic: string, row: Row): OutboxEntry => {
  const line = serializeRow(row);
  return {
    ref: tx.ref(),
    cls: "inventory",
    topic,
    line,
    bytes: utf8ByteLength(line),
    template: row[0] ?? "",
  };
};

export const recordInventoryAck = (tx: Tx, entries: readonly OutboxEntry[]): void => {
  const inventoryIds = new Set(inventoryRows(tx.config).map((r) => r[0]));
  let acked = tx.s.inventoryAcked;
  for (const e of entries) {
    if (inventoryIds.has(e.template)) acked = { ...acked, [`${e.topic} ${e.template}`]: e.line };
  }
  if (acked !== tx.s.inventoryAcked) {
    tx.set({ inventoryAcked: acked });
    tx.persist(DURABLE.inventory, acked);
  }
};
