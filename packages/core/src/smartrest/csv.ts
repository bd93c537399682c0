/**
 * SmartREST CSV codec (spec §5): payload bytes ⇄ rows of raw string fields.
 *
 * Decisions (the spec leaves these open or the docs disagree):
 *
 * - Rows are separated by LF outside quotes. A CR immediately before a row-separating LF is dropped
 *   (CRLF tolerated); any other CR is an ordinary character. Fully empty lines (also a lone CR before
 *   an LF) are skipped, so a trailing LF adds no row and an empty payload is zero rows.
 * - Unquoted fields are taken verbatim (no trimming). Empty and trailing empty fields are kept
 *   (`100,,` → ["100", "", ""]); dropping them is the template layer's business.
 * - Inside quotes, both quote escapes are accepted: `""` (RFC 4180, what agents send) and `\"`
 *   (what the platform sends, thin-edge #1831 capture). A backslash that is not part of a run of
 *   backslashes ending right before a quote is literal (`C:\dir`, `\\server\x`, the two characters
 *   backslash-n all stay as they are). A run of k backslashes right before a quote follows the
 *   MSVC argv convention: it stands for floor(k/2) backslashes, and if k is odd the quote is a
 *   literal quote, if k is even the quote is structural (closing, or the start of `""`). For k = 1
 *   this is exactly the platform's `\"`; the rule only differs from "every `\"` is a quote" for runs
 *   of two or more backslashes before a quote, and it is what makes every string representable:
 *   under the naive rule a quoted value could never end in a backslash. Trade-off (spec Gaps §6: how
 *   the platform escapes a literal backslash is undocumented): a platform that does NOT escape
 *   backslashes would write the value `\"` (backslash, quote) as `\\"`; we read that as one
 *   backslash plus a structural quote (usually then a stray or unterminated quote error), whereas a platform
 *   that does escape them (`\\\"`) is read exactly.
 * - A quote inside an unquoted field, or anything other than `,`/LF/CRLF/end after a closing quote,
 *   is `csv-stray-quote`: such payloads are malformed and guessing would silently corrupt data.
 * - Error positions: `row` is the 1-based index of the record among the produced rows (skipped
 *   blank lines are not counted), `column` the 1-based field index within it, `offset` the 0-based
 *   UTF-16 index into the payload of the offending character (the opening quote for an
 *   unterminated field). `csv-invalid-utf8` carries only a byte `offset`: rows do not exist yet.
 * - Decoding is strict UTF-8 validated by hand (no exceptions); one leading UTF-8 BOM is stripped,
 *   since it would otherwise become part of the first template id.
 *
 * Writer: one escape style, RFC 4180 doubling (`""`). It is what production agents (thin-edge, the
 * Python agent) send, and unlike `\"` it needs no backslash convention in the common case. A field is
 * quoted exactly when needed (contains `"`, `,`, CR, LF or TAB, or has leading/trailing whitespace).
 * Inside a quoted field a run of backslashes that ends right before a quote (an escaped `""` or the
 * closing quote) is doubled, so the reader's argv rule maps it back; other backslashes are written
 * as is. Thus `parseRows(serializeRows(rows))` returns `rows` for every string, provided each row has
 * at least one field. A row whose only field is "" is written as `""` so it is not a blank line; a row
 * with zero fields has no template id, is written as an empty line and does not survive a round trip.
 */
import { type Either, left, right } from "fp-ts/lib/Either.js";
import type { Row } from "./types.js";

/** A payload that is not well-formed SmartREST CSV. */
export interface CsvSyntaxError {
  readonly kind: "csv-unterminated-quote" | "csv-stray-quote";
  /** 1-based record index (blank lines not counted). */
  readonly row: number;
  /** 1-based field index within the record. */
  readonly column: number;
  /** 0-based UTF-16 index of the offending character in the payload. */
  readonly offset: number;
  readonly message: string;
}

/** Payload bytes that are not valid UTF-8. */
export interface CsvEncodingError {
  readonly kind: "csv-invalid-utf8";
  /** 0-based byte offset of the first byte of the invalid sequence. */
  readonly offset: number;
  readonly message: string;
}

