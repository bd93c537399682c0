/**
 * Invariants judged on the spot, as the trace unfolds (the world stops at the first violation).
 *
 * Owns: the size law and the SUBACK gate per publish (`checkPublish`), at-most-once hand-out of
 * operations (`checkHandOut`), and the findings that classify violations as known issues
 * (status rows processed twice, finished twins, arrival order of operation lines, granted
 * subscriptions). Kept apart so the publish laws can later come from one shared checker.
 */
import {
  MAX_PUBLISH_BYTES,
  publishPacketBytes,
  utf8ByteLength,
  type AnyOperation,
  type Command,
} from "@c8ylink/core";
import type { Conn, CreatedOperation, Device, Findings, SentRow, WorldContext } from "./context.js";

export const newFindings = (): Findings => ({
  replays: [],
  handedOut: new Map(),
  doubles: [],
  finishedTwins: new Map(),
  arrivals: new Map(),
});

/** External id a status topic addresses: `s/us` → the device, `s/us/<child>` → the child. */
export const targetOf = (topic: string, device: string): string => {
  const level = topic.split("/")[2];
  return level === undefined || level === "" ? device : level;
};

/** Size law and SUBACK gate for one publish command. */
export const checkPublish = (
  w: WorldContext,
  dev: Device,
  conn: Conn | undefined,
  c: Extract<Command, { type: "publish" }>,
): void => {
  const bytes = publishPacketBytes(c.topic, utf8ByteLength(c.payload), c.qos);
  if (bytes > MAX_PUBLISH_BYTES) {
    w.violate(
      "size-law",
      `${dev.id} published ${bytes} bytes on ${c.topic} (limit ${MAX_PUBLISH_BYTES}): ${c.payload.slice(0, 80)}…`,
    );
    return;
  }
  if (!/^[stqc]\/u[sc](\/|$)/.test(c.topic)) return;
  const registrationOnly = c.payload.split("\n").every((l) => l.startsWith("100,") || l.startsWith("101,"));
  if (registrationOnly) return;
  const open =
    conn !== undefined && conn.requested.size > 0 && [...conn.requested].every((t) => conn.granted.has(t));
  if (!open) {
    const missing =
      conn === undefined ? ["(no connection)"] : [...conn.requested].filter((t) => !conn.granted.has(t));
    w.violate(
      "suback-gate",
      `${dev.id} connection ${c.connectionId} published a data row on ${c.topic} before every subscription was granted ` +
        `(not yet granted: ${missing.join(", ") || "nothing requested"}): ${c.payload.slice(0, 80)}`,
    );
  }
};

/** At-most-once execution: an operation with a unique text must reach the application once. */
export const checkHandOut = (w: WorldContext, dev: Device, key: string, op: AnyOperation): void => {
  const f = w.findings;
  const text = op.template === "511" ? op.text : op.template === "513" ? op.config : undefined;
  if (text === undefined) return;
  const before = f.handedOut.get(text);
  f.handedOut.set(text, `${dev.id}.${dev.life} ${key}`);
  if (before === undefined) return;
  const raw = (dev.state.journal.entries[key]?.raw ?? []).join(",");
  const twin = f.finishedTwins.get(`${dev.id} ${raw}`);
  const overtaken = outOfOrder(w, op.deviceId, op.fragment);
  const replayed = f.replays.some(
    (r) => targetOf(r.topic, r.dev) === op.deviceId && r.line.split(",")[1] === op.fragment,
  );
  const known =
    twin ??
    (overtaken !== undefined
      ? `push-before-500: ${overtaken}; the shifted 501/503 left it PENDING, so 500 brought it back`
      : replayed
        ? "status-replay: a replayed status of this fragment shifted the platform's view, so 500 brought it back"
        : undefined);
  f.doubles.push({ target: op.deviceId, fragment: op.fragment });
  w.violate(
    "executed-twice",
    `${dev.id} handed operation "${text}" (${op.fragment} for ${op.deviceId}) to the application again as ${key} ` +
      `(first as ${before}); journal now: ${Object.values(dev.state.journal.entries)
        .map((e) => `${e.key} ${e.raw.join(",")} ${e.stage}${e.executingAcked ? " executing-acked" : ""}`)
        .join("; ")}`,
    known,
  );
};

