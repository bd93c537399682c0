/**
 * Reading an uploaded file: `multipart/form-data` (the file in part `file`, its filename and
 * content type kept; other parts returned by name) or the raw body with its `Content-Type` and
 * optional `Content-Disposition: attachment; filename="…"`. The body is read under the store's
 * per-file limit (plus room for the multipart framing), never beyond.
 */
import type { IncomingMessage } from "node:http";
import { badRequest, readLimited } from "./http.js";
import { dispositionParam, multipartBoundary, parseMultipart, type FormPart } from "./multipart.js";
import type { BinaryStore } from "./store.js";

/** Room for multipart boundaries and part headers on top of the file limit. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export interface Upload {
  readonly name: string | undefined;
  readonly contentType: string;
  readonly bytes: Buffer;
  /** The other form parts (multipart only). */
  readonly fields: ReadonlyMap<string, FormPart>;
}

export const readUpload = async (req: IncomingMessage, store: BinaryStore): Promise<Upload> => {
  const contentType = req.headers["content-type"];
  const boundary = multipartBoundary(contentType);
  if (boundary === undefined) {
    const bytes = await readLimited(req, store.maxFileBytes, "binary");
    const disposition = req.headers["content-disposition"];
    return {
      name:
        disposition === undefined
          ? undefined
          : dispositionParam(`x; ${disposition.replace(/^[^;]*;?/, "")}`, "filename"),
      contentType: contentType ?? "application/octet-stream",
      bytes,
      fields: new Map(),
    };
  }
  const body = await readLimited(req, store.maxFileBytes + MULTIPART_OVERHEAD_BYTES, "multipart body");
  const parts = parseMultipart(body, boundary);
  const fields = new Map<string, FormPart>();
  for (const part of parts) {
    if (fields.has(part.name)) throw badRequest(`multipart part "${part.name}" given more than once`);
    fields.set(part.name, part);
  }
  const file = fields.get("file");
  if (file === undefined) throw badRequest(`multipart body without a part named "file"`);
  fields.delete("file");
  return {
    name: file.filename,
    contentType: file.contentType ?? "application/octet-stream",
    bytes: file.data,
    fields,
  };
};
