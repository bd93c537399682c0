/**
 * `npm run simulate -- --seed N --runs M --devices D [--operations by-id|static]
 *  [--no-platform-json] [--fault-ms X] [--heal-ms Y] [--no-faults] [--tolerate-known] [--verbose]`
 *
 * Runs M seeded worlds starting at seed N, one line per world, then a summary. Exits 1 at the
 * first failing seed with its explanation and the command that reproduces it exactly.
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
      console.log("");
      console.log(explain(report));
      console.log(`\n1 of ${worlds} worlds failed (${modeLabel(args.operations, args.platformJson)})`);
      const extra =
        (args.faultMs === DEFAULTS.faultMs ? "" : ` --fault-ms ${args.faultMs}`) +
        (args.healMs === DEFAULTS.healMs ? "" : ` --heal-ms ${args.healMs}`) +
        (args.none ? " --no-faults" : "") +
        (args.tolerateKnown ? " --tolerate-known" : "");
      console.log(`\nreproduce: ${reproduceCommand(report, extra)}`);
      return 1;
    }
  }
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    `\n${worlds} worlds ok (${modeLabel(args.operations, args.platformJson)}): ${messages} messages, ${operations} operations, ${crashes} crashes, ` +
      `${(virtualMs / 60_000).toFixed(1)} virtual minutes in ${(wallMs / 1000).toFixed(1)} s`,
  );
  return 0;
};

try {
  process.exitCode = main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`${e.message}\nRun 'npm run simulate -- --help' for the options.`);
  process.exitCode = 2;
}
