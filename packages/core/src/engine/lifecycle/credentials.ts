/**
 * Credentials and tokens: Step 0 bootstrap (polling `s/ucr` and storing the credentials that
 * arrive on `s/dcr`) and the JWT of certificate auth (requesting it, refreshing it at half its
 * lifetime). Bodies of the `bootstrap-poll` and `token-refresh` timers.
 */
import * as E from "fp-ts/lib/Either.js";
import { gateOpen, type Credentials } from "../state.js";
import { DURABLE } from "../durable.js";
import {
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_CREDENTIALS_UP,
  TOPIC_TOKEN_DOWN,
  TOPIC_TOKEN_UP,
} from "../../smartrest/topics.js";
import { decodeCredentials, decodeToken } from "../../smartrest/control.js";
import { templateErrorText, type Row } from "../../smartrest/types.js";
import type { Tx } from "./tx.js";

export const pollCredentials = (tx: Tx): void => {
  tx.emit({
    type: "publish",
    connectionId: tx.s.connectionId,
    ref: tx.ref(),
    topic: TOPIC_CREDENTIALS_UP,
    payload: "",
    qos: 0,
  });
  const interval = tx.config.bootstrapPollMs;
  tx.setTimer("bootstrap-poll", tx.now + Math.round(interval * (0.8 + 0.4 * tx.random())));
};

export const requestToken = (tx: Tx): void => {
  tx.emit({
    type: "publish",
    connectionId: tx.s.connectionId,
    ref: tx.ref(),
    topic: TOPIC_TOKEN_UP,
    payload: "",
    qos: 0,
  });
};

export const onCredentialsLine = (tx: Tx, row: Row): void => {
  const phase = tx.s.phase;
  if (phase.name !== "bootstrapping") return;
  const decoded = decodeCredentials(row);
  if (E.isLeft(decoded)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({
      kind: "invalid-input",
      source: TOPIC_CREDENTIALS_DOWN,
      reason: templateErrorText(decoded.left),
    });
    return;
  }
  const { tenant, username, password } = decoded.right;
  const credentials: Credentials = { tenant, user: username, password };
  tx.cancelTimer("bootstrap-poll");
  tx.report({ kind: "credentials-received", tenant: credentials.tenant, user: credentials.user });
  tx.enter({ name: "storing-credentials", credentials }, "credentials received");
  tx.persist(DURABLE.credentials, credentials, { credentials: true });
};

export const onTokenLine = (tx: Tx, row: Row): void => {
  const decoded = decodeToken(row);
  if (E.isLeft(decoded)) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({ kind: "invalid-input", source: TOPIC_TOKEN_DOWN, reason: templateErrorText(decoded.left) });
    return;
  }
  const refreshInMs = tokenRefreshDelay(decoded.right.token);
  tx.report({ kind: "token", token: decoded.right.token, refreshInMs });
  tx.setTimer("token-refresh", tx.now + refreshInMs);
};

/** The longest wait before asking for a fresh token: every timer stays a finite, small number. */
const MAX_TOKEN_REFRESH_MS = 24 * 3_600_000;

/**
 * Half the token's lifetime (exp − iat), or 30 min when the JWT does not say (spec §8.1:
 * ≥ 5 min); between 1 min and 24 h whatever the claims say (a lifetime that overflows to
 * Infinity once set a timer that serialised as null and broke replay).
 */
export const tokenRefreshDelay = (token: string): number => {
  const fallback = 30 * 60_000;
  const claims = token.split(".")[1];
  if (claims === undefined) return fallback;
  try {
    const json: unknown = JSON.parse(atob(claims.replace(/-/g, "+").replace(/_/g, "/")));
    if (typeof json !== "object" || json === null) return fallback;
    const { exp, iat } = json as { exp?: unknown; iat?: unknown };
    if (typeof exp !== "number" || typeof iat !== "number" || !(exp > iat)) return fallback;
    const half = Math.round(((exp - iat) * 1000) / 2);
    return Number.isFinite(half)
      ? Math.min(MAX_TOKEN_REFRESH_MS, Math.max(60_000, half))
      : MAX_TOKEN_REFRESH_MS;
  } catch {
    return fallback;
  }
};

/** The `bootstrap-poll` timer: ask for credentials again while subscribed to `s/dcr`. */
export const onBootstrapPollTimer = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name === "bootstrapping" && phase.subscribed) pollCredentials(tx);
};

/** The `token-refresh` timer: ask for a fresh token while past the gate. */
export const onTokenRefreshTimer = (tx: Tx): void => {
  if (gateOpen(tx.s.phase)) requestToken(tx);
};