export type CsvError = CsvSyntaxError | CsvEncodingError;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

// ---------------------------------------------------------------------------------------------
// Reader

/** Splits a decoded payload into rows of fields; see the header for the exact grammar. */
export const parseRows = (payload: string): Either<CsvError, Row[]> => {
  const rows: Row[] = [];
  const n = payload.length;
  let i = 0;
  while (i < n) {
    // Skip blank lines (LF or CRLF with nothing before them).
    const c0 = payload.charCodeAt(i);
    if (c0 === LF) {
      i += 1;
      continue;
    }
    if (c0 === CR && payload.charCodeAt(i + 1) === LF) {
      i += 2;
      continue;
    }
    const rowNo = rows.length + 1;
    const fields: string[] = [];
    // Parse fields until the record ends; `i` always points at the start of a field here.
    for (;;) {
      const column = fields.length + 1;
      const parsed = payload.charCodeAt(i) === QUOTE ? quotedField(payload, i) : unquotedField(payload, i);
      if ("kind" in parsed) return left(syntaxError(parsed, rowNo, column));
      fields.push(parsed.value);
      i = parsed.next;
      if (!parsed.more) break;
    }
    rows.push(fields);
  }
  return right(rows);
};

interface FieldResult {
  readonly value: string;
  /** Index just past the field's terminator. */
  readonly next: number;
  /** True when the terminator was a comma (another field follows in this record). */
  readonly more: boolean;
}

/** Why a field parser stopped; `syntaxError` adds the record position. */
interface FieldFailure {
  readonly kind: CsvSyntaxError["kind"];
  readonly offset: number;
}

const unquotedField = (s: string, start: number): FieldResult | FieldFailure => {
  const n = s.length;
  for (let j = start; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === COMMA) return { value: s.slice(start, j), next: j + 1, more: true };
    if (c === LF) {
      // Drop the CR of a CRLF row separator (but never past the field start).
      const end = j > start && s.charCodeAt(j - 1) === CR ? j - 1 : j;
      return { value: s.slice(start, end), next: j + 1, more: false };
    }
    if (c === QUOTE) return { kind: "csv-stray-quote", offset: j };
  }
  return { value: s.slice(start), next: n, more: false };
};

const quotedField = (s: string, open: number): FieldResult | FieldFailure => {
  const n = s.length;
  let out = "";
  let chunk = open + 1; // start of the pending verbatim run not yet copied into `out`
  let j = open + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) {
      let k = 0;
      while (s.charCodeAt(j + k) === BACKSLASH) k++;
      if (s.charCodeAt(j + k) !== QUOTE) {
        j += k; // literal backslashes, stay in the verbatim run
        continue;
      }
      out += s.slice(chunk, j) + "\\".repeat(k >> 1);
      j += k;
      if (k % 2 === 1) {
        out += '"';
        j += 1;
        chunk = j;
        continue;
      }
      chunk = j; // even run: the quote at j is structural, handled below
    } else if (c !== QUOTE) {
      j += 1;
      continue;
    }
    // Structural quote at j: either the `""` escape or the closing quote.
    if (s.charCodeAt(j + 1) === QUOTE) {
      out += s.slice(chunk, j) + '"';
      j += 2;
      chunk = j;
      continue;
    }
    const value = out + s.slice(chunk, j);
    const after = j + 1;
    if (after >= n) return { value, next: n, more: false };
    const t = s.charCodeAt(after);
    if (t === COMMA) return { value, next: after + 1, more: true };
    if (t === LF) return { value, next: after + 1, more: false };
    if (t === CR && s.charCodeAt(after + 1) === LF) return { value, next: after + 2, more: false };
    return { kind: "csv-stray-quote", offset: after };
  }
  return { kind: "csv-unterminated-quote", offset: open };
};

