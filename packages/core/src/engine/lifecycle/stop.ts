/**
 * Stopping: `stop` while online drains the outbox until empty or the `stop-deadline` timer;
 * in any other phase it stops at once. Finishing cancels every timer.
 */
import { isConnected, type TimerKey } from "../state.js";
import { queuedCount } from "../outbox.js";
import { dropSession } from "./outbox-pump.js";
import type { Tx } from "./tx.js";

export const onStop = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name === "stopping") return;
  if (phase.name === "online") {
    tx.enter({ name: "stopping" }, "stop requested");
    tx.setTimer("stop-deadline", tx.now + tx.config.stopDeadlineMs);
    maybeFinishStop(tx);
    return;
  }
  if (isConnected(phase) || phase.name === "connecting") {
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
  }
  dropSession(tx);
  finishStop(tx, "stop requested");
};

export const maybeFinishStop = (tx: Tx): void => {
  if (tx.s.phase.name !== "stopping") return;
  if (queuedCount(tx.s.outbox) === 0 && tx.s.session.inflight.count === 0) {
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
    finishStop(tx, "outbox drained");
  }
};

export const finishStop = (tx: Tx, reason: string): void => {
  for (const key of Object.keys(tx.s.timers) as TimerKey[]) tx.cancelTimer(key);
  if (tx.s.session.inflight.count > 0) dropSession(tx);
  tx.enter({ name: "stopped" }, reason);
  tx.report({ kind: "stopped", undelivered: queuedCount(tx.s.outbox) });
};
