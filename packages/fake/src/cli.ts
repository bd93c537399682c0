/**
 * `npm run simulate -- --seed N --runs M --devices D [--operations by-id|static]
 *  [--no-platform-json] [--fault-ms X] [--heal-ms Y] [--no-faults] [--tolerate-known] [--verbose]`
 *
 * Runs M seeded worlds starting at seed N, one line per world, then a summary: every world
 * asked for runs; each failing one is explained with the command that reproduces it exactly,
 * and the summary counts them (by invariant). Exits 1 when any world failed.
 * `--verbose` prints the full trace of failing worlds (and, with --runs 1, of the world).
 * `--operations` picks the engines' mode (default by-id), named in the summary and in the
 * reproduce command; `--no-platform-json` simulates a tenant without JSON via MQTT.
 * `--tolerate-known` counts violations matching a known engine issue instead of failing (static
 * rules only).
 * Flags are parsed in cli-args.ts; a usage error names the flag and exits 2.
 */
import { DEFAULTS, USAGE, UsageError, parseSimulateArgs } from "./cli-args.js";
import { explain, modeLabel, reproduceCommand, summaryLine } from "./summary.js";
import { runWorld } from "./world.js";

const main = (): number => {
  const args = parseSimulateArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  console.log(`operations ${modeLabel(args.operations, args.platformJson)}`);
  const started = process.hrtime.bigint();
  let worlds = 0;
  let messages = 0;
  let operations = 0;
  let crashes = 0;
  let virtualMs = 0;
  const failures: { seed: number; invariant: string; reproduce: string }[] = [];
  const extra =
    (args.faultMs === DEFAULTS.faultMs ? "" : ` --fault-ms ${args.faultMs}`) +
    (args.healMs === DEFAULTS.healMs ? "" : ` --heal-ms ${args.healMs}`) +
    (args.none ? " --no-faults" : "") +
    (args.tolerateKnown ? " --tolerate-known" : "");
  for (let k = 0; k < args.runs; k++) {
    const seed = args.seed + k;
    const report = runWorld({
      seed,
      devices: args.devices,
      faultMs: args.faultMs,
      healMs: args.healMs,
      faults: args.none ? "none" : "swarm",
      trace: args.verbose,
      tolerateKnown: args.tolerateKnown,
      operationsMode: args.operations,
      platformJson: args.platformJson,
    });
    worlds++;
    messages += report.messages.accepted;
    operations += report.operations.created;
    crashes += report.stats["crashes"] ?? 0;
    virtualMs += report.virtualMs;
    console.log(summaryLine(report));
    if (args.verbose && (args.runs === 1 || !report.ok)) {
      for (const line of report.trace ?? []) console.log(`  | ${line}`);
    }
    if (!report.ok) {
      const reproduce = reproduceCommand(report, extra);
      failures.push({ seed, invariant: report.violation?.invariant ?? "not drained", reproduce });
      console.log("");
      console.log(explain(report));
      console.log(`reproduce: ${reproduce}\n`);
    }
  }
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const mode = modeLabel(args.operations, args.platformJson);
  const totals =
    `${messages} messages, ${operations} operations, ${crashes} crashes, ` +
    `${(virtualMs / 60_000).toFixed(1)} virtual minutes in ${(wallMs / 1000).toFixed(1)} s`;
  if (failures.length === 0) {
    console.log(`\n${worlds} worlds ok (${mode}): ${totals}`);
    return 0;
  }
  const byInvariant = new Map<string, number>();
  for (const f of failures) byInvariant.set(f.invariant, (byInvariant.get(f.invariant) ?? 0) + 1);
  console.log(
    `\n${failures.length} of ${worlds} worlds failed (${mode}; ` +
      `${((100 * failures.length) / worlds).toFixed(2)}%): ` +
      [...byInvariant].map(([k, n]) => `${k} ${n}`).join(", ") +
      `; ${totals}`,
  );
  for (const f of failures) console.log(`  seed ${f.seed} (${f.invariant}): ${f.reproduce}`);
  return 1;
};

try {
  process.exitCode = main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`${e.message}\nRun 'npm run simulate -- --help' for the options.`);
  process.exitCode = 2;
}
