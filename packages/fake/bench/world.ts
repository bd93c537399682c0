/**
 * `npm run bench:world` — does the in-memory world scale linearly with devices?
 *
 * Runs the same seeded world (seed 1, default faults and durations, as `npm run simulate --
 * --seed 1 --runs 1 --devices D`) with 100 and with 1,000 devices, alternating, and compares
 * the best of the rounds (other jobs on a shared machine only ever add time). Each device
 * sends about as much as in the small world, so linear scaling is a time ratio of 10 (goal
 * ≤ 12). Time is this process's CPU time (user + system) of the run: other processes stretch
 * the wall time far more than the CPU time; the wall time is printed too. Figures are written into docs/benchmarks.md between the bench:world markers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { runWorld } from "../src/world.js";

interface Timing {
  readonly devices: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly messages: number;
  readonly ok: boolean;
}

const timeWorld = (devices: number): Timing => {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  const report = runWorld({ seed: 1, devices });
  const used = process.cpuUsage(cpu);
  return {
    devices,
    cpuMs: (used.user + used.system) / 1000,
    wallMs: Number(process.hrtime.bigint() - wall) / 1e6,
    messages: report.messages.accepted,
    ok: report.ok,
  };
};

const best = (values: readonly number[]): number => Math.min(...values);

const main = (): void => {
  const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3);
  const small = 100;
  const big = 1000;
  console.log(
    `node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}, ${rounds} rounds`,
  );
  timeWorld(small); // warm-up: JIT and module loading stay out of the figures
  const runs: Timing[] = [];
  for (let r = 0; r < rounds; r++)
    for (const devices of [small, big]) {
      const t = timeWorld(devices);
      runs.push(t);
      console.log(
        `round ${r + 1}: ${devices} devices: ${t.messages} messages, cpu ${(t.cpuMs / 1000).toFixed(2)} s, wall ${(t.wallMs / 1000).toFixed(2)} s${t.ok ? "" : " (world NOT ok)"}`,
      );
    }
  const of = (devices: number) => runs.filter((t) => t.devices === devices);
  const cpu = (devices: number) => best(of(devices).map((t) => t.cpuMs));
  const wall = (devices: number) => best(of(devices).map((t) => t.wallMs));
  const messages = (devices: number) => of(devices)[0]?.messages ?? 0;
  const ratio = cpu(big) / cpu(small);
  const wallRatio = wall(big) / wall(small);
  const perMessage = (devices: number) => (1000 * cpu(devices)) / Math.max(1, messages(devices));
  console.log(
    `${small} devices: ${(cpu(small) / 1000).toFixed(2)} s cpu (${perMessage(small).toFixed(0)} µs per message); ` +
      `${big} devices: ${(cpu(big) / 1000).toFixed(2)} s cpu (${perMessage(big).toFixed(0)} µs per message); wall ratio ${wallRatio.toFixed(1)}`,
  );
  console.log(`goal world-1000-vs-100: ${ratio.toFixed(1)} (target <= 12) ${ratio <= 12 ? "ok" : "short"}`);

  const row = (devices: number) =>
    `| ${devices.toLocaleString("en")} devices | ${messages(devices).toLocaleString("en")} | ${(cpu(devices) / 1000).toFixed(2)} s | ${(wall(devices) / 1000).toFixed(2)} s | ${perMessage(devices).toFixed(0)} µs |`;
  const section = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores, shared with other jobs), Node ${process.version}; best of ${rounds} alternating rounds; \`npm run bench:world\`.`,
    "",
    "| world (seed 1) | messages | CPU time | wall time | CPU per message |",
    "|---|---|---|---|---|",
    row(small),
    row(big),
    `| **ratio ${big.toLocaleString("en")} / ${small.toLocaleString("en")}** (goal ≤ 12; linear = 10) | | **${ratio.toFixed(1)}** | ${wallRatio.toFixed(1)} | |`,
  ].join("\n");
  const docPath = fileURLToPath(new URL("../../../docs/benchmarks.md", import.meta.url));
  const doc = readFileSync(docPath, "utf8");
  const start = "<!-- bench:world:start -->";
  const end = "<!-- bench:world:end -->";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) {
    writeFileSync(docPath, `${doc.slice(0, i + start.length)}\n${section}\n${doc.slice(j)}`);
    console.log(`written to ${docPath}`);
  } else console.log(`markers ${start} / ${end} not found in ${docPath}: figures not written`);
};

main();
