/**
 * `npm run simulate -- --seed N --runs M --devices D [--fault-ms X] [--heal-ms Y] [--no-faults]
 *  [--tolerate-known] [--verbose]`
 *
 * Runs M seeded worlds starting at seed N, one line per world, then a summary. Exits 1 at the
 * first failing seed with its explanation and the command that reproduces it exactly.
 * `--verbose` prints the full trace of failing worlds (and, with --runs 1, of the world).
 * `--tolerate-known` counts violations matching a known engine issue instead of failing.
 */
import { explain, reproduceCommand, summaryLine } from "./summary.js";
import { runWorld } from "./world.js";

interface Args {
  seed: number;
  runs: number;
  devices: number;
  faultMs: number;
  healMs: number;
  verbose: boolean;
  none: boolean;
  tolerateKnown: boolean;
}

const usage =
  "usage: npm run simulate -- [--seed N] [--runs M] [--devices D] [--fault-ms X] [--heal-ms Y] [--no-faults] [--tolerate-known] [--verbose]";

const parse = (argv: readonly string[]): Args => {
  const args: Args = {
    seed: 1,
    runs: 20,
    devices: 3,
    faultMs: 120_000,
    healMs: 300_000,
    verbose: false,
    none: false,
    tolerateKnown: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} needs a non-negative integer\n${usage}`);
      return v;
    };
    switch (flag) {
      case "--seed":
        args.seed = value();
        break;
      case "--runs":
        args.runs = value();
        break;
      case "--devices":
        args.devices = Math.max(1, value());
        break;
      case "--fault-ms":
        args.faultMs = value();
        break;
      case "--heal-ms":
        args.healMs = value();
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--no-faults":
        args.none = true;
        break;
      case "--tolerate-known":
        args.tolerateKnown = true;
        break;
      case "--help":
      case "-h":
        console.log(usage);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag ?? ""}\n${usage}`);
    }
  }
  return args;
};

const main = (): number => {
  const args = parse(process.argv.slice(2));
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
      const extra =
        (args.faultMs === 120_000 ? "" : ` --fault-ms ${args.faultMs}`) +
        (args.healMs === 300_000 ? "" : ` --heal-ms ${args.healMs}`) +
        (args.none ? " --no-faults" : "") +
        (args.tolerateKnown ? " --tolerate-known" : "");
      console.log(`\nreproduce: ${reproduceCommand(report, extra)}`);
      return 1;
    }
  }
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    `\n${worlds} worlds ok: ${messages} messages, ${operations} operations, ${crashes} crashes, ` +
      `${(virtualMs / 60_000).toFixed(1)} virtual minutes in ${(wallMs / 1000).toFixed(1)} s`,
  );
  return 0;
};

try {
  process.exitCode = main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 2;
}
