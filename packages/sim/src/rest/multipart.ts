/**
 * A small `multipart/form-data` reader (RFC 7578) for bodies already read under a byte limit:
 * parts with their name, filename, content type and exact bytes (binary-safe, no decoding).
 */
import { badRequest } from "./http.js";

export interface FormPart {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer;
}

/** The boundary of a `multipart/form-data` content type, or undefined for any other type. */
export const multipartBoundary = (contentType: string | undefined): string | undefined => {
  if (contentType === undefined || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined || boundary.length > 200)
    throw badRequest("multipart/form-data without a usable boundary parameter");
  return boundary;
};

/** A header parameter (`name="…"`, `filename="…"`) of a Content-Disposition value. */
export const dispositionParam = (value: string, param: string): string | undefined => {
  const star = new RegExp(`;\\s*${param}\\*=(?:UTF-8|utf-8)''([^;]+)`).exec(value);
  if (star?.[1] !== undefined) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // fall back to the plain parameter
    }
  }
  const m = new RegExp(`;\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, "i").exec(value);
  const raw = m?.[1] ?? m?.[2];
  return raw?.replace(/\\(.)/g, "$1");
};

export const parseMultipart = (body: Buffer, boundary: string): FormPart[] => {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw badRequest("multipart body without its boundary");
  for (;;) {
    let next = at + delimiter.length;
    if (body.subarray(next, next + 2).toString("latin1") === "--") return parts;
    if (body.subarray(next, next + 2).toString("latin1") !== "\r\n")
      throw badRequest("malformed multipart body (a boundary line must end with CRLF)");
    next += 2;
    const headerEnd = body.indexOf("\r\n\r\n", next);
    if (headerEnd < 0) throw badRequest("malformed multipart body (part headers never end)");
    const headers = new Map<string, string>();
    for (const line of body.subarray(next, headerEnd).toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const dataStart = headerEnd + 4;
    const close = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), dataStart);
    if (close < 0) throw badRequest("malformed multipart body (a part is not closed by the boundary)");
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    if (!/^form-data\b/i.test(disposition) || name === undefined)
      throw badRequest("malformed multipart body (a part without Content-Disposition: form-data; name=…)");
    const filename = dispositionParam(disposition, "filename");
    const contentType = headers.get("content-type");
    parts.push({
      name,
      ...(filename === undefined ? {} : { filename }),
      ...(contentType === undefined ? {} : { contentType }),
      data: body.subarray(dataStart, close),
    });
    at = close + 2;
  }
};
