/**
 * A plain HTTP(S) download with Node's `fetch` (TLS verification on), the SHA-256 computed while
 * streaming and checked at the end. Used by the operation handlers until the tenant-aware
 * transfer (`../transfer/`) is wired in: no credentials, no resume, no retry.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DownloadResult, Transfer, UploadResult } from "../transfer/types.js";

export const plainTransfer: Transfer = {
  async download(url, dest, check, signal): Promise<DownloadResult> {
    let response: Response;
    try {
      response = await fetch(url, signal === undefined ? {} : { signal });
    } catch (e) {
      return { ok: false, reason: `cannot download ${url}: ${(e as Error).message}`, retryable: true };
    }
    if (!response.ok || response.body === null)
      return {
        ok: false,
        reason: `cannot download ${url}: HTTP ${response.status}`,
        retryable: response.status >= 500,
      };
    const hash = createHash("sha256");
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as never), count, createWriteStream(dest));
    } catch (e) {
      await rm(dest, { force: true });
      return { ok: false, reason: `download of ${url} cut: ${(e as Error).message}`, retryable: true };
    }
    const sha256 = hash.digest("hex");
    if (check.sha256 !== undefined && check.sha256 !== sha256) {
      await rm(dest, { force: true });
      return {
        ok: false,
        reason: `checksum mismatch for ${url}: expected SHA-256 ${check.sha256}, got ${sha256}`,
        retryable: false,
      };
    }
    if (check.size !== undefined && check.size !== bytes)
      return {
        ok: false,
        reason: `size mismatch for ${url}: expected ${check.size} bytes, got ${bytes}`,
        retryable: false,
      };
    return { ok: true, path: dest, bytes, sha256 };
  },
  uploadEventBinary(): Promise<UploadResult> {
    return Promise.resolve({ ok: false, reason: "uploads need the tenant transfer", retryable: false });
  },
};
