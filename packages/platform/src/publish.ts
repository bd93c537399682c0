/**
 * PUBLISH from a client: the size law, topic permissions, CSV parsing and dispatch of every row
 * to the module that owns its template (spec §1.7, §2, §4, §5, §6).
 *
 * Decisions:
 * - A publish larger than 16184 bytes (whole PUBLISH packet, measured by the platform's own
 *   `incomingPublishBytes`, not the device core's size code) or to a topic the session may not
 *   publish on (unknown topics, downstream topics, `s/ucr` from a device session, anything but
 *   `s/ucr` from a bootstrap session) closes the connection; nothing of it is processed.
 * - A payload that is not well-formed CSV is refused as a whole with one
 *   `42,<row>,Malformed request: …`; otherwise rows are processed one by one in order, each bad
 *   row getting its own `s/e` line while the others still take effect.
 * - Availability (`c8y_Availability.lastMessage`) is stamped by data rows (2xx–4xx) and 125.
 * - `s/ud[/<child>]` (and `t/`, `q/`, `c/`) is `s/uc/<default X-ID>[/<child>]` of the ClientId
 *   `d:<id>:<X-ID>`; its answers go to `s/dd` (spec §1.3, §6.1). Without a default X-ID in the
 *   ClientId the topic is unknown: the connection is closed like for any unknown topic.
 * - Rate limit (option `rateLimit`, spec §1.11): the publish beyond `perSecond + queue` within
 *   one second of model time closes the connection; nothing of it is processed.
 * - JSON via MQTT topics (`measurement/measurements/create`, …, jsonapi.ts) are device-session
 *   topics like `s/us`: same size law, a bootstrap session publishing one is closed; their
 *   problems are answered on `error`, never by closing the connection.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  DOWNSTREAM_SPECS,
  DOWNSTREAM_CODECS,
  parseRows,
  parseUpTopic,
  serializeRow,
  TOPIC_STATIC_DOWN,
  UPSTREAM_TEMPLATE_IDS,
  utf8ByteLength,
  type Row,
  type UpstreamMessage,
} from "@c8ylink/core";
import { handleCustomPublish, handleTemplatePublish } from "./custom.js";
import { incomingPublishBytes, PLATFORM_MAX_MESSAGE_BYTES } from "./packet-size.js";
import { applyData } from "./data.js";
import { ErrorCode, reportError, rowError } from "./errors.js";
import { applyInventory, ensureRoot, resolveTarget, type RowContext } from "./inventory.js";
import { heartbeat } from "./availability.js";
import { handleJsonPublish, parseJsonTopic } from "./jsonapi.js";
import type { ClientPublish, ProcessingMode, Session } from "./model.js";
import { applyOperationStatus } from "./operations.js";
import { pollCredentials, requestToken } from "./registration.js";
import { readStaticRow } from "./rows.js";
import { notConnected, TOPIC_DEFAULT_DOWN } from "./sessions.js";
import { deliverRow, dropSession, emit, putSession, sessionOf, type Tx } from "./tx.js";

/** Every template id the model understands or sends (the `603` answer). */
const TEMPLATE_IDS: readonly string[] = [
  ...new Set([...UPSTREAM_TEMPLATE_IDS, ...DOWNSTREAM_SPECS.map((s) => s.id)]),
].sort((a, b) => Number(a) - Number(b));

/** 600 / 602. Returns false for any other template. */
const applyCapabilities = (tx: Tx, ctx: RowContext, message: UpstreamMessage): boolean => {
  if (message.template === "600") {
    const row = DOWNSTREAM_CODECS["601"].encode({
      kind: "platform-version",
      version: tx.s.config.platformVersion,
    });
    deliverRow(tx, ctx.session, TOPIC_STATIC_DOWN, row);
    return true;
  }
  if (message.template === "602") {
    deliverRow(
      tx,
      ctx.session,
      TOPIC_STATIC_DOWN,
      DOWNSTREAM_CODECS["603"].encode({ kind: "template-ids", ids: TEMPLATE_IDS }),
    );
    return true;
  }
  return false;
};

/** Each claims its own template range and returns whether it handled the message. */
const APPLIERS = [applyInventory, applyData, applyOperationStatus, applyCapabilities];

const countsAsHeartbeat = (template: string): boolean => template === "125" || /^[234]/.test(template);

