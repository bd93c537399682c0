/**
 * The event log: one JSON object per line. Line 1 is a header; every other line is one
 * `step` — the event given to `step` and the commands it returned. Replaying the events
 * from `initialState(config)` must reproduce the commands exactly (see `replay`).
 *
 * Secrets (passwords, tokens) are redacted *consistently*: the same secret always becomes
 * the same placeholder, in the config, in events and in commands. Because the core only
 * copies secrets around (it never computes with them), replaying redacted events yields
 * exactly the redacted commands. The placeholder is a hash, so equal secrets stay
 * recognisably equal without being revealed.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { CommandCodec, type Command, type DurableChange } from "./commands.js";
import { decodeConfig, type EngineConfig } from "./config.js";
import { decode, formatProblems } from "./decode.js";
import { EventCodec, SCHEMA_VERSION, type Event } from "./events.js";
import { batchStep } from "./log-batch-step.js";
import { initialState, step } from "./step.js";
import { DURABLE } from "./durable.js";
import { jsonDigest } from "./json-digest.js";
import type { EngineState } from "./state.js";

export const LOG_FORMAT = "c8ylink-event-log";

export const LogHeaderCodec = t.type({
  kind: t.literal("header"),
  format: t.literal(LOG_FORMAT),
  schemaVersion: t.number,
  engineVersion: t.string,
  /** FNV-1a 64 of the canonical JSON of the (redacted) config. */
  configHash: t.string,
  seed: t.number,
  /** The configuration input, redacted. */
  config: t.unknown,
});
export type LogHeader = t.TypeOf<typeof LogHeaderCodec>;

const LogFullStepCodec = t.type({
  kind: t.literal("step"),
  seq: t.number,
  event: EventCodec,
  commands: t.array(CommandCodec),
});
/** Schema 3: commands too long to be worth keeping are stored as their digest (`commandsDigest`). */
const LogDigestStepCodec = t.type({
  kind: t.literal("step"),
  seq: t.number,
  event: EventCodec,
  digest: t.string,
});
export const LogStepCodec = t.union([LogFullStepCodec, LogDigestStepCodec]);
export type LogStep = {
  readonly kind: "step";
  readonly seq: number;
  readonly event: Event;
  /** The recorded commands; empty when only their digest was recorded. */
  readonly commands: readonly Command[];
  /** `commandsDigest` of the commands, when they were recorded as a digest. */
  readonly digest?: string;
};

/** Commands whose JSON is longer than this are recorded as a digest (replay recomputes them). */
export const DIGEST_OVER_CHARS = 1024;

/**
 * A 53-bit digest (14 hex digits) of the commands' JSON (cyrb53: two multiplicative 32-bit
 * lanes; fast enough to run over every step of a replay). Detects a divergence; says nothing
 * about where inside the step, which replay shows by printing the recomputed commands.
 */
export const commandsDigest = (json: string): string => {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return n.toString(16).padStart(14, "0");
};

/** 64-bit FNV-1a over UTF-16 code units, as 16 hex digits. Pure and dependency-free. */
export const fnv1a64 = (text: string): string => {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
};

export const redactSecret = (secret: string): string =>
  `redacted:${fnv1a64(`c8ylink:${secret}`).slice(0, 12)}`;

const isRedacted = (value: string): boolean => /^redacted:[0-9a-f]{12}$/.test(value);
const redactValue = (value: string): string => (isRedacted(value) ? value : redactSecret(value));

/**
 * A JWT keeps its header and claims (the engine reads `iat`/`exp` to schedule the refresh,
 * so replay needs them); only the signature, which makes it usable, is redacted.
 */
const redactToken = (token: string): string => {
  const parts = token.split(".");
  if (parts.length !== 3) return redactValue(token);
  return `${parts[0]}.${parts[1]}.${redactValue(parts[2] ?? "")}`;
};

