/** docs/protocol-coverage.md must agree with the catalogue, row for row. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "@c8ylink/core";

const doc = readFileSync(
  fileURLToPath(new URL("../../../docs/protocol-coverage.md", import.meta.url)),
  "utf8",
);

interface DocRow {
  id: string;
  direction: string;
  topic: string;
  name: string;
  fields: string[];
  status: string;
}

const docRows: DocRow[] = doc
  .split("\n")
  .filter((line) => /^\| \d/.test(line))
  .map((line) => {
    const cells = line
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim());
    const [id = "", direction = "", topic = "", name = "", fields = "", status = ""] = cells;
    return {
      id,
      direction,
      topic: topic.replace(/`/g, ""),
      name,
      fields: fields === "—" ? [] : fields.split(/`, `/).map((f) => f.replace(/`/g, "")),
      status,
    };
  });

const key = (r: { id: string; topic: string }) => `${r.id} on ${r.topic}`;

describe("protocol coverage document", () => {
  it("lists every catalogue template exactly once, with the same direction, name and fields", () => {
    const fromCode = CATALOGUE.map((s) => ({
      key: key(s),
      direction: s.direction,
      name: s.name,
      fields: [...s.fields],
    }));
    const fromDoc = docRows.map((r) => ({
      key: key(r),
      direction: r.direction,
      name: r.name,
      fields: r.fields,
    }));
    expect(fromDoc).toEqual(fromCode);
  });

  it("has no duplicate (id, topic) rows and a known status for each", () => {
    const keys = docRows.map(key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of docRows) expect(["builder + io-ts codec", "io-ts decoder + encoder"]).toContain(r.status);
  });

  it("covers every id the issue requires", () => {
    const ids = (dir: string) => new Set(docRows.filter((r) => r.direction === dir).map((r) => r.id));
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => String(a + i));
    const upstream = [
      "100",
      "101",
      "102",
      "104",
      "105",
      "107",
      ...range(110, 123),
      "125",
      ...range(140, 143),
      "150",
      "200",
      "201",
      ...range(210, 212),
      ...range(301, 307),
      ...range(400, 402),
      "407",
      "408",
      ...range(500, 507),
      "600",
      "602",
    ];
    const downstream = ["106", "124", "510", "511", "513", ...range(515, 532), "601", "603"];
    const control = ["40", "41", "42", "43", "45", "50", "70", "71", "20"];
    for (const id of upstream) expect(ids("upstream"), `upstream ${id}`).toContain(id);
    for (const id of downstream) expect(ids("downstream"), `downstream ${id}`).toContain(id);
    for (const id of control) expect(ids("control"), `control ${id}`).toContain(id);
  });
});
