/**
 * Issue 9: docs/configuration.md is the reference of every engine option. Checked against
 * the codec: every option of the codec is documented, every documented option exists,
 * every literal default is the one `decodeConfig` applies, and every integer range is the
 * codec's. The `c8ylink run` config file section is checked against its codec, and
 * `run --help` points to the page.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { describe, expect, it } from "vitest";
import { AUTH_MODE_CODECS, ConfigInputCodec, decodeConfig } from "@c8ylink/core";
import { RUN_HELP } from "../packages/cli/src/commands/run.js";
import { ConfigFileCodec } from "../packages/cli/src/run-config.js";

const doc = readFileSync(fileURLToPath(new URL("../docs/configuration.md", import.meta.url)), "utf8");

/** The table rows of one `## ` section: first cell (a `path`) → the other cells. */
const rowsOf = (heading: string): Map<string, string[]> => {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `section "${heading}"`).toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start + heading.length + 5);
  const section = rest.slice(0, rest.search(/\n## /) === -1 ? undefined : rest.search(/\n## /));
  const rows = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m === null) continue;
    expect(rows.has(m[1]!), `${m[1]} documented twice`).toBe(false);
    rows.set(
      m[1]!,
      m[2]!.split("|").map((c) => c.trim()),
    );
  }
  return rows;
};

interface Leaf {
  readonly path: string;
  readonly codec: t.Mixed;
}

type Strict = t.Mixed & { props: { required: t.Props; optional: t.Props } };
const isStrict = (c: t.Mixed): c is Strict =>
  "props" in c && typeof (c as Strict).props?.required === "object";
const rangeOf = (c: t.Mixed): { min: number; max: number } | undefined =>
  (c as { range?: { min: number; max: number } }).range;

/** Every option path of a codec: objects are opened, lists of objects are listed and opened. */
const leaves = (codec: Strict, prefix = ""): Leaf[] =>
  Object.entries({ ...codec.props.required, ...codec.props.optional }).flatMap(([key, c]): Leaf[] => {
    const path = `${prefix}${key}`;
    if (c.name === "Auth") {
      const modes = Object.values(AUTH_MODE_CODECS).flatMap((m) =>
        leaves(m as unknown as Strict, `${path}.`),
      );
      return [...new Map(modes.map((l) => [l.path, l])).values()];
    }
    if (isStrict(c)) return leaves(c, `${path}.`);
    if (c instanceof t.ReadonlyArrayType && isStrict(c.type as t.Mixed))
      return [{ path, codec: c }, ...leaves(c.type as Strict, `${path}[].`)];
    return [{ path, codec: c }];
  });

const engineLeaves = leaves(ConfigInputCodec as unknown as Strict);
const engineRows = rowsOf("Engine options");

const resolved = (input: unknown) => {
  const result = decodeConfig(input);
  if (E.isLeft(result)) throw new Error(JSON.stringify(result.left));
  return result.right as unknown as Record<string, unknown>;
};
const minimal = resolved({ deviceId: "d1", auth: { mode: "bootstrap", bootstrapPassword: "x" } });
const withChild = resolved({ deviceId: "d1", auth: { mode: "certificate" }, children: [{ id: "c1" }] });

/** Where the engine keeps the resolved value of a documented option. */
const resolvedValue = (path: string): unknown => {
  const aliases: Record<string, string> = {
    "device.name": "deviceName",
    "device.type": "deviceType",
    "auth.bootstrapTenant": "auth.tenant",
    "auth.bootstrapUser": "auth.user",
  };
  const source = path.includes("[]") ? withChild : minimal;
  const real = (aliases[path] ?? path).replace("[]", ".0");
  return real.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], source);
};

describe("docs/configuration.md, engine options", () => {
  it("documents every option of the codec", () => {
    const missing = engineLeaves.map((l) => l.path).filter((p) => !engineRows.has(p));
    expect(missing).toEqual([]);
    expect(engineLeaves.length).toBeGreaterThan(50);
  });

  it("documents no option the codec does not have", () => {
    const known = new Set(engineLeaves.map((l) => l.path));
    expect([...engineRows.keys()].filter((p) => !known.has(p))).toEqual([]);
  });

  it("states the defaults the engine applies", () => {
    let checked = 0;
    for (const [path, cells] of engineRows) {
      const literal = /^`([^`]+)`$/.exec(cells[1] ?? "");
      if (literal === null) continue;
      expect(resolvedValue(path), path).toEqual(JSON.parse(literal[1]!));
      checked++;
    }
    expect(checked).toBeGreaterThan(30);
  });

  it("states the range of every integer option", () => {
    for (const leaf of engineLeaves) {
      const range = rangeOf(leaf.codec);
      if (range === undefined) continue;
      expect(engineRows.get(leaf.path)?.[0], leaf.path).toContain(`integer in [${range.min}, ${range.max}]`);
    }
  });

  it("gives every option a unit and a reason to change it", () => {
    for (const [path, cells] of engineRows) {
      expect(cells, path).toHaveLength(4);
      expect(cells[2], `${path} unit`).not.toBe("");
      expect((cells[3] ?? "").length, `${path} reason`).toBeGreaterThan(5);
    }
  });
});

describe("docs/configuration.md, the c8ylink run config file", () => {
  it("documents exactly the keys of the config file codec", () => {
    const rows = rowsOf("The `c8ylink run` config file");
    const keys = leaves(ConfigFileCodec as unknown as Strict).map((l) => l.path);
    expect([...rows.keys()].sort()).toEqual(keys.sort());
  });

  it("is where run --help points", () => {
    expect(RUN_HELP).toContain("docs/configuration.md");
  });
});
