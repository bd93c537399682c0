/**
 * Serving one stored binary: `Content-Length`, `ETag`, `Digest: sha-256=<base64>` (RFC 3230, of
 * the whole file also on a 206) and single byte ranges (`bytes=N-`, `bytes=N-M`, `bytes=-N`;
 * 206 with `Content-Range`, 416 when unsatisfiable or not understood), plus the armed fault.
 * Range and Digest are sim conveniences: clients must work without them against the platform.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DownloadFault } from "./faults.js";
import { PROTECTIVE_HEADERS, RestError, sendJson } from "./http.js";
import type { StoredBinary } from "./store.js";

type Span = { readonly start: number; readonly end: number } | "unsatisfiable";

/** The span of `header` within `size` bytes (inclusive end), or "unsatisfiable". */
export const parseRange = (header: string, size: number): Span => {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return "unsatisfiable";
  const [, from = "", to = ""] = m;
  if (from === "" && to === "") return "unsatisfiable";
  if (from === "") {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === "" ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
};

/** `attachment; filename="…"` with a safe ASCII fallback and the exact UTF-8 name. */
export const attachment = (name: string): string => {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
};

export const serveBinary = (
  req: IncomingMessage,
  res: ServerResponse,
  binary: StoredBinary,
  fault: DownloadFault | undefined,
): void => {
  if (fault?.status !== undefined) {
    sendJson(res, fault.status, {
      error: "SIM fault",
      message: `answered ${fault.status} by an armed /http-faults fault (SIM-ONLY)`,
    });
    return;
  }
  const size = binary.bytes.length;
  const digest = `sha-256=${Buffer.from(binary.sha256, "hex").toString("base64")}`;
  const common: Record<string, string> = {
    ...PROTECTIVE_HEADERS,
    "content-type": binary.contentType,
    "content-disposition": attachment(binary.name),
    etag: `"${binary.sha256}"`,
    digest,
    "accept-ranges": "bytes",
  };
  const rangeHeader = req.headers.range;
  const ifRange = req.headers["if-range"];
  // If-Range with another validator: the file changed, send all of it.
  const ranged = rangeHeader !== undefined && (ifRange === undefined || ifRange === common.etag);
  const span: Span = ranged ? parseRange(rangeHeader, size) : { start: 0, end: size - 1 };
  if (span === "unsatisfiable")
    throw new RestError(
      416,
      "Range Not Satisfiable",
      `range ${JSON.stringify(rangeHeader)} does not fit a binary of ${size} bytes (use bytes=N- with N < ${size})`,
      undefined,
      { "content-range": `bytes */${size}` },
    );
  let body = binary.bytes.subarray(span.start, span.end + 1);
  const headers: Record<string, string> = { ...common, "content-length": String(body.length) };
  if (ranged) headers["content-range"] = `bytes ${span.start}-${span.end}/${size}`;
  res.writeHead(ranged ? 206 : 200, headers);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  if (fault?.corrupt === true && body.length > 0) {
    body = Buffer.from(body);
    const at = Math.floor(body.length / 2);
    body[at] = (body[at] ?? 0) ^ 0xff;
  }
  if (fault?.cutAfterBytes !== undefined && fault.cutAfterBytes < body.length) {
    // Headers promised more: the client sees a short body, then the socket is destroyed.
    if (fault.cutAfterBytes === 0) {
      res.flushHeaders();
      setImmediate(() => res.destroy());
    } else res.write(body.subarray(0, fault.cutAfterBytes), () => res.destroy());
    return;
  }
  res.end(body);
};
