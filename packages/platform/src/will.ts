/**
 * The last will (spec §1.9): a session's will is processed as if the device had published it
 * when its connection is lost (`client-disconnect` with `clean: false`), before the session
 * ends. A clean DISCONNECT discards it. Outputs meant for the connection that is going away
 * (PUBACK, `s/e` lines, a close) are dropped: nobody is there to receive them.
 *
 * Decisions: only a lost connection triggers the will; sessions the platform closes itself
 * (protocol violations, duplicate ClientIds, block/delete) do not publish it.
 */
import type { ClientDisconnect } from "./model.js";
import { publish } from "./publish.js";
import { disconnect } from "./sessions.js";
import { sessionOf, type Tx } from "./tx.js";

export const clientDisconnect = (tx: Tx, input: ClientDisconnect): void => {
  const clean = input.clean ?? true;
  const session = sessionOf(tx.s, input.clientKey);
  if (!clean && session?.will !== undefined) {
    const { topic, payload, qos } = session.will;
    const before = tx.out.length;
    publish(tx, { type: "client-publish", nowMs: tx.now, clientKey: session.clientKey, topic, payload, qos });
    const kept = tx.out.slice(before).filter((o) => !("clientKey" in o) || o.clientKey !== session.clientKey);
    tx.out.splice(before, tx.out.length - before, ...kept);
  }
  disconnect(tx, input.clientKey, clean);
};