/** Canonical JSON (sorted keys), so hashes do not depend on property order. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
};

const SECRET_KEYS = new Set(["password", "bootstrapPassword"]);

/** Redacts every string under a key named password / bootstrapPassword / token, at any depth. */
export const redactDeep = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === "string" && SECRET_KEYS.has(k)
          ? redactValue(v)
          : typeof v === "string" && k === "token"
            ? redactToken(v)
            : redactDeep(v),
      ]),
    );
  }
  return value;
};

/** Redacts secrets inside SmartREST lines: the password of `70` and the token of `71`. */
const redactPayload = (topic: string, payload: string): string => {
  if (topic === "s/dcr") {
    return payload.replace(
      /^(70,[^,\n]*,[^,\n]*,)([^\n]*)$/gm,
      (_m, head: string, pw: string) => head + redactValue(pw),
    );
  }
  if (topic === "s/dat") {
    return payload.replace(
      /^(71,)([^\n]*)$/gm,
      (_m, head: string, token: string) => head + redactToken(token),
    );
  }
  return payload;
};

export const redactEvent = (event: Event): Event => {
  switch (event.type) {
    case "message":
      return { ...event, payload: redactPayload(event.topic, event.payload) };
    case "start":
      return { ...event, durable: redactDeep(event.durable) as Record<string, unknown> };
    default:
      return event;
  }
};

export const redactCommand = (command: Command): Command => {
  switch (command.type) {
    case "connect":
      return command.password === null ? command : { ...command, password: redactValue(command.password) };
    case "persist": {
      // Outbox rows hold no secret (flat records of a row's text): the bulk needs no walk, and
      // a persist of outbox rows only (a batch of 100,000) is not copied at all.
      let changes: DurableChange[] | null = null;
      for (let i = 0; i < command.changes.length; i++) {
        const c = command.changes[i] as DurableChange;
        const keep = c.value === null || c.key.startsWith(DURABLE.outboxPrefix);
        if (keep && changes === null) continue;
        changes ??= command.changes.slice(0, i);
        changes.push(keep ? c : { key: c.key, value: redactDeep(c.value) });
      }
      return changes === null ? command : { ...command, changes };
    }
    case "report":
      return { ...command, report: redactDeep(command.report) as typeof command.report };
    default:
      return command;
  }
};

export const makeLogHeader = (configInput: unknown, engineVersion: string, seed: number): LogHeader => {
  const config = redactDeep(configInput);
  return {
    kind: "header",
    format: LOG_FORMAT,
    schemaVersion: SCHEMA_VERSION,
    engineVersion,
    configHash: fnv1a64(canonicalJson(config)),
    seed,
    config,
  };
};

export const makeLogStep = (seq: number, event: Event, commands: readonly Command[]): LogStep => ({
  kind: "step",
  seq,
  event: redactEvent(event),
  commands: commands.map(redactCommand),
});

/**
 * One step as a log line (schema 3): the redacted event, and the redacted commands in full
 * when short, else their digest. A batch of any size is one line.
 */
export const logStepLine = (seq: number, event: Event, commands: readonly Command[]): string => {
  const redacted = commands.map(redactCommand);
  // The digest walk measures the JSON too: the JSON of a long list is never built.
  const { digest, length } = jsonDigest(redacted);
  const head = `{"kind":"step","seq":${seq},"event":${JSON.stringify(redactEvent(event))}`;
  return length > DIGEST_OVER_CHARS
    ? `${head},"digest":"${digest}"}`
    : `${head},"commands":${JSON.stringify(redacted)}}`;
};

// ---------------------------------------------------------------------------------------------
// Reading and replaying

export type LogLineProblem = { readonly line: number; readonly reason: string };

export interface ParsedLog {
  readonly header: LogHeader | null;
  readonly steps: readonly LogStep[];
  /** Corrupt or truncated lines: reported with their line number and skipped. */
  readonly problems: readonly LogLineProblem[];
}

