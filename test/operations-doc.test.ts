/**
 * Issue 12: docs/operations.md stays true. Every JSON example of the page that configures
 * operations is decoded by the codec `c8ylink run` uses (with a state dir, as the page says);
 * the fields the page lists per fragment are the ones the codec accepts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { formatProblems } from "@c8ylink/core";
import { decodeOperations } from "../packages/cli/src/operations/codec.js";
import { fieldsOf, templateProblem } from "../packages/cli/src/operations/fields.js";
import { codeBlocks } from "./support/code-blocks.js";

const doc = readFileSync(fileURLToPath(new URL("../docs/operations.md", import.meta.url)), "utf8");
const examples = codeBlocks(doc, "json")
  .map((text) => JSON.parse(text) as Record<string, unknown>)
  .filter((json) => "operations" in json);

describe("docs/operations.md", () => {
  it("has examples, and each decodes with the agent's codec", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      const decoded = decodeOperations(example.operations, { stateDir: true });
      expect(E.isLeft(decoded) ? formatProblems(decoded.left) : "").toBe("");
    }
  });

  it("lists the fields the codec accepts for each fragment", () => {
    const rows = [...doc.matchAll(/^\| `(c8y_\w+)`\s*\|(.*)\|\s*$/gm)];
    const fieldRows = rows.filter((m) => !m[2]!.includes("required") && fieldsOf(m[1]!).custom === false);
    expect(fieldRows.length).toBeGreaterThanOrEqual(10);
    for (const [, fragment, cell] of fieldRows) {
      const documented = [...cell!.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      const { names } = fieldsOf(fragment!);
      expect(documented.sort(), fragment).toEqual(
        names.filter((n) => !["deviceId", "operationKey", "workDir"].includes(n)).sort(),
      );
      for (const name of documented)
        expect(templateProblem(`{${name}}`, fragment!), fragment).toBeUndefined();
    }
  });
});
