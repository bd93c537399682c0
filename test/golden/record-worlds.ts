/**
 * Re-pins the golden trace hashes: `npm run golden:record`. Run it only when a change is
 * meant to alter behaviour (and say so in the commit); a refactor must leave them equal.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runWorld, type WorldOptions } from "@c8ylink/fake";
import { GOLDEN_WORLDS } from "./worlds.js";

const pinned = GOLDEN_WORLDS.map((options: WorldOptions) => ({
  options,
  traceHash: runWorld(options).traceHash,
}));
const out = fileURLToPath(new URL("./worlds.golden.json", import.meta.url));
writeFileSync(out, `${JSON.stringify(pinned, null, 1)}\n`);
console.log(`pinned ${pinned.length} worlds in ${out}`);
