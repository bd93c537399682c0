/**
 * Upstream static rows → typed `UpstreamMessage`s (the platform's reading of spec §4.1–4.7).
 *
 * The core only encodes upstream messages, so the platform reads them here, with as little of
 * its own knowledge as possible:
 * - field order and repeating groups come from the core catalogue (`UPSTREAM_SPECS`: scalar
 *   labels are the message properties, `(a, b)*` is a trailing group, `(x)*` a trailing list);
 * - what the catalogue does not say is declared below: which properties are numbers or booleans,
 *   and the property name of each template's repeating field;
 * - semantic validation (mandatory, finite, integer, ISO timestamps, list sizes, text policy) is
 *   the core's `encodeUpstream`, run on the decoded message. Its refusal becomes `45`.
 *
 * Reading rules: an empty field means "absent" (spec §4: empty = not set, trailing empties may
 * be dropped); non-empty fields beyond a fixed-arity template are "Wrong number of arguments";
 * a trailing group may be short (its missing trailing fields are empty); all-empty group entries
 * (e.g. 140's clear form `140,,,,`) and empty list entries (spec §4.1 143/150: "empty elements
 * ignored") are skipped — except the free parameters of 503/506, whose positions matter
 * (relay states), where only trailing empties are dropped.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  encodeUpstream,
  UPSTREAM_SPECS,
  type Row,
  type TemplateSpec,
  type UpstreamMessage,
} from "@c8ylink/core";
import { isDecimalText } from "./json.js";
import { ErrorCode, NO_STATIC_TEMPLATE, rowError, WRONG_ARGUMENT_COUNT, type RowError } from "./errors.js";

const LOCATION = ["latitude", "longitude", "altitude", "accuracy"];

/** Properties whose column is a Number, per template (the catalogue lists names only). */
const NUMBERS: Readonly<Record<string, readonly string[]>> = {
  "112": LOCATION,
  "117": ["interval"],
  "200": ["value"],
  "201": ["value"],
  "210": ["rssi", "ber"],
  "211": ["temperature"],
  "212": ["battery"],
  "401": LOCATION,
  "402": LOCATION,
};

/** Properties whose column is a Boolean, per template. */
const BOOLEANS: Readonly<Record<string, readonly string[]>> = {
  "101": ["isDevice"],
  "121": ["executed"],
  "408": ["changeDetect"],
};

/** 101's device marker: "`true`/omitted/any non-boolean → c8y_IsDevice added" (spec §4.1). */
const LENIENT_BOOLEANS: ReadonlySet<string> = new Set(["101.isDevice"]);

/** Property name of each template's trailing repeating field. */
const REPEATING: Readonly<Record<string, string>> = {
  "107": "fragments",
  "114": "operations",
  "116": "software",
  "118": "logTypes",
  "119": "configTypes",
  "140": "software",
  "141": "software",
  "142": "software",
  "143": "softwareTypes",
  "150": "protocols",
  "201": "series",
  "307": "fragments",
  "407": "fragments",
  "408": "parameters",
  "503": "parameters",
  "506": "parameters",
};

/** Lists whose empty entries are meaningful positions (only trailing ones are dropped). */
const POSITIONAL_LISTS: ReadonlySet<string> = new Set(["503", "506"]);

interface Shape {
  readonly id: string;
  readonly scalars: readonly string[];
  readonly repeat?: { readonly key: string; readonly fields: readonly string[]; readonly isList: boolean };
}

const shapeOf = (spec: TemplateSpec): Shape => {
  const scalars = spec.fields.filter((f) => !f.startsWith("("));
  const repeating = spec.fields.find((f) => f.startsWith("("));
  if (repeating === undefined) return { id: spec.id, scalars };
  const fields = repeating.replace(/^\(|\)\*$/g, "").split(", ");
  const key = REPEATING[spec.id] ?? "items";
  return { id: spec.id, scalars, repeat: { key, fields, isList: fields.length === 1 } };
};

const SHAPES: ReadonlyMap<string, Shape> = new Map(UPSTREAM_SPECS.map((spec) => [spec.id, shapeOf(spec)]));

