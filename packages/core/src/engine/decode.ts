/**
 * Boundary decoding helpers: io-ts codecs with precise, human-readable error messages.
 * Every value that enters the core from outside (config, events, snapshots) goes through
 * `decode`, which never throws and names the path of each problem.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { unknownKeyMessage } from "./suggest.js";

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

/** An integer in [min, max]; anything else (a string, a fraction) is refused naming the range. */
/** An integer codec that tells its range (for messages and the configuration reference check). */
export interface IntRangeType extends t.Type<number, number, unknown> {
  readonly range: { readonly min: number; readonly max: number };
}

export const intRange = (name: string, min: number, max: number): IntRangeType => {
  const reason = (u: unknown): string | undefined =>
    typeof u === "number" && Number.isInteger(u) && u >= min && u <= max
      ? undefined
      : `must be an integer in [${min}, ${max}] (got ${describe(u)})`;
  const codec = new t.Type<number, number, unknown>(
    name,
    (u): u is number => reason(u) === undefined,
    (u, c) => {
      const problem = reason(u);
      return problem === undefined ? t.success(u as number) : t.failure(u, c, problem);
    },
    t.identity,
  );
  return Object.assign(codec, { range: { min, max } });
};

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** A strict object codec that also tells which keys it knows (for suggestions and docs checks). */
export interface StrictObjectType<R extends t.Props, P extends t.Props> extends t.Type<
  t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<P>>,
  t.OutputOf<t.TypeC<R>> & t.OutputOf<t.PartialC<P>>,
  unknown
> {
  readonly props: { readonly required: R; readonly optional: P };
}

/**
 * An object with `required` and `optional` properties and nothing else: an unknown key is
 * refused with the nearest valid key, because a silently ignored typo (`stateDri`) means
 * the setting the user wrote never takes effect.
 */
export const strictObject = <R extends t.Props, P extends t.Props>(
  name: string,
  required: R,
  optional: P,
): StrictObjectType<R, P> => {
  const requiredCodec = t.type(required);
  const optionalCodec = t.partial(optional);
  const valid = [...Object.keys(required), ...Object.keys(optional)];
  const unknownKeys = (u: Record<string, unknown>): string[] =>
    Object.keys(u).filter((k) => !Object.hasOwn(required, k) && !Object.hasOwn(optional, k));
  type A = t.TypeOf<t.TypeC<R>> & t.TypeOf<t.PartialC<P>>;
  type O = t.OutputOf<t.TypeC<R>> & t.OutputOf<t.PartialC<P>>;
  const codec = new t.Type<A, O, unknown>(
    name,
    (u): u is A => isRecord(u) && unknownKeys(u).length === 0 && requiredCodec.is(u) && optionalCodec.is(u),
    (u, c) => {
      if (!isRecord(u))
        return t.failure(u, c, `expected an object with keys ${valid.join(", ")}, got ${describe(u)}`);
      const errors: t.ValidationError[] = unknownKeys(u).map((key) => ({
        value: u[key],
        context: t.appendContext(c, key, t.unknown, u[key]),
        message: unknownKeyMessage(key, valid),
      }));
      const requiredResult = requiredCodec.validate(u, c);
      const optionalResult = optionalCodec.validate(u, c);
      if (E.isLeft(requiredResult)) errors.push(...requiredResult.left);
      if (E.isLeft(optionalResult)) errors.push(...optionalResult.left);
      if (errors.length > 0 || E.isLeft(requiredResult) || E.isLeft(optionalResult))
        return t.failures(errors);
      return t.success({ ...requiredResult.right, ...optionalResult.right } as A);
    },
    (a) => ({ ...requiredCodec.encode(a), ...optionalCodec.encode(a) }) as O,
  );
  return Object.assign(codec, { props: { required, optional } });
};

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
