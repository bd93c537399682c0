/**
 * Operation fields as placeholders: `{version}` in a handler's argument list is replaced by the
 * operation's value, inside that one argument (never split, never seen by a shell), so a value
 * like `x; rm -rf /` stays one argv element. Which names a fragment offers is known when the
 * agent starts, so a misspelt placeholder is refused then, not when the operation arrives.
 */
import { nearestName } from "@c8ylink/core";

/** Scalar fields of the static operation templates, by fragment (union over its templates). */
const STATIC_FIELDS: Readonly<Record<string, readonly string[]>> = {
  c8y_Restart: [],
  c8y_Command: ["text"],
  c8y_Configuration: ["config"],
  c8y_Firmware: ["name", "version", "url", "isPatch", "dependency"],
  c8y_MeasurementRequestOperation: ["requestName"],
  c8y_Relay: ["relayState"],
  c8y_UploadConfigFile: ["type"],
  c8y_DownloadConfigFile: ["url", "type"],
  c8y_LogfileRequest: ["logFile", "dateFrom", "dateTo", "searchText", "maximumLines"],
  c8y_CommunicationMode: ["mode"],
  c8y_RemoteAccessConnect: ["hostname", "port", "connectionKey"],
};

/** Names every handler may use: who executes it, its journal key and its work directory. */
export const COMMON_FIELDS = ["deviceId", "operationKey", "workDir"] as const;

/**
 * The placeholder names a handler of `fragment` may use, or a predicate for custom operations
 * (`{values.0}`, `{values.1}`, … the values of the custom template's line).
 */
export const fieldsOf = (
  fragment: string,
): { readonly names: readonly string[]; readonly custom: boolean } => {
  const known = STATIC_FIELDS[fragment];
  return known === undefined
    ? { names: [...COMMON_FIELDS], custom: true }
    : { names: [...COMMON_FIELDS, ...known], custom: false };
};

export type Piece = { readonly text: string } | { readonly field: string };

/** Splits a template into text and `{field}` pieces (`{{` and `}}` are literal braces). */
export const parseTemplate = (template: string): Piece[] | { readonly error: string } => {
  const pieces: Piece[] = [];
  let text = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === "{" && template[i + 1] === "{") {
      text += "{";
      i++;
    } else if (c === "}" && template[i + 1] === "}") {
      text += "}";
      i++;
    } else if (c === "{") {
      const end = template.indexOf("}", i + 1);
      if (end < 0) return { error: `unclosed "{" at position ${i} (write "{{" for a literal brace)` };
      const name = template.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[0-9]+)?$/.test(name))
        return { error: `"{${name}}" is not a field name` };
      if (text !== "") pieces.push({ text });
      text = "";
      pieces.push({ field: name });
      i = end;
    } else if (c === "}") {
      return { error: `unmatched "}" at position ${i} (write "}}" for a literal brace)` };
    } else text += c;
  }
  if (text !== "") pieces.push({ text });
  return pieces;
};

/** Why `template` cannot be used by a handler of `fragment` (undefined: it can). */
export const templateProblem = (template: string, fragment: string): string | undefined => {
  const parsed = parseTemplate(template);
  if ("error" in parsed) return parsed.error;
  const { names, custom } = fieldsOf(fragment);
  for (const piece of parsed) {
    if (!("field" in piece)) continue;
    if (names.includes(piece.field)) continue;
    if (custom && /^values\.[0-9]+$/.test(piece.field)) continue;
    const near = nearestName(piece.field, names);
    const offered = custom
      ? `${names.join(", ")} or values.<n> (the custom template's values)`
      : names.join(", ");
    return `unknown field "{${piece.field}}" for ${fragment}${near === undefined ? "" : `: did you mean "{${near}}"?`} (fields: ${offered})`;
  }
  return undefined;
};

/** The values of one operation for substitution: its scalar fields and the common ones. */
export const valuesOf = (
  operation: Readonly<Record<string, unknown>>,
  common: { readonly deviceId: string; readonly operationKey: string; readonly workDir: string },
): ReadonlyMap<string, string> => {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(operation)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      values.set(name, String(value));
  }
  const list = operation.values;
  if (Array.isArray(list)) list.forEach((v, i) => values.set(`values.${i}`, String(v)));
  for (const [name, value] of Object.entries(common)) values.set(name, value);
  return values;
};

/** Fills `template` from `values`; a field the operation lacks is an error naming it. */
export const substitute = (
  template: string,
  values: ReadonlyMap<string, string>,
): { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string } => {
  const parsed = parseTemplate(template);
  if ("error" in parsed) return { ok: false, error: parsed.error };
  let out = "";
  for (const piece of parsed) {
    if ("text" in piece) out += piece.text;
    else {
      const value = values.get(piece.field);
      if (value === undefined) return { ok: false, error: `the operation has no field "${piece.field}"` };
      out += value;
    }
  }
  return { ok: true, value: out };
};
