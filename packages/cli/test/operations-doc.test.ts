/**
 * docs/operations.md stays true for the built-in handlers: every JSON example of its
 * "Configuration files, log files, software, device profiles" section is a config file that
 * `c8ylink run` accepts (strict decoding, the tenant's HTTP URL resolved) and that enables the
 * handlers it shows.
 */
import { rmSync, writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readConfigFile } from "../src/run-config.js";
import { builtinFragments, builtinHttpUrl, createBuiltins } from "../src/operations/builtin/index.js";
import { createHttpTransfer } from "../src/transfer/http-transfer.js";
import { tmp } from "./process-support.js";

const doc = readFileSync(fileURLToPath(new URL("../../../docs/operations.md", import.meta.url)), "utf8");
const HEADING = "## Configuration files, log files, software, device profiles";

const section = (): string => {
  const start = doc.indexOf(`\n${HEADING}\n`);
  expect(start, HEADING).toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start + HEADING.length + 2);
  const next = rest.search(/\n## /);
  return next === -1 ? rest : rest.slice(0, next);
};

const examples = (): string[] => [...section().matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

const dir = tmp();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/operations.md, built-in handlers", () => {
  it("has an example for http, configuration, logs, software and device profiles", () => {
    const all = examples().map((e) => JSON.parse(e) as Record<string, unknown>);
    for (const key of ["http", "configuration", "logs", "software", "deviceProfile"])
      expect(
        all.some((e) => key in e),
        key,
      ).toBe(true);
  });

  it("every example is a config file c8ylink run accepts, enabling the handlers it shows", async () => {
    const texts = examples();
    expect(texts.length).toBeGreaterThanOrEqual(5);
    for (const [i, text] of texts.entries()) {
      const path = join(dir, `example-${i}.json`);
      writeFileSync(path, text);
      const config = readConfigFile(path);
      const http = builtinHttpUrl(config, config.url ?? "");
      expect(http, text).toBeDefined();
      expect(http !== undefined && "url" in http, text).toBe(true);
      if (http === undefined || !("url" in http)) continue;
      const fragments = builtinFragments(config);
      expect(fragments.length, text).toBeGreaterThan(0);
      const built = await createBuiltins(config, {
        deviceId: "doc-device",
        transfer: createHttpTransfer({ tenantUrl: http.url, credentials: () => undefined }),
        submit: () => undefined,
        stateDir: join(dir, `state-${i}`),
        lookup: () => undefined,
      });
      expect([...built.handlers.keys()].sort(), text).toEqual([...fragments].sort());
    }
  });
});
