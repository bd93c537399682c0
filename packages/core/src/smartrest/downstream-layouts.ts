/**
 * The building blocks of the downstream template table: columns (one CSV field to one typed
 * value, with tolerant readings such as `CLOSE` for `CLOSED`) and layouts (the fields after the
 * device id to a typed payload: records, repeating groups, the device-profile sections).
 */
import * as E from "fp-ts/lib/Either.js";
import type { Row } from "./types.js";
import type {
  RelayState,
  SoftwareAction,
  ProfileFirmware,
  ProfileConfiguration,
} from "./downstream-types.js";

// ---------------------------------------------------------------------------------------------
// Columns: one CSV field <-> one typed value

export interface Column<V> {
  readonly decode: (raw: string) => E.Either<string, V>;
  readonly encode: (value: V) => string;
  readonly is: (u: unknown) => u is V;
}

export const isString = (u: unknown): u is string => typeof u === "string";

/** Any string, empty allowed. */
export const text: Column<string> = { decode: E.right, encode: (s) => s, is: isString };

/** A string the operation cannot do without (a name, a url, a host…). */
export const required: Column<string> = {
  decode: (raw) => (raw === "" ? E.left("must not be empty") : E.right(raw)),
  encode: (s) => s,
  is: (u): u is string => isString(u) && u !== "",
};

