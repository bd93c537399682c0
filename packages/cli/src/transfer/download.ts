/**
 * One download into a file: streamed to `<dest>.part`, resumed with `Range` where the server
 * answers 206 (a full download where it answers 200), retried a bounded number of times on cut
 * connections, 5xx and timeouts, checked (Content-Length, `Digest: sha-256=`, the caller's
 * size and SHA-256), fsynced and only then renamed to `dest`.
 *
 * `<dest>.part.json` remembers which URL (and ETag) the partial file belongs to: a partial file
 * of another URL is never resumed, and a resume sends `If-Range` with the ETag so that a
 * changed file is sent whole.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { syncDir } from "../durable-fs.js";
import type { DownloadCheck, DownloadResult } from "./types.js";
import {
  bodyExcerpt,
  errorText,
  failure,
  fetchFollowing,
  idleSignal,
  NO_CREDENTIALS,
  retryableStatus,
  sameOrigin,
  withRetries,
  type Failure,
  type TransferSettings,
} from "./http.js";

export type DownloadSettings = TransferSettings;

interface Done {
  readonly done: true;
  readonly bytes: number;
  readonly sha256: string;
}

const isFailure = (r: Done | Failure): r is Failure => !("done" in r);

interface PartMeta {
  readonly url: string;
  readonly etag: string | null;
}

export const downloadFile = async (
  settings: DownloadSettings,
  url: string,
  dest: string,
  check: DownloadCheck,
  signal?: AbortSignal,
): Promise<DownloadResult> => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, retryable: false, reason: `not a valid URL: ${JSON.stringify(url)}` };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return { ok: false, retryable: false, reason: `cannot download ${url}: only http and https URLs` };
  try {
    const result = await withRetries(
      settings.attempts,
      settings.backoffMs,
      signal,
      () => attempt(settings, parsed, dest, check, signal),
      isFailure,
    );
    if (isFailure(result)) return { ok: false, reason: result.reason, retryable: result.retryable };
    return { ok: true, path: dest, bytes: result.bytes, sha256: result.sha256 };
  } catch (e) {
    // Nothing above should throw; if it does, it is still a value for the caller.
    return { ok: false, retryable: false, reason: `download of ${url} failed: ${errorText(e)}` };
  }
};

const partOf = (dest: string) => `${dest}.part`;
const metaOf = (dest: string) => `${dest}.part.json`;

const readMeta = async (dest: string): Promise<PartMeta | undefined> => {
  try {
    const meta = JSON.parse(await readFile(metaOf(dest), "utf8")) as Partial<PartMeta>;
    return typeof meta.url === "string" ? { url: meta.url, etag: meta.etag ?? null } : undefined;
  } catch {
    return undefined;
  }
};

const sizeOf = async (path: string): Promise<number> => {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
};

const discardPart = async (dest: string): Promise<void> => {
  await rm(partOf(dest), { force: true }).catch(() => {});
  await rm(metaOf(dest), { force: true }).catch(() => {});
};

/** A write to the local disk failed: retrying does not help (permissions, full disk). */
class DiskError extends Error {}

const disk = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
  try {
    return await action();
  } catch (e) {
    throw new DiskError(`cannot ${what}: ${errorText(e)}`);
  }
};

/** `Content-Range: bytes start-end/total` (total may be `*`). */
const parseContentRange = (
  header: string | null,
): { start: number; total: number | undefined } | { unsatisfied: number } | undefined => {
  if (header === null) return undefined;
  const range = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header.trim());
  if (range !== null)
    return { start: Number(range[1]), total: range[3] === "*" ? undefined : Number(range[3]) };
  const unsatisfied = /^bytes\s+\*\/(\d+)$/i.exec(header.trim());
  return unsatisfied === null ? undefined : { unsatisfied: Number(unsatisfied[1]) };
};

/** The SHA-256 of `Digest: sha-256=<base64>` (RFC 3230) as lower-case hex, if the header has one. */
export const digestSha256 = (header: string | null): string | undefined => {
  if (header === null) return undefined;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== "sha-256") continue;
    const hex = Buffer.from(part.slice(eq + 1).trim(), "base64").toString("hex");
    return hex.length === 64 ? hex : undefined;
  }
  return undefined;
};

const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });

const attempt = async (
  settings: DownloadSettings,
  url: URL,
  dest: string,
  check: DownloadCheck,
  signal: AbortSignal | undefined,
): Promise<Done | Failure> => {
  try {
    return await attemptOnce(settings, url, dest, check, signal);
  } catch (e) {
    if (e instanceof DiskError) return failure(e.message, false);
    return failure(`download of ${url.href} failed: ${errorText(e)}`, true);
  }
};

