/**
 * Control lines: everything the platform sends that is neither an operation nor a `s/ds`
 * answer (spec §2.6, §3.1, §4.9, §6.1, §8.1):
 * - `s/e`   error / debug lines `40`–`50` (and any other numeric code),
 * - `s/dcr` bootstrap credentials `70,<tenant>,<username>,<password>`,
 * - `s/dat` device token `71,<jwt>`,
 * - `s/dt`  template-collection status `20,<X-ID>,<collection id>` / `41,<X-ID>`.
 *
 * Code 41 has two meanings depending on the topic (template error on `s/e`, "collection does
 * not exist" on `s/dt`), so the catalogue has one entry per (id, topic) pair.
 *
 * Each line has an io-ts codec (`t.Type<X, Row, Row>`) so the platform simulator can build the
 * lines with `encode`; the engine uses the total `decode…` functions below. Nothing throws.
 */
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { templateError, type Row, type TemplateError, type TemplateSpec } from "./types.js";

// ---------------------------------------------------------------------------------------------
// Shared helpers

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null;
const isNonEmptyString = (u: unknown): u is string => typeof u === "string" && u !== "";

/** io-ts codec over rows whose decoder reports a `TemplateError` (its reason becomes the io-ts message). */
const rowCodec = <A>(
  name: string,
  is: (u: unknown) => u is A,
  decode: (row: Row) => E.Either<TemplateError, A>,
  encode: (a: A) => Row,
): t.Type<A, Row, Row> =>
  new t.Type<A, Row, Row>(
    name,
    is,
    (row, context) => {
      const decoded = decode(row);
      return E.isRight(decoded)
        ? t.success(decoded.right)
        : t.failure(row, context, `${decoded.left.field}: ${decoded.left.reason}`);
    },
    encode,
  );

/**
 * Checks the id and the number of fields of a fixed-arity line and returns the fields after the
 * id; every named field is mandatory. Trailing empty fields beyond the arity are tolerated
 * (SmartREST rows may carry or omit trailing empties).
 */
const fixedFields = (
  id: string,
  names: readonly string[],
  row: Row,
): E.Either<TemplateError, readonly string[]> => {
  if (row[0] !== id) return E.left(templateError(id, "id", `expected a ${id} line, got '${row[0] ?? ""}'`));
  const fields = row.slice(1);
  const extra = fields.slice(names.length);
  if (extra.some((f) => f !== "")) {
    return E.left(
      templateError(id, "row", `expected ${names.length} field(s) after ${id}, got ${fields.length}`),
    );
  }
  for (const [i, name] of names.entries()) {
    if ((fields[i] ?? "") === "") return E.left(templateError(id, name, "missing or empty"));
  }
  return E.right(names.map((_, i) => fields[i] ?? ""));
};

// ---------------------------------------------------------------------------------------------
// s/e error lines

export type ErrorLineKind =
  | "unknown-template"
  | "template-error"
  | "malformed-request"
  | "invalid-message-id"
  | "invalid-arguments"
  | "server-error"
  | "other";

const KIND_OF_CODE: Readonly<Record<number, ErrorLineKind>> = {
  40: "unknown-template",
  41: "template-error",
  42: "malformed-request",
  43: "invalid-message-id",
  45: "invalid-arguments",
  50: "server-error",
};

/** The content of an error line, as the simulator builds it. */
export interface ErrorReport {
  readonly code: number;
  /**
   * Second field: the offending message id on MQTT (the only documented example,
   * `40,999,No static template for this message id`), a line number in SmartREST 1.0 style.
   * Absent when the field is missing or empty.
   */
  readonly reference?: string;
  /** Everything after the reference, re-joined with `,` (e.g. 50's `401,Unauthorized`). */
  readonly text: string;
}

/** A decoded `s/e` line. */
export interface ErrorLine extends ErrorReport {
  readonly kind: ErrorLineKind;
  readonly raw: Row;
}

/** Code used when the first field is not a number (kept JSON-friendly, unlike NaN). */
export const UNPARSEABLE_ERROR_CODE = -1;

export const errorLineKind = (code: number): ErrorLineKind => KIND_OF_CODE[code] ?? "other";

const ERROR_LINE_ID = "s/e";

/** Any `s/e` line whose first field is a non-negative integer. */
export const ERROR_LINE_CODEC: t.Type<ErrorReport, Row, Row> = rowCodec<ErrorReport>(
  "s/e error line",
  (u): u is ErrorReport =>
    isObject(u) &&
    Number.isSafeInteger(u.code) &&
    (u.code as number) >= 0 &&
    typeof u.text === "string" &&
    (!("reference" in u) || isNonEmptyString(u.reference)),
  (row) => {
    const [first = "", reference = "", ...text] = row;
    if (!/^[0-9]{1,9}$/.test(first))
      return E.left(templateError(ERROR_LINE_ID, "code", `not a code: '${first}'`));
    const base = { code: Number(first), text: text.join(",") };
    return E.right(reference === "" ? base : { ...base, reference });
  },
  // The reference slot is always written (empty when absent) so the text stays in field 3.
  (report) => [String(report.code), report.reference ?? "", report.text],
);

/** Decodes a `s/e` line. Total: a line without a numeric code becomes kind "other", code -1. */
export const decodeErrorLine = (row: Row): ErrorLine => {
  const decoded = ERROR_LINE_CODEC.decode(row);
  return E.isRight(decoded)
    ? { ...decoded.right, kind: errorLineKind(decoded.right.code), raw: row }
    : { code: UNPARSEABLE_ERROR_CODE, kind: "other", text: row.join(","), raw: row };
};

