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
    // Still backing off and jittered, but never longer than configErrorDelayMs (default 60 s):
    // a fixed password or an accepted registration is picked up within a minute.
    delay = backoffDelay(tx, tx.config.backoff.configErrorDelayMs);
  } else {
    delay = backoffDelay(tx);
  }
  if (cause.kind === "refused") {
    const hint = configError ? `; ${whatToCheck(cause.code, as, tx)}` : "";
    tx.report({
      kind: "connect-refused",
      code: cause.code,
      meaning: `${describeCause(cause)}${hint}`,
      retryInMs: delay,
    });
  } else {
    tx.report({ kind: "connection-lost", cause: describeCause(cause), retryInMs: delay });
  }
  tx.enter({ name: "waiting", reason: describeCause(cause) }, describeCause(cause));
  tx.setTimer("reconnect", tx.now + delay);
};

/** What a configuration error asks the operator to check. */
const whatToCheck = (code: number, as: "bootstrap" | "device", tx: Tx): string => {
  if (code === 1) return "check that the broker speaks MQTT 3.1.1";
  if (code === 2) return `check the device id "${tx.config.deviceId}" (the ClientId d:<id>)`;
  if (as === "bootstrap")
    return (
      "check the bootstrap user (management/devicebootstrap) and the bootstrap password your platform " +
      `operator gave you, and that "${tx.config.deviceId}" is registered in Device management → Registration`
    );
  return tx.config.auth.mode === "certificate"
    ? "check the device certificate (CN = device id) and that its CA is a trusted certificate of the tenant"
    : "check the tenant, user and password of the device";
};

/**
 * Exponential backoff with equal jitter within [floorMs, cap] (cap: `capMs` unless given);
 * advances the attempt counter.
 */
export const backoffDelay = (tx: Tx, cap?: number): number => {
  const { floorMs } = tx.config.backoff;
  const capMs = Math.max(floorMs, cap ?? tx.config.backoff.capMs);
  const attempt = tx.s.backoffAttempt;
  const ceiling = Math.min(capMs, floorMs * 2 ** Math.min(attempt, 40));
  const jittered = ceiling / 2 + (tx.random() * ceiling) / 2;
  tx.set({ backoffAttempt: attempt + 1 });
  return Math.round(Math.min(capMs, Math.max(floorMs, jittered)));
};
