/**
 * Boundary decoding helpers: io-ts codecs with precise, human-readable error messages.
 * Every value that enters the core from outside (config, events, snapshots) goes through
 * `decode`, which never throws and names the path of each problem.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";

/** One decoding problem: where (dotted path) and what. */
export interface DecodeProblem {
  readonly path: string;
  readonly message: string;
}

/** A codec that accepts what `base` accepts and `check` approves (check returns a reason to refuse). */
export const refine = <A, O>(
  base: t.Type<A, O, unknown>,
  name: string,
  check: (a: A) => string | undefined,
): t.Type<A, O, unknown> =>
  new t.Type<A, O, unknown>(
    name,
    (u): u is A => base.is(u) && check(u) === undefined,
    (u, c) => {
      const result = base.validate(u, c);
      if (E.isLeft(result)) return result;
      const reason = check(result.right);
      return reason === undefined ? t.success(result.right) : t.failure(u, c, reason);
    },
    base.encode,
  );

export const intRange = (name: string, min: number, max: number): t.Type<number, number, unknown> =>
  refine(t.number, name, (n) =>
    Number.isInteger(n) && n >= min && n <= max
      ? undefined
      : `must be an integer in [${min}, ${max}] (got ${n})`,
  );

// Union and intersection members appear in io-ts contexts under their index: skip them,
// keep object keys and array indices.
const pathOf = (context: t.Context): string => {
  const keys: string[] = [];
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]?.type;
    const entry = context[i];
    if (entry === undefined || entry.key === "") continue;
    if (parent instanceof t.UnionType || parent instanceof t.IntersectionType) continue;
    keys.push(entry.key);
  }
  return keys.join(".");
};

const describe = (value: unknown): string => {
  if (value === undefined) return "nothing";
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 57)}...` : json;
  } catch {
    return typeof value;
  }
};

export const problemsOf = (errors: t.Errors): DecodeProblem[] => {
  const seen = new Set<string>();
  const out: DecodeProblem[] = [];
  for (const error of errors) {
    const path = pathOf(error.context);
    const expected = error.context[error.context.length - 1]?.type.name ?? "value";
    const message = error.message ?? `expected ${expected}, got ${describe(error.value)}`;
    const key = `${path}|${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, message });
    }
  }
  return out;
};

/** Decodes `input`, returning every problem with its path instead of throwing. */
export const decode = <A, O>(codec: t.Type<A, O, unknown>, input: unknown): E.Either<DecodeProblem[], A> => {
  const result = codec.decode(input);
  return E.isRight(result) ? E.right(result.right) : E.left(problemsOf(result.left));
};

export const formatProblems = (problems: readonly DecodeProblem[]): string =>
  problems.map((p) => `${p.path === "" ? "(root)" : p.path}: ${p.message}`).join("\n");