const syntaxError = ({ kind, offset }: FieldFailure, row: number, column: number): CsvSyntaxError => {
  const message =
    kind === "csv-unterminated-quote"
      ? `row ${row}, field ${column}: quote opened at offset ${offset} is never closed`
      : `row ${row}, field ${column}: unexpected character at offset ${offset} (quote inside an unquoted field, or text after a closing quote)`;
  return { kind, row, column, offset, message };
};

// ---------------------------------------------------------------------------------------------
// Bytes

/**
 * Strict UTF-8 decoding: rejects truncated sequences, overlong forms, surrogates (U+D800–DFFF) and
 * code points above U+10FFFF with the byte offset of the offending sequence. One leading BOM is
 * stripped.
 */
export const decodePayload = (bytes: Uint8Array): Either<CsvError, string> => {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const bad = firstInvalidUtf8(bytes, start);
  if (bad !== undefined) {
    return left({
      kind: "csv-invalid-utf8",
      offset: bad,
      message: `invalid UTF-8 sequence at byte offset ${bad}`,
    });
  }
  // Validated above, so this decoder cannot meet anything it would replace or reject.
  return right(utf8Decoder.decode(bytes.subarray(start)));
};

const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Offset of the first byte of the first ill-formed sequence (Unicode Table 3-7), if any. */
const firstInvalidUtf8 = (b: Uint8Array, start: number): number | undefined => {
  const n = b.length;
  let i = start;
  while (i < n) {
    const c = b[i] ?? 0;
    if (c < 0x80) {
      i += 1;
      continue;
    }
    // Allowed range of the second byte and number of continuation bytes, per lead byte.
    let lo = 0x80;
    let hi = 0xbf;
    let len: number;
    if (c >= 0xc2 && c <= 0xdf) len = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      len = 2;
      if (c === 0xe0) lo = 0xa0; // no overlongs
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 3;
      if (c === 0xf0) lo = 0x90; // no overlongs
      if (c === 0xf4) hi = 0x8f; // ≤ U+10FFFF
    } else return i;
    if (i + len >= n) return i; // truncated at the end of the input
    const b1 = b[i + 1] ?? 0;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= len; k++) {
      const bk = b[i + k] ?? 0;
      if (bk < 0x80 || bk > 0xbf) return i;
    }
    i += len + 1;
  }
  return undefined;
};

/** Decode then parse. */
export const parsePayload = (bytes: Uint8Array): Either<CsvError, Row[]> => {
  const text = decodePayload(bytes);
  return text._tag === "Left" ? text : parseRows(text.right);
};

// ---------------------------------------------------------------------------------------------
// Writer

/** True when `value` must be quoted: it contains `"`, `,`, CR, LF or TAB, or has edge whitespace. */
export const needsQuoting = (value: string): boolean => {
  // A loop, not two regular expressions: this runs once per column of every submitted row.
  const n = value.length;
  if (n === 0) return false;
  if (isSpace(value.charCodeAt(0)) || isSpace(value.charCodeAt(n - 1))) return true;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x2c || c === 0x09 || c === 0x0a || c === 0x0d) return true;
  }
  return false;
};

/** Exactly the code units of the regular expression class `\s`. */
const isSpace = (c: number): boolean =>
  c === 0x20 ||
  (c >= 0x09 && c <= 0x0d) ||
  (c >= 0x80 &&
    (c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));

/** One field, quoted with RFC 4180 doubling only when needed; see the header for backslashes. */
export const serializeField = (value: string): string => {
  if (!needsQuoting(value)) return value;
  // A backslash run followed by a quote, or by the end (= the closing quote), is doubled so the
  // reader's argv rule gives it back; the quote itself is then doubled as usual.
  const body = value.replace(/(\\+)(?="|$)/g, "$1$1").replace(/"/g, '""');
  return `"${body}"`;
};

/** One record; a record with a single empty field is written `""` so it is not a blank line. */
export const serializeRow = (row: Row): string =>
  row.length === 1 && row[0] === "" ? '""' : row.map(serializeField).join(",");

/** Records joined by LF, no trailing newline (as the platform and all real clients do). */
export const serializeRows = (rows: readonly Row[]): string => rows.map(serializeRow).join("\n");
