/**
 * The building blocks of the upstream template table: field descriptors (scalar kinds with
 * their io-ts codec, validation and column encoding; required, optional, repeated and grouped
 * fields) and the wire formats they rely on (plain decimal numbers, strict ISO timestamps).
 * See upstream.ts for the decisions behind them.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { invalidTextReason } from "./text.js";

// ---------------------------------------------------------------------------------------------
// Field descriptors
// ---------------------------------------------------------------------------------------------

/** A refused value: where (`series[2].value`) and why. `encodeUpstream` adds the template id. */
export interface Problem {
  readonly field: string;
  readonly reason: string;
}

/** One encoded column. `keep` protects an empty column from trailing trimming (140's clear form). */
export interface Cell {
  readonly text: string;
  readonly keep: boolean;
}

/** A scalar value kind: its JSON codec and how a value becomes one column (or why it cannot). */
export interface Kind<A> {
  readonly codec: t.Type<A, A, unknown>;
  readonly format: (value: A) => E.Either<string, string>;
}

/**
 * One property of a message (or of a repeating-group item): codec, catalogue label and encoder.
 * `A` is phantom — it only carries the property's TypeScript type into `MessageOf`.
 */
export interface Field<A, Optional extends boolean> {
  readonly optional: Optional;
  readonly codec: t.Mixed;
  /** How the field is written in `TemplateSpec.fields`, given its property name. */
  readonly label: (key: string) => string;
  /** Columns for `value`; `value` is `unknown` so values that bypassed the codec are refused, not trusted. */
  readonly encode: (value: unknown, field: string) => E.Either<Problem, readonly Cell[]>;
  readonly _type?: A;
}

export type Fields = Readonly<Record<string, Field<unknown, boolean>>>;

export type ValueOf<F> = F extends Field<infer A, boolean> ? A : never;
export type RequiredKeys<F> = { [K in keyof F]: F[K] extends Field<unknown, false> ? K : never }[keyof F];
export type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The object type described by a record of fields. Optional properties also accept `undefined`. */
export type ObjectOf<F> = Flatten<
  { readonly [K in RequiredKeys<F>]: ValueOf<F[K]> } & {
    readonly [K in Exclude<keyof F, RequiredKeys<F>>]?: ValueOf<F[K]> | undefined;
  }
>;

export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

export const refuse = (field: string, reason: string): E.Either<Problem, never> => E.left({ field, reason });
export const cell = (text: string): Cell => ({ text, keep: false });
/** `push` one by one: `push(...cells)` hits the engine's argument limit on very long lists (a throw). */
export const append = (target: Cell[], cells: readonly Cell[]): void => {
  for (const c of cells) target.push(c);
};

// --- scalar kinds ---------------------------------------------------------------------------

export const text: Kind<string> = {
  codec: t.string,
  format: (s) => {
    const why = invalidTextReason(s);
    return why === undefined ? E.right(s) : E.left(why);
  },
};

/** Any finite Number (spec "Number"). */
export const decimal: Kind<number> = {
  codec: t.number,
  format: (n) => (Number.isFinite(n) ? E.right(plainDecimal(n)) : E.left(`${n} is not a finite number`)),
};

/** Spec "Integer"; limited to the safe range so the written digits are exact. */
export const integer: Kind<number> = {
  codec: t.number,
  format: (n) => {
    const formatted = decimal.format(n);
    if (E.isLeft(formatted)) return formatted;
    return Number.isSafeInteger(n) ? formatted : E.left(`${n} is not an integer (within ±2^53-1)`);
  },
};

export const boolean: Kind<boolean> = { codec: t.boolean, format: (b) => E.right(b ? "true" : "false") };

/** ISO-8601 date-time string, validated without `Date` (see header). */
export const timestamp: Kind<string> = {
  codec: t.string,
  format: (s) =>
    isIsoTimestamp(s) ? E.right(s) : E.left(`${JSON.stringify(s)} is not an ISO-8601 timestamp`),
};

/** A string enum; membership is the codec's `is`, which `scalar` runs before `format`. */
export const oneOf = <L extends string>(...values: readonly [L, ...L[]]): Kind<L> => ({
  codec: t.keyof(Object.fromEntries(values.map((v) => [v, null]))) as unknown as t.Type<L, L, unknown>,
  format: E.right,
});

/**
 * Runs the codec's type test before `format`, so a wrongly typed value is a Left, never a crash.
 * (Written without combinators: this is the per-field hot path of every submission.)
 */
export const scalar = <A>(kind: Kind<A>, value: unknown, field: string): E.Either<Problem, string> => {
  if (!kind.codec.is(value)) {
    return refuse(field, `expected ${kind.codec.name}, got ${value === null ? "null" : typeof value}`);
  }
  const formatted = kind.format(value);
  return E.isLeft(formatted) ? refuse(field, formatted.left) : formatted;
};

// --- field constructors ---------------------------------------------------------------------

/** Mandatory scalar ("M" in the spec): present and, once written, non-empty. */
export const req = <A>(kind: Kind<A>): Field<A, false> => ({
  optional: false,
  codec: kind.codec,
  label: (key) => key,
  encode: (value, field) => {
    if (value === undefined) return refuse(field, "missing mandatory field");
    const s = scalar(kind, value, field);
    if (E.isLeft(s)) return s;
    return s.right === "" ? refuse(field, "mandatory field must not be empty") : E.right([cell(s.right)]);
  },
});

