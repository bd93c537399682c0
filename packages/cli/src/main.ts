/**
 * The `c8ylink` command: dispatches to its sub-commands and turns usage errors into a
 * clear message and exit status 2, runtime failures into one line and exit status 1
 * (the stack trace only with C8YLINK_DEBUG=1).
 */
import { UsageError } from "./args.js";
import { processIo, type Io } from "./io.js";
import { demoCommand, DEMO_HELP } from "./commands/demo.js";
import { replayCommand, REPLAY_HELP } from "./commands/replay.js";
import { runCommand, RUN_HELP } from "./commands/run.js";
import { simCommand, SIM_HELP } from "./commands/sim.js";

export const HELP = `Usage: c8ylink <command> [options]

c8ylink connects devices to Cumulocity IoT over MQTT with a deterministic, replayable engine.

Commands
  demo      a device with two children against an embedded simulated tenant: bootstrap,
            registration, data, operations; prints a timeline and a summary
  run       a device agent for a real tenant (flags, C8Y_* variables, config file)
  sim       the simulated tenant alone (MQTT + HTTP admin API on 127.0.0.1)
  replay    re-run a recorded event log and report the first divergence

Run 'c8ylink <command> --help' for a command's options.
Exit status of every command: 0 success, 1 runtime failure (replay: a divergence),
2 usage or configuration error (the message names the option, file or path).`;

const commands: Record<
  string,
  { run: (argv: readonly string[], io: Io) => number | Promise<number>; help: string }
> = {
  demo: { run: demoCommand, help: DEMO_HELP },
  run: { run: runCommand, help: RUN_HELP },
  sim: { run: simCommand, help: SIM_HELP },
  replay: { run: replayCommand, help: REPLAY_HELP },
};

export const main = async (argv: readonly string[], io: Io): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.err(`c8ylink: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`c8ylink ${name}: ${e.message}`);
      return 2;
    }
    // A runtime failure is one line; the stack only helps a developer, who can ask for it.
    const debug = io.env.C8YLINK_DEBUG !== undefined && io.env.C8YLINK_DEBUG !== "";
    const text = e instanceof Error ? (debug ? (e.stack ?? e.message) : e.message) : String(e);
    io.err(`c8ylink ${name}: ${text}`);
    return 1;
  }
};

/** Runs the command line of this process and exits with its status (used by bin/c8ylink.js). */
export const runAsProcess = async (): Promise<never> => {
  const code = await main(process.argv.slice(2), processIo());
  // Exit explicitly: a read of standard input may still be pending (it holds no data of ours).
  process.exit(code);
};

// Run when executed directly (`node --conditions=source --import tsx src/main.ts`).
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"))) {
  void runAsProcess();
}