/** Template ids this reader knows (every upstream static template of the core catalogue). */
export const STATIC_UPSTREAM_IDS: readonly string[] = [...SHAPES.keys()];

/** One column as the property value; "" is absent. */
const column = (id: string, key: string, raw: string): E.Either<string, unknown> => {
  if (raw === "") return E.right(undefined);
  if (NUMBERS[id]?.includes(key) === true) {
    return isDecimalText(raw) ? E.right(Number(raw)) : E.left(`Value is not a NUMBER: ${raw}`);
  }
  if (BOOLEANS[id]?.includes(key) === true) {
    const lower = raw.toLowerCase();
    if (lower === "true" || lower === "false") return E.right(lower === "true");
    return LENIENT_BOOLEANS.has(`${id}.${key}`)
      ? E.right(undefined)
      : E.left(`Value is not a BOOLEAN: ${raw}`);
  }
  return E.right(raw);
};

/** Properties of `keys` read from `values` (missing values are empty); undefined ones are omitted. */
const readObject = (
  id: string,
  keys: readonly string[],
  values: readonly string[],
): E.Either<string, Record<string, unknown>> => {
  const out: Record<string, unknown> = {};
  for (const [i, key] of keys.entries()) {
    const value = column(id, key, values[i] ?? "");
    if (E.isLeft(value)) return value;
    if (value.right !== undefined) out[key] = value.right;
  }
  return E.right(out);
};

const dropTrailingEmpty = (fields: readonly string[]): readonly string[] => {
  let end = fields.length;
  while (end > 0 && fields[end - 1] === "") end--;
  return fields.slice(0, end);
};

const readRepeat = (
  id: string,
  repeat: NonNullable<Shape["repeat"]>,
  fields: readonly string[],
): E.Either<string, unknown[]> => {
  if (repeat.isList) {
    const items = POSITIONAL_LISTS.has(id) ? dropTrailingEmpty(fields) : fields.filter((f) => f !== "");
    return E.right([...items]);
  }
  const size = repeat.fields.length;
  const items: unknown[] = [];
  for (let i = 0; i < fields.length; i += size) {
    const chunk = fields.slice(i, i + size);
    if (chunk.every((f) => f === "")) continue;
    const item = readObject(id, repeat.fields, chunk);
    if (E.isLeft(item)) return item;
    items.push(item.right);
  }
  return E.right(items);
};

/**
 * Reads one row. Left: `40` for an unknown template id, `45` (reference = template id) when the
 * row does not fit its template.
 */
export const readStaticRow = (row: Row): E.Either<RowError, UpstreamMessage> => {
  const id = row[0] ?? "";
  const shape = SHAPES.get(id);
  if (shape === undefined) return E.left(rowError(ErrorCode.unknownTemplate, id, NO_STATIC_TEMPLATE));
  const invalid = (text: string) => E.left(rowError(ErrorCode.invalidArguments, id, text));
  const fields = row.slice(1);
  const scalarValues = fields.slice(0, shape.scalars.length);
  const rest = fields.slice(shape.scalars.length);
  if (shape.repeat === undefined && rest.some((f) => f !== "")) return invalid(WRONG_ARGUMENT_COUNT);
  const scalars = readObject(id, shape.scalars, scalarValues);
  if (E.isLeft(scalars)) return invalid(scalars.left);
  const message: Record<string, unknown> = { template: id, ...scalars.right };
  if (shape.repeat !== undefined) {
    const items = readRepeat(id, shape.repeat, rest);
    if (E.isLeft(items)) return invalid(items.left);
    message[shape.repeat.key] = items.right;
  }
  // The core's encoder is the single source of the templates' semantic rules.
  const checked = encodeUpstream(message as UpstreamMessage);
  if (E.isLeft(checked)) {
    const { field, reason } = checked.left;
    return invalid(
      reason === "missing mandatory field" ? `Missing mandatory value: ${field}` : `${field}: ${reason}`,
    );
  }
  return E.right(message as UpstreamMessage);
};