// ---------------------------------------------------------------------------------------------
// s/dcr 70: bootstrap credentials

export interface DeviceCredentials {
  readonly tenant: string;
  /** Username without tenant prefix; connect as `<tenant>/<username>`. */
  readonly username: string;
  readonly password: string;
}

const CREDENTIAL_FIELDS = ["tenant", "username", "password"] as const;

/** `70,<tenant>,<username>,<password>` from `s/dcr`; all three must be non-empty. */
export const decodeCredentials = (row: Row): E.Either<TemplateError, DeviceCredentials> =>
  E.map(([tenant = "", username = "", password = ""]: readonly string[]) => ({ tenant, username, password }))(
    fixedFields("70", CREDENTIAL_FIELDS, row),
  );

export const CREDENTIALS_CODEC: t.Type<DeviceCredentials, Row, Row> = rowCodec<DeviceCredentials>(
  "70 credentials",
  (u): u is DeviceCredentials => isObject(u) && CREDENTIAL_FIELDS.every((f) => isNonEmptyString(u[f])),
  decodeCredentials,
  (c) => ["70", c.tenant, c.username, c.password],
);

// ---------------------------------------------------------------------------------------------
// s/dat 71: device access token

export interface DeviceToken {
  /** Base64-encoded JWT, as received. */
  readonly token: string;
}

/** `71,<jwt>` from `s/dat`. */
export const decodeToken = (row: Row): E.Either<TemplateError, DeviceToken> =>
  E.map(([token = ""]: readonly string[]) => ({ token }))(fixedFields("71", ["token"], row));

export const TOKEN_CODEC: t.Type<DeviceToken, Row, Row> = rowCodec<DeviceToken>(
  "71 token",
  (u): u is DeviceToken => isObject(u) && isNonEmptyString(u.token),
  decodeToken,
  (d) => ["71", d.token],
);

// ---------------------------------------------------------------------------------------------
// s/dt 20 / 41: template collection status

export interface TemplateCollectionExists {
  readonly kind: "template-exists";
  readonly xid: string;
  /** Managed-object id of the collection. */
  readonly collectionId: string;
}

export interface TemplateCollectionMissing {
  readonly kind: "template-missing";
  readonly xid: string;
}

export type TemplateStatus = TemplateCollectionExists | TemplateCollectionMissing;

const decodeTemplateExists = (row: Row): E.Either<TemplateError, TemplateCollectionExists> =>
  E.map(([xid = "", collectionId = ""]: readonly string[]) => ({
    kind: "template-exists" as const,
    xid,
    collectionId,
  }))(fixedFields("20", ["xid", "collectionId"], row));

const decodeTemplateMissing = (row: Row): E.Either<TemplateError, TemplateCollectionMissing> =>
  E.map(([xid = ""]: readonly string[]) => ({ kind: "template-missing" as const, xid }))(
    fixedFields("41", ["xid"], row),
  );

export const TEMPLATE_EXISTS_CODEC: t.Type<TemplateCollectionExists, Row, Row> =
  rowCodec<TemplateCollectionExists>(
    "20 template collection exists",
    (u): u is TemplateCollectionExists =>
      isObject(u) &&
      u.kind === "template-exists" &&
      isNonEmptyString(u.xid) &&
      isNonEmptyString(u.collectionId),
    decodeTemplateExists,
    (s) => ["20", s.xid, s.collectionId],
  );

export const TEMPLATE_MISSING_CODEC: t.Type<TemplateCollectionMissing, Row, Row> =
  rowCodec<TemplateCollectionMissing>(
    "41 template collection missing",
    (u): u is TemplateCollectionMissing =>
      isObject(u) && u.kind === "template-missing" && isNonEmptyString(u.xid),
    decodeTemplateMissing,
    (s) => ["41", s.xid],
  );

/** `20,<X-ID>,<collection id>` or `41,<X-ID>` from `s/dt`. */
export const decodeTemplateStatus = (row: Row): E.Either<TemplateError, TemplateStatus> => {
  switch (row[0]) {
    case "20":
      return decodeTemplateExists(row);
    case "41":
      return decodeTemplateMissing(row);
    default:
      return E.left(templateError(row[0] ?? "", "id", "expected 20 or 41 on s/dt"));
  }
};

// ---------------------------------------------------------------------------------------------
// Catalogue

const errorSpec = (id: string, name: ErrorLineKind): TemplateSpec => ({
  id,
  direction: "control",
  name,
  fields: ["reference", "text"],
  topic: "s/e",
});

/** One entry per (id, topic): 41 appears twice, as a template error on `s/e` and as "missing" on `s/dt`. */
export const CONTROL_SPECS: readonly TemplateSpec[] = [
  errorSpec("40", "unknown-template"),
  errorSpec("41", "template-error"),
  errorSpec("42", "malformed-request"),
  errorSpec("43", "invalid-message-id"),
  errorSpec("45", "invalid-arguments"),
  errorSpec("50", "server-error"),
  { id: "70", direction: "control", name: "credentials", fields: CREDENTIAL_FIELDS, topic: "s/dcr" },
  { id: "71", direction: "control", name: "token", fields: ["token"], topic: "s/dat" },
  { id: "20", direction: "control", name: "template-exists", fields: ["xid", "collectionId"], topic: "s/dt" },
  { id: "41", direction: "control", name: "template-missing", fields: ["xid"], topic: "s/dt" },
];