const handleStaticRows = (
  tx: Tx,
  session: Session,
  topic: string,
  child: string | undefined,
  mode: ProcessingMode,
  rows: readonly Row[],
): void => {
  for (const row of rows) {
    const decoded = readStaticRow(row);
    if (E.isLeft(decoded)) {
      reportError(tx, session, topic, decoded.left);
      continue;
    }
    const message = decoded.right;
    const root =
      message.template === "100"
        ? ensureRoot(tx, session, message.name, message.type)
        : ensureRoot(tx, session);
    const target = resolveTarget(tx, session, child, root);
    if (E.isLeft(target)) {
      reportError(tx, session, topic, rowError(ErrorCode.templateError, message.template, target.left));
      continue;
    }
    const ctx: RowContext = { session, topic, target: target.right, line: serializeRow(row), mode };
    APPLIERS.some((apply) => apply(tx, ctx, message));
    if (countsAsHeartbeat(message.template)) heartbeat(tx, target.right);
  }
};

/** `<mode>/ud[/<child>]` → the same topic on the default collection, `<mode>/uc/<X-ID>[/<child>]`. */
const DEFAULT_TOPIC = /^([stqc])\/ud(\/.*)?$/;

/**
 * Counts the publish in the session's rate window (spec §1.11). Returns the reason to close the
 * connection once more than `perSecond + queue` publishes arrive within one second.
 */
const overRateLimit = (tx: Tx, session: Session): string | undefined => {
  const limit = tx.s.config.rateLimit;
  if (limit === null) return undefined;
  const second = Math.floor(tx.now / 1000);
  const count = session.rateWindow?.second === second ? session.rateWindow.count + 1 : 1;
  putSession(tx, { ...session, rateWindow: { second, count } });
  return count > limit.perSecond + limit.queue
    ? `rate limit exceeded: ${count} messages in one second (limit ${limit.perSecond}, queue ${limit.queue})`
    : undefined;
};

export const publish = (tx: Tx, input: ClientPublish): void => {
  const { clientKey, payload } = input;
  const found = sessionOf(tx.s, clientKey);
  if (found === undefined) return notConnected(tx, clientKey);
  const close = (reason: string) => dropSession(tx, clientKey, reason, { notify: true, event: "dropped" });
  const overLimit = overRateLimit(tx, found);
  if (overLimit !== undefined) return close(overLimit);
  const session = sessionOf(tx.s, clientKey) ?? found;
  const defaultTopic = DEFAULT_TOPIC.exec(input.topic);
  if (defaultTopic !== null && session.defaultXid === undefined)
    return close(`${input.topic} needs a default template in the ClientId (d:<id>:<X-ID>)`);
  const topic =
    defaultTopic === null
      ? input.topic
      : `${defaultTopic[1] ?? "s"}/uc/${session.defaultXid ?? ""}${defaultTopic[2] ?? ""}`;
  const downTopic = defaultTopic === null ? undefined : TOPIC_DEFAULT_DOWN;

  const qos = input.qos === 0 || input.qos === 1 || input.qos === 2 ? input.qos : undefined;
  if (qos === undefined) return close(`invalid QoS ${input.qos}`);
  const bytes = incomingPublishBytes(
    utf8ByteLength(topic),
    input.payloadBytes ?? utf8ByteLength(payload),
    qos,
  );
  if (!(bytes <= PLATFORM_MAX_MESSAGE_BYTES))
    return close(`message of ${bytes} bytes exceeds ${PLATFORM_MAX_MESSAGE_BYTES}`);
  const jsonTopic = parseJsonTopic(topic);
  if (jsonTopic !== undefined) {
    if (session.kind === "bootstrap") return close(`bootstrap sessions may not publish on ${topic}`);
    emit(tx, { type: "publish-accepted", clientKey });
    return handleJsonPublish(tx, session, input, jsonTopic);
  }
  const parsedTopic = parseUpTopic(topic);
  if (E.isLeft(parsedTopic)) return close(`forbidden topic: ${parsedTopic.left.reason}`);
  const up = parsedTopic.right;
  if ((session.kind === "bootstrap") !== (up.type === "credentials"))
    return close(`${session.kind} sessions may not publish on ${topic}`);
  emit(tx, { type: "publish-accepted", clientKey });

  if (up.type === "credentials") return pollCredentials(tx, session);
  if (up.type === "token") return requestToken(tx, session);
  const rows = parseRows(payload);
  if (E.isLeft(rows)) {
    const error = rows.left;
    const row = error.kind === "csv-invalid-utf8" ? "" : String(error.row);
    return reportError(
      tx,
      session,
      topic,
      rowError(ErrorCode.malformed, row, `Malformed request: ${error.message}`),
    );
  }
  switch (up.type) {
    case "template":
      return handleTemplatePublish(tx, session, topic, up.xid, rows.right);
    case "static":
      return handleStaticRows(tx, session, topic, up.child, up.mode, rows.right);
    case "custom":
      return handleCustomPublish(tx, session, input.topic, up.xid, up.child, up.mode, rows.right, downTopic);
  }
};
