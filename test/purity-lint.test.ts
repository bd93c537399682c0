/**
 * The core must stay pure. This proves the lint rule that guards it actually fires, one
 * forbidden construct at a time, and that the real core source passes it.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { scriptEnded, WAIT_FOR_SCRIPT_MS } from "./support/script-ended.js";

// The cache `npm run lint` writes (package.json): the real sources it has just linted unchanged
// are not linted a second time here; a changed file or configuration is linted again.
const eslint = new ESLint({
  cwd: resolve(fileURLToPath(new URL("..", import.meta.url))),
  cache: true,
  cacheLocation: "node_modules/.cache/c8ylink/eslint/",
});

const errorsFor = async (code: string, filePath: string): Promise<string[]> => {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => m.ruleId ?? m.message);
};

const forbidden: Record<string, string> = {
  "Date.now()": "export const f = () => Date.now();",
  "new Date()": "export const f = () => new Date();",
  "Math.random()": "export const f = () => Math.random();",
  setTimeout: "export const f = () => setTimeout(() => 1, 5);",
  setInterval: "export const f = () => setInterval(() => 1, 5);",
  "performance.now()": "export const f = () => performance.now();",
  "process.env": "export const f = () => process.env;",
  "node:fs import": 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;',
  "fs import": 'import { readFileSync } from "fs";\nexport const f = readFileSync;',
  "mqtt import": 'import mqtt from "mqtt";\nexport const f = mqtt;',
  "child_process import": 'import { exec } from "child_process";\nexport const f = exec;',
};

describe("purity lint rule for packages/core/src", () => {
  for (const [name, code] of Object.entries(forbidden)) {
    it(`refuses ${name}`, async () => {
      expect(await errorsFor(code, "packages/core/src/engine/example.ts")).not.toEqual([]);
    });
  }

  it("allows the same code outside the core (interpreters may do I/O)", async () => {
    expect(await errorsFor(forbidden["Date.now()"]!, "packages/mqtt/src/example.ts")).toEqual([]);
  });

  it(
    "passes on the real core sources",
    async () => {
      // In `npm test` ESLint runs beside the tests: its cache is complete once it has ended.
      await scriptEnded("lint:code", WAIT_FOR_SCRIPT_MS);
      const results = await eslint.lintFiles(["packages/core/src/**/*.ts"]);
      const errors = results.flatMap((r) =>
        r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath}: ${m.message}`),
      );
      expect(errors).toEqual([]);
    },
    WAIT_FOR_SCRIPT_MS,
  );
});
