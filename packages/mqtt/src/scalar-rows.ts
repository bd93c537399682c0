/**
 * A fast path for the engine's check of submitted static-template rows. Decoding a message
 * with its template's io-ts codec (exact intersection of required and optional fields)
 * allocates a fresh object through io-ts's generic walk: ~2 µs a row, more than the rest of
 * `submitMany`'s per-row work in the engine. For templates whose fields are all scalars, a
 * message that passes the codec's type test (`is`, which runs every field's test and
 * refinement) and has no property the codec does not know decodes to a copy of itself, so
 * the copy is taken directly. Anything else still goes through `decode`.
 */
import type * as t from "io-ts";

/** io-ts codec tags whose values are single JSON scalars (decode returns them unchanged). */
const SCALAR_TAGS = new Set(["StringType", "NumberType", "BooleanType", "LiteralType", "KeyofType"]);

interface Tagged {
  readonly _tag?: string;
  readonly type?: unknown;
  readonly types?: readonly unknown[];
  readonly props?: Readonly<Record<string, unknown>>;
}

const tagOf = (codec: unknown): string | undefined => (codec as Tagged | null)?._tag;

/**
 * The property names of `codec` when it is an exact object codec (`t.exact` of a `t.type`, a
 * `t.partial` or an intersection of them) whose properties are all scalars; else null.
 */
export const scalarPropsOf = (codec: t.Mixed): ReadonlySet<string> | null => {
  if (tagOf(codec) !== "ExactType") return null;
  const inner = (codec as Tagged).type;
  const parts = tagOf(inner) === "IntersectionType" ? ((inner as Tagged).types ?? []) : [inner];
  const names = new Set<string>();
  for (const part of parts) {
    const tag = tagOf(part);
    if (tag !== "InterfaceType" && tag !== "PartialType") return null;
    for (const [name, prop] of Object.entries((part as Tagged).props ?? {})) {
      const propTag = tagOf(prop);
      if (propTag === undefined || !SCALAR_TAGS.has(propTag)) return null;
      names.add(name);
    }
  }
  return names;
};

/**
 * A copy of `message` holding its own properties when it is a plain object the codec accepts
 * and every property is one the codec knows (so `decode` would return an equal object), else
 * undefined (the caller decodes).
 */
export const copyIfScalarMessage = (
  codec: t.Mixed,
  props: ReadonlySet<string>,
  message: object,
): Record<string, unknown> | undefined => {
  if (Object.getPrototypeOf(message) !== Object.prototype || !codec.is(message)) return undefined;
  const copy: Record<string, unknown> = {};
  // for-in: own enumerable properties here (the prototype is Object.prototype), no key array.
  for (const key in message) {
    if (!props.has(key)) return undefined;
    copy[key] = (message as Record<string, unknown>)[key];
  }
  return copy;
};
