#!/usr/bin/env node
// The c8ylink command, in this one process (a supervisor's signals and kill -9 reach the
// agent itself). It runs from the TypeScript sources: a resolve hook adds the "source" export
// condition (workspace packages resolve to src/) and tsx compiles TypeScript, both
// registered in-process before the first TypeScript module is imported.
import { register } from "node:module";

register("./source-conditions.js", import.meta.url);
await import("tsx");
const { runAsProcess } = await import("../src/main.ts");
await runAsProcess();