const attemptOnce = async (
  settings: DownloadSettings,
  url: URL,
  dest: string,
  check: DownloadCheck,
  signal: AbortSignal | undefined,
): Promise<Done | Failure> => {
  const part = partOf(dest);
  const meta = await readMeta(dest);
  if (meta?.url !== url.href) await discardPart(dest);
  const offset = meta?.url === url.href ? await sizeOf(part) : 0;
  const headers: Record<string, string> = { accept: "*/*" };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (meta?.etag != null) headers["if-range"] = meta.etag;
  }
  const credentials = settings.credentials();
  // The tenant's files need the device's credentials: without them, do not even ask.
  if (credentials === undefined && sameOrigin(url, settings.tenant)) return failure(NO_CREDENTIALS, true);
  const idle = idleSignal(settings.idleTimeoutMs, signal);
  let received = 0;
  try {
    let response: Response;
    try {
      ({ response } = await fetchFollowing(
        settings.fetch,
        url,
        { headers, signal: idle.signal },
        settings.tenant,
        credentials,
      ));
    } catch (e) {
      return failure(`cannot reach ${url.origin}: ${idle.timedOut() ? "timed out" : errorText(e)}`, true);
    }
    const range = parseContentRange(response.headers.get("content-range"));
    if (response.status === 416 && offset > 0 && range !== undefined && "unsatisfied" in range) {
      // The partial file is already whole (a cut after the last byte): check it as it is.
      await response.body?.cancel().catch(() => {});
      if (range.unsatisfied === offset) return finish(dest, url, offset, check, response, true);
      await discardPart(dest);
      return failure(
        `${url.href}: partial file of ${offset} bytes does not fit (size ${range.unsatisfied})`,
        true,
      );
    }
    if (response.status !== 200 && response.status !== 206) {
      const excerpt = await bodyExcerpt(response);
      return failure(
        `HTTP ${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`} from ${url.href}${excerpt}`,
        retryableStatus(response.status),
      );
    }
    const resumed = response.status === 206;
    let start = 0;
    let total: number | undefined;
    const length = response.headers.get("content-length");
    if (resumed) {
      if (range === undefined || !("start" in range) || range.start !== offset) {
        await response.body?.cancel().catch(() => {});
        await discardPart(dest);
        return failure(`${url.href} answered a range that does not start at byte ${offset}`, true);
      }
      start = offset;
      total = range.total ?? (length === null ? undefined : offset + Number(length));
    } else total = length === null ? undefined : Number(length);
    if (!resumed)
      await disk(`write ${metaOf(dest)}`, () =>
        writeFile(metaOf(dest), JSON.stringify({ url: url.href, etag: response.headers.get("etag") })),
      );
    const file = await disk(`write ${part}`, () => open(part, resumed ? "a" : "w"));
    let streamError: unknown;
    try {
      if (response.body !== null) {
        try {
          for await (const chunk of response.body) {
            idle.touch();
            const bytes = chunk as Uint8Array;
            await disk(`write ${part}`, () => writeAll(file, bytes));
            received += bytes.byteLength;
          }
        } catch (e) {
          if (e instanceof DiskError) throw e;
          streamError = e;
        }
      }
      await disk(`write ${part}`, () => file.sync());
    } finally {
      await file.close().catch(() => {});
    }
    const size = start + received;
    if (streamError !== undefined || (total !== undefined && size < total)) {
      const cause = idle.timedOut()
        ? "timed out"
        : streamError === undefined
          ? "connection closed"
          : errorText(streamError);
      return failure(
        `download of ${url.href} cut after ${size}${total === undefined ? "" : ` of ${total}`} bytes (${cause})`,
        true,
      );
    }
    if (total !== undefined && size > total) {
      await discardPart(dest);
      return failure(`${url.href} sent ${size} bytes, more than its Content-Length ${total}`, true);
    }
    return finish(dest, url, size, check, response, resumed || offset > 0);
  } finally {
    idle.done();
  }
};

const writeAll = async (file: FileHandle, bytes: Uint8Array): Promise<void> => {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written);
    written += bytesWritten;
  }
};

/** Checks the complete partial file and renames it to `dest`. */
const finish = async (
  dest: string,
  url: URL,
  size: number,
  check: DownloadCheck,
  response: Response,
  resumed: boolean,
): Promise<Done | Failure> => {
  const part = partOf(dest);
  const sha256 = await disk(`read ${part}`, () => sha256File(part));
  const served = digestSha256(response.headers.get("digest"));
  if (served !== undefined && served !== sha256) {
    await discardPart(dest);
    // A resumed file may join two versions of the file: download it whole once more.
    if (resumed) return failure(`resumed download of ${url.href} does not match its Digest`, true);
    return failure(`checksum mismatch: expected ${served} got ${sha256} (Digest of ${url.href})`, false);
  }
  if (check.size !== undefined && check.size !== size) {
    await discardPart(dest);
    return failure(`size mismatch: expected ${check.size} bytes got ${size} (${url.href})`, false);
  }
  if (check.sha256 !== undefined && check.sha256.toLowerCase() !== sha256) {
    await discardPart(dest);
    return failure(
      `checksum mismatch: expected ${check.sha256.toLowerCase()} got ${sha256} (${url.href})`,
      false,
    );
  }
  await disk(`rename ${part} to ${dest}`, () => rename(part, dest));
  await rm(metaOf(dest), { force: true }).catch(() => {});
  await syncDir(dirname(dest));
  return { done: true, bytes: size, sha256 };
};
