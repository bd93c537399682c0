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

/**
 * Where the field encoders write a message's columns, in wire order: one array per message,
 * no object per column or per field (this is the per-row hot path of every submission).
 */
export interface Columns {
  readonly texts: string[];
  /** Columns before this index are never trimmed (140's clear form writes a kept blank entry). */
  kept: number;
}

/** A scalar value kind: its JSON codec and how a value becomes one column (or why it cannot). */
export interface Kind<A> {
  readonly codec: t.Type<A, A, unknown>;
  /** Why a value of the codec's type cannot be written, or undefined. */
  readonly invalid: (value: A) => string | undefined;
  /** The column of a value `invalid` accepted. */
  readonly column: (value: A) => string;
  /** `invalid` and `column` as one result. */
  readonly format: (value: A) => E.Either<string, string>;
}

const kind = <A>(
  codec: t.Type<A, A, unknown>,
  invalid: (value: A) => string | undefined,
  column: (value: A) => string,
): Kind<A> => ({
  codec,
  invalid,
  column,
  format: (value) => {
    const why = invalid(value);
    return why === undefined ? E.right(column(value)) : E.left(why);
  },
});

/**
 * One property of a message (or of a repeating-group item): codec, catalogue label and encoder.
 * `A` is phantom — it only carries the property's TypeScript type into `MessageOf`.
 */
export interface Field<A, Optional extends boolean> {
  readonly optional: Optional;
  readonly codec: t.Mixed;
  /** How the field is written in `TemplateSpec.fields`, given its property name. */
  readonly label: (key: string) => string;
  /**
   * Appends the columns of `value` to `out`, or returns why it cannot (then `out` is garbage);
   * `value` is `unknown` so values that bypassed the codec are refused, not trusted.
   */
  readonly write: (value: unknown, field: string, out: Columns) => Problem | undefined;
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

export const problem = (field: string, reason: string): Problem => ({ field, reason });
export const refuse = (field: string, reason: string): E.Either<Problem, never> =>
  E.left(problem(field, reason));

// --- scalar kinds ---------------------------------------------------------------------------

const same = <A>(value: A): A => value;
const valid = (): undefined => undefined;

export const text: Kind<string> = kind(t.string, invalidTextReason, same);

const notFinite = (n: number): string | undefined =>
  Number.isFinite(n) ? undefined : `${n} is not a finite number`;

/** Any finite Number (spec "Number"). */
export const decimal: Kind<number> = kind(t.number, notFinite, (n) => plainDecimal(n));

/** Spec "Integer"; limited to the safe range so the written digits are exact. */
export const integer: Kind<number> = kind(
  t.number,
  (n) => notFinite(n) ?? (Number.isSafeInteger(n) ? undefined : `${n} is not an integer (within ±2^53-1)`),
  (n) => plainDecimal(n),
);

export const boolean: Kind<boolean> = kind(t.boolean, valid, (b) => (b ? "true" : "false"));

/** ISO-8601 date-time string, validated without `Date` (see header). */
export const timestamp: Kind<string> = kind(
  t.string,
  (s) => (isIsoTimestamp(s) ? undefined : `${JSON.stringify(s)} is not an ISO-8601 timestamp`),
  same,
);

/** A string enum; membership is the codec's `is`, which `scalar` runs before `format`. */
export const oneOf = <L extends string>(...values: readonly [L, ...L[]]): Kind<L> =>
  kind(
    t.keyof(Object.fromEntries(values.map((v) => [v, null]))) as unknown as t.Type<L, L, unknown>,
    valid,
    same,
  );

/** Why `value` is not a writable value of `kind`: the codec's type test first, so a wrong type is refused, never a crash. */
const scalarProblem = <A>(kind: Kind<A>, value: unknown, field: string): Problem | undefined => {
  if (!kind.codec.is(value)) {
    return problem(field, `expected ${kind.codec.name}, got ${value === null ? "null" : typeof value}`);
  }
  const why = kind.invalid(value);
  return why === undefined ? undefined : problem(field, why);
};

/** The column of one scalar value, or why not (the same checks as the encoders). */
export const scalar = <A>(kind: Kind<A>, value: unknown, field: string): E.Either<Problem, string> => {
  const why = scalarProblem(kind, value, field);
  return why === undefined ? E.right(kind.column(value as A)) : E.left(why);
};

// --- field constructors ---------------------------------------------------------------------

/** Mandatory scalar ("M" in the spec): present and, once written, non-empty. */
export const req = <A>(kind: Kind<A>): Field<A, false> => ({
  optional: false,
  codec: kind.codec,
  label: (key) => key,
  write: (value, field, out) => {
    if (value === undefined) return problem(field, "missing mandatory field");
    const why = scalarProblem(kind, value, field);
    if (why !== undefined) return why;
    const column = kind.column(value as A);
    if (column === "") return problem(field, "mandatory field must not be empty");
    out.texts.push(column);
    return undefined;
  },
});

/** Optional scalar: absent is written as an empty column (dropped again if trailing). */
export const opt = <A>(kind: Kind<A>): Field<A, true> => ({
  optional: true,
  codec: kind.codec,
  label: (key) => key,
  write: (value, field, out) => {
    if (value === undefined) {
      out.texts.push("");
      return undefined;
    }
    const why = scalarProblem(kind, value, field);
    if (why !== undefined) return why;
    out.texts.push(kind.column(value as A));
    return undefined;
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
    entry: (value: unknown, field: string, out: Columns) => Problem | undefined,
    /** Kept blank columns written for an empty list (140's clear form), else none. */
    blankWhenEmpty = 0,
  ) =>
  (value: unknown, field: string, out: Columns): Problem | undefined => {
    if (value === undefined) return optional ? undefined : problem(field, "missing mandatory field");
    if (!Array.isArray(value)) return problem(field, `expected an array, got ${typeof value}`);
    if (value.length < min) return problem(field, `needs at least ${min} entr${min === 1 ? "y" : "ies"}`);
    if (value.length === 0) {
      for (let k = 0; k < blankWhenEmpty; k++) out.texts.push("");
      if (blankWhenEmpty > 0) out.kept = out.texts.length;
      return undefined;
    }
    for (let i = 0; i < value.length; i++) {
      const why = entry(value[i] as unknown, `${field}[${i}]`, out);
      if (why !== undefined) return why;
    }
    return undefined;
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
  write: repeat(options.min, options.optional ?? false, item.write),
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
  write: repeat(
    options.min,
    options.optional ?? false,
    (item, field, out) =>
      isRecord(item) ? writeFields(fields, item, `${field}.`, out) : problem(field, "expected an object"),
    options.emptyAsBlankEntry === true ? Object.keys(fields).length : 0,
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

/** Writes the columns of all `fields` of `value`, in declaration order (= wire order); first problem wins. */
export const writeFields = (
  fields: Fields,
  value: Readonly<Record<string, unknown>>,
  prefix: string,
  out: Columns,
): Problem | undefined => {
  for (const key in fields) {
    const why = fields[key]!.write(value[key], prefix + key, out);
    if (why !== undefined) return why;
  }
  return undefined;
};

// --- wire formats ---------------------------------------------------------------------------

/**
 * `n` (finite) in plain decimal notation. JavaScript already prints the shortest round-trip
 * digits; only its exponent forms (|n| ≥ 1e21 or < 1e-6) are expanded here.
 */
export const plainDecimal = (n: number): string => {
  const s = String(n);
  if (!s.includes("e")) return s; // the usual case, without the regex
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