/** Decimal digits only (no sign, no exponent), within [min, max]. */
export const integer = (min: number, max: number): Column<number> => {
  const inRange = (n: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  return {
    decode: (raw) => {
      const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
      return inRange(n) ? E.right(n) : E.left(`not an integer in [${min}, ${max}]: '${raw}'`);
    },
    encode: (n) => String(n),
    is: (u): u is number => typeof u === "number" && inRange(u),
  };
};

/** A closed set of values; `aliases` are extra spellings accepted on input only. */
export const oneOf = <V extends string>(
  values: readonly V[],
  aliases: Readonly<Record<string, V>> = {},
): Column<V> => {
  const is = (u: unknown): u is V => values.some((v) => v === u);
  return {
    decode: (raw) => {
      const value = is(raw) ? raw : Object.hasOwn(aliases, raw) ? aliases[raw] : undefined;
      return value === undefined
        ? E.left(`expected one of ${values.join("/")}, got '${raw}'`)
        : E.right(value);
    },
    encode: (v) => v,
    is,
  };
};

/** `true`/`false` in any case; empty reads as false (an unset flag). */
export const flag: Column<boolean> = {
  decode: (raw) => {
    const lower = raw.toLowerCase();
    return lower === "true"
      ? E.right(true)
      : lower === "false" || raw === ""
        ? E.right(false)
        : E.left(`not a boolean: '${raw}'`);
  },
  encode: (b) => String(b),
  is: (u): u is boolean => typeof u === "boolean",
};

/** ST-new's 519 example writes `CLOSE`; every other source writes `CLOSED`. Accept both, emit `CLOSED`. */
export const relayState = oneOf<RelayState>(["OPEN", "CLOSED"], { CLOSE: "CLOSED" });
export const softwareAction = oneOf<SoftwareAction>(["install", "delete"]);

// ---------------------------------------------------------------------------------------------
// Layouts: the fields after the device id <-> a typed payload

export interface Layout<P> {
  /** Field names for the TemplateSpec, in wire order. */
  readonly fields: readonly string[];
  readonly decode: (fields: Row) => E.Either<string, P>;
  readonly encode: (payload: P) => readonly string[];
  readonly is: (u: unknown) => u is P;
}

export const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null;

export const withoutTrailingEmpty = (fields: Row): Row => {
  let end = fields.length;
  while (end > 0 && fields[end - 1] === "") end--;
  return fields.slice(0, end);
};

export type Columns<P> = { readonly [K in keyof P]-?: Column<P[K]> };

/**
 * Fixed, ordered fields. The wire order is the key order of `columns` (string keys keep
 * insertion order in JS), so the table reads like the spec: `record({ name, version, url })`.
 */
export const record = <P>(columns: Columns<P>): Layout<P> => {
  const entries = Object.entries(columns) as [string, Column<unknown>][];
  return {
    fields: entries.map(([name]) => name),
    decode: (fields) => {
      if (withoutTrailingEmpty(fields).length > entries.length) {
        return E.left(`expected at most ${entries.length} field(s), got ${fields.length}`);
      }
      const payload: Record<string, unknown> = {};
      for (const [i, [name, column]] of entries.entries()) {
        const value = column.decode(fields[i] ?? "");
        if (E.isLeft(value)) return E.left(`${name}: ${value.left}`);
        payload[name] = value.right;
      }
      return E.right(payload as P);
    },
    encode: (payload) =>
      entries.map(([name, column]) => column.encode((payload as Record<string, unknown>)[name])),
    is: (u): u is P => isObject(u) && entries.every(([name, column]) => column.is(u[name])),
  };
};

/** Adds fields that are implied by the template id and not on the wire (e.g. 525 `isPatch: true`). */
export const withConstants = <P, C extends Readonly<Record<string, unknown>>>(
  layout: Layout<P>,
  constants: C,
): Layout<P & C> => ({
  fields: layout.fields,
  decode: (fields) => E.map((p: P) => ({ ...p, ...constants }))(layout.decode(fields)),
  encode: (payload) => layout.encode(payload),
  is: (u): u is P & C =>
    layout.is(u) && isObject(u) && Object.entries(constants).every(([k, v]) => u[k] === v),
});

/**
 * Decodes a repeating section: trailing empty fields are dropped, the rest is cut into groups
 * of `width`, and each group (the last one padded by `decodeItem`) is decoded in turn.
 */
export const decodeGroups = <I>(
  label: string,
  width: number,
  decodeItem: (group: Row) => E.Either<string, I>,
  fields: Row,
): E.Either<string, readonly I[]> => {
  const kept = withoutTrailingEmpty(fields);
  const items: I[] = [];
  for (let start = 0; start < kept.length; start += width) {
    const item = decodeItem(kept.slice(start, start + width));
    if (E.isLeft(item)) return E.left(`${label}[${items.length}] ${item.left}`);
    items.push(item.right);
  }
  return E.right(items);
};

export const groupField = (names: readonly string[]) => `(${names.join(", ")})*`;

/** The whole remainder is a list of `item` groups, e.g. 516's `(name, version, url)*`. */
export const repeated = <K extends string, I>(
  key: K,
  item: Layout<I>,
): Layout<{ readonly [k in K]: readonly I[] }> => ({
  fields: [groupField(item.fields)],
  decode: (fields) =>
    E.map((items: readonly I[]) => ({ [key]: items }) as { readonly [k in K]: readonly I[] })(
      decodeGroups(key, item.fields.length, item.decode, fields),
    ),
  encode: (payload) => payload[key].flatMap(item.encode),
  is: (u): u is { readonly [k in K]: readonly I[] } => isObject(u) && isArrayOf(u[key], item.is),
});

/** The whole remainder is a list of single values, e.g. 519's relay states. */
export const values = <K extends string, V>(
  key: K,
  name: string,
  column: Column<V>,
): Layout<{ readonly [k in K]: readonly V[] }> =>
  repeated(key, {
    fields: [name],
    decode: (group) => column.decode(group[0] ?? ""),
    encode: (v: V) => [column.encode(v)],
    is: column.is,
  });

export const isArrayOf = <I>(u: unknown, is: (v: unknown) => v is I): u is readonly I[] =>
  Array.isArray(u) && u.every(is);

// Device profile (527, 531): `$FW,name,version,url,isPatch,dependency,$SW,(software…)*,$CONF,(url,type)*`.

export const FW = "$FW";
export const SW = "$SW";
export const CONF = "$CONF";
export const SECTION_MARKERS: readonly string[] = [FW, SW, CONF];

export const firmwareLayout = record<ProfileFirmware>({
  name: required,
  version: text,
  url: text,
  isPatch: flag,
  dependency: text,
});
export const configurationLayout = record<ProfileConfiguration>({ url: required, type: text });

export interface Profile<S> {
  readonly firmware?: ProfileFirmware;
  readonly software: readonly S[];
  readonly configuration: readonly ProfileConfiguration[];
}

export const deviceProfile = <S>(software: Layout<S>): Layout<Profile<S>> => ({
  fields: [
    FW,
    ...firmwareLayout.fields,
    SW,
    groupField(software.fields),
    CONF,
    groupField(configurationLayout.fields),
  ],
  decode: (fields) => {
    // Split into sections by marker. Empty fields before the first marker are tolerated.
    const sections = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const field of fields) {
      if (SECTION_MARKERS.includes(field)) {
        if (sections.has(field)) return E.left(`duplicate ${field} section`);
        current = [];
        sections.set(field, current);
      } else if (current !== undefined) current.push(field);
      else if (field !== "") return E.left(`expected ${FW}, ${SW} or ${CONF} before '${field}'`);
    }
    // "No firmware" may arrive as a bare `$FW`, as empty fields, or without the section at all.
    const fw = sections.get(FW) ?? [];
    let firmware: ProfileFirmware | undefined;
    if (fw.slice(0, 3).some((f) => f !== "")) {
      const decoded = firmwareLayout.decode(fw);
      if (E.isLeft(decoded)) return E.left(`firmware ${decoded.left}`);
      firmware = decoded.right;
    } else if (withoutTrailingEmpty(fw).length > firmwareLayout.fields.length) {
      return E.left(`firmware: expected at most ${firmwareLayout.fields.length} field(s)`);
    }
    const sw = decodeGroups("software", software.fields.length, software.decode, sections.get(SW) ?? []);
    if (E.isLeft(sw)) return sw;
    const conf = decodeGroups(
      "configuration",
      configurationLayout.fields.length,
      configurationLayout.decode,
      sections.get(CONF) ?? [],
    );
    if (E.isLeft(conf)) return conf;
    const rest = { software: sw.right, configuration: conf.right };
    return E.right(firmware === undefined ? rest : { firmware, ...rest });
  },
  // Absent firmware is written as `$FW` plus five empty fields, mirroring a renderer that
  // always emits every column (the 527 example emits the empty dependency).
  encode: (p) => [
    FW,
    ...(p.firmware === undefined ? firmwareLayout.fields.map(() => "") : firmwareLayout.encode(p.firmware)),
    SW,
    ...p.software.flatMap(software.encode),
    CONF,
    ...p.configuration.flatMap(configurationLayout.encode),
  ],
  is: (u): u is Profile<S> =>
    isObject(u) &&
    (!("firmware" in u) || firmwareLayout.is(u.firmware)) &&
    isArrayOf(u.software, software.is) &&
    isArrayOf(u.configuration, configurationLayout.is),
});
