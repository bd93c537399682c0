/**
 * Shared plumbing of the REST routes: errors as values the router answers (Cumulocity's
 * `{ error, message }` shape), JSON replies with the admin API's protective headers, bodies read
 * with a hard byte limit, and io-ts decoding whose 400 names the field.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, formatProblems, type DecodeProblem } from "@c8ylink/core";

/** A refusal the router turns into `status` with `{ error, message }` (and the decode problems). */
export class RestError extends Error {
  constructor(
    readonly status: number,
    /** Cumulocity-style category, e.g. `security/Unauthorized`. */
    readonly error: string,
    message: string,
    readonly problems?: readonly DecodeProblem[],
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

export const notFound = (message: string): RestError => new RestError(404, "Not Found", message);
export const badRequest = (message: string, problems?: readonly DecodeProblem[]): RestError =>
  new RestError(400, "Bad Request", message, problems);

/** Largest JSON body of a REST route. */
export const MAX_JSON_BYTES = 1024 * 1024;

export const PROTECTIVE_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
};

export const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 204) {
    res.writeHead(204, { ...PROTECTIVE_HEADERS, ...headers });
    res.end();
    return;
  }
  const text = `${JSON.stringify(body ?? null)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...PROTECTIVE_HEADERS,
    ...headers,
  });
  res.end(text);
};

export const sendError = (res: ServerResponse, e: RestError): void =>
  sendJson(
    res,
    e.status,
    {
      error: e.error,
      message: e.message,
      ...(e.problems === undefined ? {} : { problems: e.problems }),
    },
    { ...e.headers },
  );

/**
 * The request body, at most `limit` bytes: a declared larger `Content-Length` is refused before
 * reading, and reading stops at the first byte over the limit (413 naming `what` and the limit).
 * The rest of a refused body is drained and dropped so the client can read the answer.
 */
export const readLimited = (req: IncomingMessage, limit: number, what: string): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const tooLarge = () =>
      new RestError(413, "Request Entity Too Large", `${what} larger than the limit of ${limit} bytes`);
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        req.off("data", onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.on("error", (e) => {
      if (!failed) reject(e);
      failed = true;
    });
  });

/** The body as JSON (400 when it is not). */
export const readJson = async (req: IncomingMessage, what: string): Promise<unknown> => {
  const text = (await readLimited(req, MAX_JSON_BYTES, `${what} body`)).toString("utf8");
  if (text.trim() === "") throw badRequest(`${what}: the body must be a JSON object`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`${what}: body is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
};

/** Decodes `value` or throws 400 whose message names each wrong field. */
export const decodeOr400 = <A>(codec: t.Type<A, unknown, unknown>, value: unknown, what: string): A => {
  const result = decode(codec, value);
  if (E.isLeft(result))
    throw badRequest(`invalid ${what}: ${formatProblems(result.left).replace(/\n/g, "; ")}`, result.left);
  return result.right;
};

/** `http://<Host>` of the request (the guard has checked that Host names this server). */
export const baseUrl = (req: IncomingMessage): string => `http://${req.headers.host ?? "127.0.0.1"}`;
