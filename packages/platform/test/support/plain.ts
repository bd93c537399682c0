/**
 * A platform state (or any part) as plain data: persistent collections become arrays and
 * records, recursively. What `JSON.parse(JSON.stringify(x))` must give back when the state is
 * JSON-safe (no NaN, no -0, no undefined members).
 */
import { PMap, PVec } from "../../src/index.js";

export const plain = (value: unknown): unknown => {
  if (value instanceof PVec) return value.toArray().map(plain);
  if (value instanceof PMap) return plainRecord(value.toRecord());
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return plainRecord(value as Record<string, unknown>);
  return value;
};

const plainRecord = (record: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record))
    Object.defineProperty(out, key, {
      value: plain(record[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
};
