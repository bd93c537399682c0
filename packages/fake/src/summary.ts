/** Human-readable lines for a world's report (used by the CLI and by test failure messages). */
import type { WorldReport } from "./world.js";

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** One line: seed, faults, virtual time, messages, operations, verdict. */
export const summaryLine = (r: WorldReport): string => {
  const m = r.messages;
  const o = r.operations;
  const verdict = r.ok ? "ok" : `FAIL ${r.violation?.invariant ?? "?"}`;
  return (
    `seed ${r.seed} devices ${r.devices} faults [${r.faults}] ` +
    `t=${seconds(r.virtualMs)}${r.drainedAtMs === null ? "" : ` drained@${seconds(r.drainedAtMs)}`} ` +
    `msgs ${m.onPlatform}/${m.accepted} (dropped ${m.droppedByPolicy}, lost@crash ${m.lostAtCrash}, dup ${m.duplicates}) ` +
    `ops ${o.successful}✓ ${o.failed}✗ ${o.open} open of ${o.created} ` +
    `crashes ${r.stats["crashes"] ?? 0} → ${verdict}`
  );
};

/** The operations mode of a world as its output names it. */
export const modeLabel = (mode: WorldReport["operationsMode"], platformJson: boolean): string =>
  platformJson ? mode : `${mode}, platform without JSON (judged by static rules)`;

/** The command that reruns `r` alone with its full trace (`extra`: flags off their defaults). */
export const reproduceCommand = (r: WorldReport, extra = ""): string =>
  `npm run simulate -- --seed ${r.seed} --runs 1 --devices ${r.devices} --operations ${r.operationsMode}` +
  `${r.platformJson ? "" : " --no-platform-json"}${extra} --verbose`;

/** The failure explanation: invariant, what happened, and the trace leading to it. */
export const explain = (r: WorldReport, tailLines = 25): string => {
  if (r.violation === null) return `seed ${r.seed}: ok (trace ${r.traceHash})`;
  const v = r.violation;
  return [
    `seed ${r.seed}: invariant "${v.invariant}" violated at ${v.atMs} ms (virtual); operations ${modeLabel(r.operationsMode, r.platformJson)}`,
    `  ${v.explanation}`,
    ...(v.known === undefined ? [] : [`  known issue (README "Known issues"): ${v.known}`]),
    `  faults: ${r.faults}; autoAccept ${r.autoAccept}; devices ${r.deviceSummaries
      .map((d) => `${d.id}(${d.auth}, children ${d.children.join("/")}, lives ${d.lives}, ${d.phase})`)
      .join(", ")}`,
    `  trace hash ${r.traceHash}; last trace lines:`,
    ...r.traceTail.slice(-tailLines).map((l) => `    ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`),
  ].join("\n");
};
