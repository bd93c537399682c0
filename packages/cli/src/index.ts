/**
 * `@c8ylink/cli` as a library: the `c8ylink` command's entry point and its sub-commands,
 * for embedding the command in another tool or testing it in-process (`main(argv, io)`).
 */
export { main, HELP } from "./main.js";
export { processIo, type Io } from "./io.js";
export { UsageError } from "./args.js";
export { demoCommand, DEMO_HELP } from "./commands/demo.js";
export { runCommand, resolveSettings, RUN_HELP, type RunSettings } from "./commands/run.js";
export { simCommand, SIM_HELP } from "./commands/sim.js";
export { replayCommand, REPLAY_HELP } from "./commands/replay.js";
