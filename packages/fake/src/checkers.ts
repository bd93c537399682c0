/**
 * Invariants judged on the spot, as the trace unfolds (the world stops at the first violation).
 *
 * Owns: feeding every engine step to the core's laws (`checkLaws`, the same
 * `createInvariantChecker` the core's property tests use), at-most-once hand-out of operations
 * per platform operation (`checkHandOut`), and the findings that classify violations as known
 * issues under static rules (status rows processed twice, finished twins, arrival order of
 * operation lines). Only what needs the platform's knowledge is written here.
 */
import {
  entryOf,
  openEntries,
  type AnyOperation,
  type Command,
  type EngineState,
  type Event,
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

/**
 * The core's laws (`createInvariantChecker`: size law, SUBACK gate, in-flight window, outbox
 * bounds and accounting, one running operation per fragment, reconnect delay, timers, counters)
 * for one step of `dev`'s current life. A broken law is a violation named after it, never a
 * known issue.
 */
export const checkLaws = (
  w: WorldContext,
  dev: Device,
  before: EngineState,
  event: Event,
  after: EngineState,
  commands: readonly Command[],
): void => {
  for (const v of dev.laws.check(before, event, after, commands))
    w.violate(v.invariant, `${dev.id}.${dev.life} after ${event.type}: ${v.explanation}`);
};

/** The journal key of an operation the engine took from JSON: `id-<platform operation id>`. */
const BY_ID_KEY = /^id-(.+)$/;

/**
 * The platform operation a hand-out stands for: exactly its id when the journal key carries
 * it (by-id), else the operation with the same unique text (`c8y_Command`, `c8y_Configuration`:
 * every text is world-unique); undefined when neither tells (an id-less restart or relay).
 */
const platformOperationOf = (
  w: WorldContext,
  key: string,
  op: AnyOperation,
): { readonly id: string; readonly byId: boolean } | undefined => {
  const byId = BY_ID_KEY.exec(key)?.[1];
  if (byId !== undefined) return { id: byId, byId: true };
  const text = textOf(op);
  if (text === undefined) return undefined;
  const created = w.created.find((c) => c.text === text);
  return { id: created?.id ?? `text ${text}`, byId: false };
};

const textOf = (op: AnyOperation): string | undefined =>
  op.template === "511" ? op.text : op.template === "513" ? op.config : undefined;

/**
 * By id, the operation handed out must be the platform operation its key names: same
 * fragment, same target, same text. Anything else executes one operation under another's id.
 */
const checkIdentity = (w: WorldContext, dev: Device, key: string, op: AnyOperation, id: string): void => {
  const created = w.created.find((c) => c.id === id);
  if (created === undefined) return;
  const text = textOf(op);
  const same =
    created.fragment === op.fragment &&
    created.target === op.deviceId &&
    (text === undefined || text === created.text);
  if (same) return;
  w.violate(
    "wrong-operation",
    `${dev.id}.${dev.life} handed out ${key} as ${op.fragment} for ${op.deviceId}${text === undefined ? "" : ` "${text}"`}, ` +
      `but platform operation ${id} is ${created.fragment} for ${created.target}${created.text === "" ? "" : ` "${created.text}"`}`,
  );
};

/**
 * At-most-once execution: a platform operation reaches the application once, across
 * restarts, by whichever channel (JSON by id, or a static line) it came.
 */
export const checkHandOut = (w: WorldContext, dev: Device, key: string, op: AnyOperation): void => {
  const f = w.findings;
  const identity = platformOperationOf(w, key, op);
  if (identity === undefined) return;
  if (identity.byId) {
    checkIdentity(w, dev, key, op, identity.id);
    if (w.finished) return;
  }
  const text = textOf(op);
  const before = f.handedOut.get(identity.id);
  f.handedOut.set(identity.id, `${dev.id}.${dev.life} ${key}`);
  if (before === undefined) return;
  const raw = (entryOf(dev.state.journal, key)?.raw ?? []).join(",");
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
  const what = text === undefined ? `operation ${identity.id}` : `operation "${text}"`;
  w.violate(
    "executed-twice",
    `${dev.id} handed ${what} (${op.fragment} for ${op.deviceId}) to the application again as ${key} ` +
      `(first as ${before}); journal now: ${openEntries(dev.state.journal)
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
    const twin = openEntries(dev.state.journal).find(
      (e) => e.raw.join(",") === line && (e.stage === "finished" || e.executingAcked),
    );
    if (twin === undefined) continue;
    const kind = !twin.executingAcked
      ? `finished-twin: the line arrived again while journal entry ${twin.key} of ${dev.id}.${dev.life} was finished with its 501 unacknowledged, and was journaled as a new operation`
      : `stale-500-answer: the line arrived after the PUBACK of the 501 of journal entry ${twin.key} (${twin.stage}) of ${dev.id}.${dev.life}: the platform re-pushed it for a 500 processed before that 501, and it was journaled as a new operation`;
    f.finishedTwins.set(`${dev.id} ${line}`, kind);
  }
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