/** Parses a whole log text. Never throws: bad lines become problems. */
export const parseLog = (text: string): ParsedLog => {
  const lines = text.split("\n");
  let header: LogHeader | null = null;
  const steps: LogStep[] = [];
  const problems: LogLineProblem[] = [];
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      problems.push({ line, reason: `not JSON (${e instanceof Error ? e.message : "parse error"})` });
      return;
    }
    if (
      line === 1 ||
      (typeof json === "object" && json !== null && (json as { kind?: unknown }).kind === "header")
    ) {
      const h = decode(LogHeaderCodec, json);
      if (E.isLeft(h)) problems.push({ line, reason: `bad header: ${formatProblems(h.left)}` });
      else if (header !== null) problems.push({ line, reason: "second header ignored" });
      else header = h.right;
      return;
    }
    const batch = batchStep(json);
    if (batch !== undefined) {
      steps.push(batch);
      return;
    }
    // The line says which form it is: its (possibly huge) event is decoded once. A `null`
    // line is JSON too, and has no fields to read.
    if (json !== null && typeof (json as { digest?: unknown }).digest === "string") {
      const s = decode(LogDigestStepCodec, json);
      if (E.isLeft(s)) problems.push({ line, reason: formatProblems(s.left) });
      else steps.push({ ...s.right, commands: [] });
      return;
    }
    const s = decode(LogFullStepCodec, json);
    if (E.isLeft(s)) problems.push({ line, reason: formatProblems(s.left) });
    else steps.push(s.right as LogStep);
  });
  return { header, steps, problems };
};

/**
 * The configuration input a header was recorded with, read with the defaults of its schema
 * version: logs of version 1 predate operations by id, so they ran `operations: "static"`.
 */
export const configOfHeader = (header: LogHeader): unknown => {
  const config = header.config;
  if (header.schemaVersion >= 2 || typeof config !== "object" || config === null || Array.isArray(config))
    return config;
  return "operations" in config ? config : { ...config, operations: "static" };
};

export interface Divergence {
  readonly seq: number;
  readonly event: Event;
  /** Empty when the step recorded only a digest (`recordedDigest`); `replayed` shows what differs. */
  readonly recorded: readonly Command[];
  readonly recordedDigest?: string;
  readonly replayedDigest?: string;
  readonly replayed: readonly Command[];
  /** State before the diverging event. */
  readonly before: EngineState;
}

export interface ReplayResult {
  readonly config: EngineConfig;
  readonly steps: number;
  readonly divergence: Divergence | null;
  readonly state: EngineState;
}

/**
 * Re-runs `step` over the logged events from the initial state. Stops at the first event
 * whose replayed commands differ from the recorded ones, or after `untilSeq`.
 */
export const replay = (
  header: LogHeader,
  steps: readonly LogStep[],
  options: { readonly untilSeq?: number } = {},
): E.Either<string, ReplayResult> => {
  const config = decodeConfig(configOfHeader(header));
  if (E.isLeft(config)) return E.left(`log header config does not decode:\n${formatProblems(config.left)}`);
  let state = initialState(config.right);
  let count = 0;
  for (const logged of steps) {
    if (options.untilSeq !== undefined && logged.seq > options.untilSeq) break;
    const before = state;
    const result = step(state, logged.event);
    const replayed = result.commands.map(redactCommand);
    state = result.state;
    count++;
    if (logged.digest !== undefined) {
      const { digest } = jsonDigest(replayed);
      if (digest !== logged.digest) {
        const divergence = {
          seq: logged.seq,
          event: logged.event,
          recorded: [],
          recordedDigest: logged.digest,
          replayedDigest: digest,
          replayed,
          before,
        };
        return E.right({ config: config.right, steps: count, divergence, state });
      }
      continue;
    }
    // Fast path: same key order (the usual case); canonical comparison only when that differs.
    const same =
      JSON.stringify(replayed) === JSON.stringify(logged.commands) ||
      canonicalJson(replayed) === canonicalJson(logged.commands);
    if (!same) {
      return E.right({
        config: config.right,
        steps: count,
        divergence: { seq: logged.seq, event: logged.event, recorded: logged.commands, replayed, before },
        state,
      });
    }
  }
  return E.right({ config: config.right, steps: count, divergence: null, state });
};
