/**
 * After a failed attempt or a lost connection: what the cause means, how long to wait
 * (exponential backoff with equal jitter, slow retries for configuration errors) and when to
 * give up stored bootstrap credentials. Arms the `reconnect` timer.
 */
import type { Cause } from "../events.js";
import { DURABLE } from "../durable.js";
import type { Tx } from "./tx.js";

const CONNACK_MEANING: Readonly<Record<number, string>> = {
  1: "unsupported protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorised",
};

export const describeCause = (cause: Cause): string => {
  switch (cause.kind) {
    case "refused":
      return `CONNACK ${cause.code} (${CONNACK_MEANING[cause.code] ?? "unknown return code"})`;
    case "network":
      return cause.message;
    case "requested":
      return "disconnected by request";
  }
};

export const scheduleReconnect = (tx: Tx, cause: Cause, as: "bootstrap" | "device"): void => {
  let delay: number;
  const code = cause.kind === "refused" ? cause.code : undefined;
  const configError = code === 1 || code === 2 || code === 4;
  if (code === 4 && as === "device" && tx.config.auth.mode === "bootstrap" && tx.s.credentials !== null) {
    const rejects = tx.s.credentialRejects + 1;
    tx.set({ credentialRejects: rejects });
    if (rejects >= tx.config.credentialRejectLimit) {
      // The platform no longer knows these credentials (device deleted or re-registered): start over.
      tx.set({ credentials: null, credentialRejects: 0 });
      tx.persist(DURABLE.credentials, null);
      tx.report({
        kind: "credentials-discarded",
        reason: `refused ${rejects} times with CONNACK 4; requesting new credentials`,
      });
      delay = backoffDelay(tx);
    } else delay = backoffDelay(tx);
  } else if (configError) {
    const { configErrorDelayMs } = tx.config.backoff;
    delay = Math.round(configErrorDelayMs * (0.75 + 0.5 * tx.random()));
  } else {
    delay = backoffDelay(tx);
  }
  if (cause.kind === "refused") {
    tx.report({ kind: "connect-refused", code: cause.code, meaning: describeCause(cause), retryInMs: delay });
  } else {
    tx.report({ kind: "connection-lost", cause: describeCause(cause), retryInMs: delay });
  }
  tx.enter({ name: "waiting", reason: describeCause(cause) }, describeCause(cause));
  tx.setTimer("reconnect", tx.now + delay);
};

/** Exponential backoff with equal jitter within [floorMs, capMs]; advances the attempt counter. */
export const backoffDelay = (tx: Tx): number => {
  const { floorMs, capMs } = tx.config.backoff;
  const attempt = tx.s.backoffAttempt;
  const ceiling = Math.min(capMs, floorMs * 2 ** Math.min(attempt, 40));
  const jittered = ceiling / 2 + (tx.random() * ceiling) / 2;
  tx.set({ backoffAttempt: attempt + 1 });
  return Math.round(Math.min(capMs, Math.max(floorMs, jittered)));
};
