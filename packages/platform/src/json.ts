/**
 * JSON-compatible data and safe record access.
 *
 * The platform state must stay plain serialisable data, and many record keys come straight from
 * devices (external ids, fragment names, X-IDs). A key such as `__proto__` must therefore never
 * be read with `rec[key]` (it would return Object.prototype) nor written with `rec[key] = v`
 * (it would replace the prototype). Every keyed access goes through `lookup` / `assoc` / `dissoc`,
 * which only ever see own properties.
 */

export type Json = null | boolean | number | string | readonly Json[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: Json;
}

export const isJsonObject = (u: unknown): u is JsonObject =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** Own property `key` of `rec`, or undefined. */
export const lookup = <V>(rec: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;

/** A copy of `rec` with `key` set (computed keys in literals define own properties, even `__proto__`). */
export const assoc = <V>(rec: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> => ({
  ...rec,
  [key]: value,
});

/** A copy of `rec` without `key`. */
export const dissoc = <V>(rec: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const copy: Record<string, V> = {};
  for (const k of Object.keys(rec)) if (k !== key) Object.defineProperty(copy, k, own(rec[k]));
  return copy;
};

const own = (value: unknown): PropertyDescriptor => ({
  value,
  enumerable: true,
  writable: true,
  configurable: true,
});

/**
 * Arbitrary input (admin fragments) as JSON: non-finite numbers become null, -0 becomes 0, functions, symbols
 * and `undefined` members are dropped, anything nested deeper than `depth` becomes null (also
 * what breaks cycles). Never throws.
 */
export const toJson = (u: unknown, depth = 32): Json | undefined => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return u;
    case "number":
      // -0 would not survive JSON (it reads back as 0): the state must stay plain JSON.
      return Number.isFinite(u) ? (Object.is(u, -0) ? 0 : u) : null;
    case "object": {
      if (u === null) return null;
      if (depth <= 0) return null;
      if (Array.isArray(u)) return u.map((item: unknown) => toJson(item, depth - 1) ?? null);
      const out: Record<string, Json> = {};
      for (const key of Object.keys(u)) {
        const value = toJson((u as Record<string, unknown>)[key], depth - 1);
        if (value !== undefined) Object.defineProperty(out, key, own(value));
      }
      return out;
    }
    default:
      return undefined;
  }
};

/** The members of `fields` that are defined (an empty SmartREST field means "not set"). */
export const definedOnly = (fields: Readonly<Record<string, Json | undefined>>): JsonObject =>
  Object.entries(fields).reduce<JsonObject>((acc, [k, v]) => (v === undefined ? acc : assoc(acc, k, v)), {});

/** A decimal number as SmartREST writes it (unambiguous, so matching stays linear). */
export const isDecimalText = (s: string): boolean =>
  /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(s);

// ---------------------------------------------------------------------------------------------
// Dotted paths (`c8y_MyMeasurement.M.value`), as used by SmartREST 2.0 request templates

/** Splits a JsonPath-ish property path; a leading `$.` or `$` is ignored. */
export const pathSegments = (path: string): string[] =>
  path
    .replace(/^\$\.?/, "")
    .split(".")
    .filter((s) => s !== "");

/** `obj` with the value at `segments` set, creating intermediate objects (non-objects are replaced). */
export const setPath = (obj: JsonObject, segments: readonly string[], value: Json): JsonObject => {
  const [head, ...rest] = segments;
  if (head === undefined) return obj;
  if (rest.length === 0) return assoc(obj, head, value);
  const child = lookup(obj, head);
  return assoc(obj, head, setPath(isJsonObject(child) ? child : {}, rest, value));
};

/** Value at `segments`, or undefined. */
export const getPath = (value: Json, segments: readonly string[]): Json | undefined => {
  let current: Json | undefined = value;
  for (const segment of segments) {
    if (!isJsonObject(current)) return undefined;
    current = lookup(current, segment);
  }
  return current;
};

// ---------------------------------------------------------------------------------------------
// Response-template paths (spec §6.3): dotted paths with optional `[*]` / `[n]` per segment

/**
 * Every value `path` selects in `root`: `a.b` walks objects, `list[*]` fans out over an array,
 * `list[2]` picks one element. An unresolved path selects nothing.
 */
export const selectPath = (root: Json, path: string): Json[] => {
  let current: Json[] = [root];
  for (const segment of pathSegments(path)) {
    const m = /^([^[\]]*)((?:\[(?:\*|\d+)\])*)$/.exec(segment);
    if (m === null) return [];
    const [, name = "", indexes = ""] = m;
    current = current.flatMap((v) => {
      if (name === "") return [v];
      if (!isJsonObject(v)) return [];
      const next = lookup(v, name);
      return next === undefined ? [] : [next];
    });
    for (const index of indexes.match(/\[(\*|\d+)\]/g) ?? []) {
      const inner = index.slice(1, -1);
      current = current.flatMap((v) => {
        if (!Array.isArray(v)) return [];
        const list = v as readonly Json[];
        if (inner === "*") return [...list];
        const picked = list[Number(inner)];
        return picked === undefined ? [] : [picked];
      });
    }
  }
  return current;
};

/** A selected value as one CSV field: strings verbatim, objects and arrays as JSON. */
export const jsonText = (value: Json): string => {
  if (typeof value === "string") return value;
  if (value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
};
