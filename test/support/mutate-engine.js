// `npm run mutate:engine [chunk ...]`: the engine's ~5,600 mutants as six Stryker runs of one
// concern each, one after another. A whole-engine run gives its survivors only at its end
// (about 1½ hours on an idle 2-core machine); in chunks, each chunk's survivors are known
// (reports/engine/<chunk>/survivors.md) while the next chunk runs, and one chunk can be re-run
// alone, incrementally, after tests were added for it. The engine's score at the end is summed
// over every chunk report present, with the same goal line as `npm run mutate`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { summarize, goalLine, score, survivorsMarkdown } from "./mutation-summary.js";

const ENGINE = "packages/core/src/engine/";

/** Every engine source file in exactly one chunk (checked by test/mutate-engine.test.ts). */
export const CHUNKS = [
  {
    name: "lifecycle-rows",
    files: ["outbox-pump", "settling", "statuses", "submit"].map((f) => `lifecycle/${f}`),
  },
  {
    name: "lifecycle-operations",
    files: ["operations", "session", "by-id", "backoff"].map((f) => `lifecycle/${f}`),
  },
  {
    name: "lifecycle-startup",
    files: [
      "boot",
      "candidates",
      "credentials",
      "inventory",
      "paging",
      "persistence",
      "refill",
      "resync",
      "stop",
      "tx",
    ].map((f) => `lifecycle/${f}`),
  },
  {
    name: "outbox",
    files: [
      "outbox",
      "queue",
      "inflight",
      "recent",
      "reports",
      "tombstones",
      "finished-ids",
      "durable",
      "pmap",
    ],
  },
  {
    name: "step",
    files: [
      "step",
      "state",
      "events",
      "commands",
      "decode",
      "config",
      "config-input",
      "suggest",
      "prng",
      "assert-never",
    ],
  },
  { name: "log", files: ["log", "log-batch-step", "journal", "journal-index", "json-digest", "invariants"] },
];

export const chunkPaths = (chunk) => chunk.files.map((file) => `${ENGINE}${file}.ts`);

/** The Stryker configuration of one chunk: the project's, narrowed to the chunk's files. */
export const chunkConfig = (base, chunk) => ({
  ...base,
  mutate: chunkPaths(chunk),
  incrementalFile: `reports/engine/${chunk.name}/incremental.json`,
  htmlReporter: { fileName: `reports/engine/${chunk.name}/index.html` },
  jsonReporter: { fileName: `reports/engine/${chunk.name}/mutation.json` },
});

/** One report out of several chunk reports (their files are disjoint). */
export const mergeReports = (reports) => ({
  files: Object.assign({}, ...reports.map((report) => report.files)),
});

const main = () => {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !CHUNKS.some((chunk) => chunk.name === name));
  if (unknown.length > 0) {
    console.error(`unknown chunk ${unknown.join(", ")}; chunks: ${CHUNKS.map((c) => c.name).join(", ")}`);
    process.exit(2);
  }
  const base = JSON.parse(readFileSync("stryker.config.json", "utf8"));
  const stryker = fileURLToPath(new URL("../../node_modules/.bin/stryker", import.meta.url));
  for (const chunk of CHUNKS.filter((c) => asked.length === 0 || asked.includes(c.name))) {
    const configPath = `reports/engine/${chunk.name}/stryker.config.json`;
    mkdirSync(dirname(configPath), { recursive: true });
    writeFileSync(configPath, JSON.stringify(chunkConfig(base, chunk), null, 2));
    console.log(`\n=== chunk ${chunk.name}: ${chunk.files.length} files (${new Date().toISOString()})`);
    const run = spawnSync(stryker, ["run", configPath], { stdio: "inherit" });
    if (run.status !== 0) {
      console.error(`chunk ${chunk.name}: stryker exited with ${run.status ?? run.signal}`);
      process.exit(1);
    }
    const report = JSON.parse(readFileSync(`reports/engine/${chunk.name}/mutation.json`, "utf8"));
    writeFileSync(`reports/engine/${chunk.name}/survivors.md`, survivorsMarkdown(report));
  }
  const present = CHUNKS.filter((chunk) => existsSync(`reports/engine/${chunk.name}/mutation.json`));
  const report = mergeReports(
    present.map((chunk) => JSON.parse(readFileSync(`reports/engine/${chunk.name}/mutation.json`, "utf8"))),
  );
  const engine = summarize(report).groups.find((group) => group.name === "engine");
  console.log(
    `\nengine, chunks measured: ${present.map((c) => c.name).join(", ")} (${present.length} of ${CHUNKS.length})`,
  );
  for (const { path, counts } of engine.files) {
    const value = score(counts);
    console.log(
      `  ${path.replace(ENGINE, "").padEnd(28)} ${value === undefined ? "n/a" : `${value.toFixed(2)}%`}  detected ${counts.detected}, survived ${counts.survived}, no coverage ${counts.noCoverage}`,
    );
  }
  writeFileSync("reports/engine/survivors.md", survivorsMarkdown(report));
  // The goal line only for the whole engine: a part's score says nothing about the rest.
  if (present.length === CHUNKS.length) console.log(goalLine(engine));
  else
    console.log(
      `engine so far (${present.length} of ${CHUNKS.length} chunks): no goal line until every chunk is measured`,
    );
};

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