/** Optional scalar: absent is written as an empty column (dropped again if trailing). */
export const opt = <A>(kind: Kind<A>): Field<A, true> => ({
  optional: true,
  codec: kind.codec,
  label: (key) => key,
  encode: (value, field) => {
    if (value === undefined) return E.right([cell("")]);
    const s = scalar(kind, value, field);
    return E.isLeft(s) ? s : E.right([cell(s.right)]);
  },
});

/** `O` is inferred from `optional` only (`NoInfer` on the results keeps the `Fields` context out). */
export interface RepeatOptions<O extends boolean> {
  /** Minimum number of entries ("1…" in the spec means 1). */
  readonly min: number;
  /** Whether the whole property may be absent (then it writes nothing). */
  readonly optional?: O;
}

/** Shared body of `list` and `group`: array check, minimum size, per-entry encoding. */
export const repeat =
  (
    min: number,
    optional: boolean,
    entry: (value: unknown, field: string) => E.Either<Problem, readonly Cell[]>,
    whenEmpty: readonly Cell[] = [],
  ) =>
  (value: unknown, field: string): E.Either<Problem, readonly Cell[]> => {
    if (value === undefined) return optional ? E.right([]) : refuse(field, "missing mandatory field");
    if (!Array.isArray(value)) return refuse(field, `expected an array, got ${typeof value}`);
    if (value.length < min) return refuse(field, `needs at least ${min} entr${min === 1 ? "y" : "ies"}`);
    if (value.length === 0) return E.right(whenEmpty);
    const cells: Cell[] = [];
    for (const [i, item] of value.entries()) {
      const encoded = entry(item, `${field}[${i}]`);
      if (E.isLeft(encoded)) return encoded;
      append(cells, encoded.right);
    }
    return E.right(cells);
  };

/** A trailing list of scalars, e.g. 107's fragment names; catalogued as `(label)*`. */
export const list = <A, O extends boolean = false>(
  itemLabel: string,
  item: Field<A, boolean>,
  options: RepeatOptions<O>,
): Field<readonly A[], NoInfer<O>> => ({
  optional: (options.optional ?? false) as O,
  codec: t.readonlyArray(item.codec),
  label: () => `(${itemLabel})*`,
  encode: repeat(options.min, options.optional ?? false, item.encode),
});

/** A repeating group of objects, e.g. 116's `(name, version, url)*`. */
export const group = <F extends Fields, O extends boolean = false>(
  fields: F,
  options: RepeatOptions<O> & {
    /** Write an empty list as one blank entry (kept, not trimmed) — 140's documented clear form. */
    readonly emptyAsBlankEntry?: boolean;
  },
): Field<readonly ObjectOf<F>[], NoInfer<O>> => ({
  optional: (options.optional ?? false) as O,
  codec: t.readonlyArray(objectCodec(fields)),
  label: () => `(${Object.keys(fields).join(", ")})*`,
  encode: repeat(
    options.min,
    options.optional ?? false,
    (item, field) =>
      isRecord(item) ? encodeFields(fields, item, `${field}.`) : refuse(field, "expected an object"),
    options.emptyAsBlankEntry === true ? Object.keys(fields).map(() => ({ text: "", keep: true })) : [],
  ),
});

/** Exact io-ts codec for an object described by `fields` (unknown properties are stripped). */
export const objectCodec = (fields: Fields, base: t.Props = {}, name?: string): t.Mixed => {
  const required: Record<string, t.Mixed> = { ...base };
  const optional: Record<string, t.Mixed> = {};
  for (const [key, field] of Object.entries(fields))
    (field.optional ? optional : required)[key] = field.codec;
  return t.exact(t.intersection([t.type(required), t.partial(optional)]), name);
};

/** Columns of all `fields` of `value`, in declaration order (= wire order); first problem wins. */
export const encodeFields = (
  fields: Fields,
  value: Readonly<Record<string, unknown>>,
  prefix: string,
): E.Either<Problem, readonly Cell[]> => {
  const cells: Cell[] = [];
  for (const key in fields) {
    const field = fields[key]!;
    const encoded = field.encode(value[key], prefix + key);
    if (E.isLeft(encoded)) return encoded;
    append(cells, encoded.right);
  }
  return E.right(cells);
};

// --- wire formats ---------------------------------------------------------------------------

/**
 * `n` (finite) in plain decimal notation. JavaScript already prints the shortest round-trip
 * digits; only its exponent forms (|n| ≥ 1e21 or < 1e-6) are expanded here.
 */
export const plainDecimal = (n: number): string => {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const [, sign = "", lead = "", rest = "", exponent = "0"] = m;
  const digits = lead + rest;
  const point = 1 + Number(exponent); // position of the decimal point within `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
};

export const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

/** Strict ISO-8601 date-time with a real calendar date (leap years included); seconds required. */
export const isIsoTimestamp = (s: string): boolean => {
  const m = ISO_TIMESTAMP.exec(s);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return daysInMonth !== undefined && day >= 1 && day <= daysInMonth;
};