/**
 * Remembers operation lines that arrive while an identical journal entry exists that the
 * engine's redelivery rule does not treat as the same operation (for classifying
 * executed-twice; see README "Known issues").
 */
export const noteFinishedTwins = (w: WorldContext, dev: Device, payload: string): void => {
  const f = w.findings;
  for (const line of payload.split("\n")) {
    if (!f.arrivals.has(line)) f.arrivals.set(line, f.arrivals.size);
    const twin = Object.values(dev.state.journal.entries).find(
      (e) => e.raw.join(",") === line && (e.stage === "finished" || e.executingAcked),
    );
    if (twin === undefined) continue;
    const kind = !twin.executingAcked
      ? `finished-twin: the line arrived again while journal entry ${twin.key} of ${dev.id}.${dev.life} was finished with its 501 unacknowledged, and was journaled as a new operation`
      : `stale-500-answer: the line arrived after the PUBACK of the 501 of journal entry ${twin.key} (${twin.stage}) of ${dev.id}.${dev.life}: the platform re-pushed it for a 500 processed before that 501, and it was journaled as a new operation`;
    f.finishedTwins.set(`${dev.id} ${line}`, kind);
  }
};

/** The SUBACK gate as the engine sees it: topics granted on the connection. */
export const noteGranted = (
  dev: Device,
  connectionId: number,
  ref: number,
  granted: readonly number[],
): void => {
  const conn = dev.conns.get(connectionId);
  const topics = conn?.subscribeRefs.get(ref);
  if (conn === undefined || topics === undefined) return;
  topics.forEach((t, i) => {
    if ((granted[i] ?? 0x80) < 0x80) conn.granted.add(t);
  });
};

/** Operation status rows (50x) reaching the platform a second time are recorded as replays. */
export const noteStatusRows = (w: WorldContext, conn: Conn, rows: readonly SentRow[] | undefined): void => {
  for (const row of rows ?? []) {
    if (!/^50[0-7](,|$)/.test(row.line)) continue;
    const dev = conn.dev;
    if (dev.processedStatus.has(row.id)) {
      w.findings.replays.push({ atMs: w.now, dev: dev.id, topic: row.topic, line: row.line, id: row.id });
      w.stats["statusReplays"]!++;
      w.trace(`REPLAY the platform processes status row ${row.id} "${row.line}" of ${dev.id} again`);
    } else dev.processedStatus.add(row.id);
  }
};

/**
 * Whether operations of (target, fragment) reached the device in another order than the
 * platform created them (a live push overtaking the answer to `500`): id-less statuses
 * (501/503 act on the oldest) then address a different operation than the one executed.
 */
export const outOfOrder = (w: WorldContext, target: string, fragment: string): string | undefined => {
  const line = (c: CreatedOperation) =>
    fragment === "c8y_Command"
      ? `511,${target},${c.text}`
      : fragment === "c8y_Configuration"
        ? `513,${target},${c.text}`
        : "";
  const ops = w.created
    .filter((c) => c.target === target && c.fragment === fragment && c.text !== "")
    .sort((a, b) => Number(a.id) - Number(b.id));
  for (let i = 1; i < ops.length; i++) {
    const older = ops[i - 1]!;
    const newer = ops[i]!;
    const a = w.findings.arrivals.get(line(older)) ?? Infinity;
    const b = w.findings.arrivals.get(line(newer)) ?? Infinity;
    if (b < a)
      return `"${line(newer)}" (operation ${newer.id}) reached the device before the older "${line(older)}" (operation ${older.id})`;
  }
  return undefined;
};
