#!/usr/bin/env node
// The c8ylink command runs from its TypeScript sources: re-execute Node with the "source"
// export condition (workspace packages resolve to src/) and the tsx loader, resolved from
// this package (not from the caller's working directory).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
const child = spawn(
  process.execPath,
  ["--conditions=source", "--import", tsx, main, ...process.argv.slice(2)],
  {
    stdio: "inherit",
  },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
