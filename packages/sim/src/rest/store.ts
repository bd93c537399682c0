/**
 * The sim's binary repository: the bytes of event binaries and inventory binaries, held in memory
 * (outside the platform model, whose state stays plain small JSON) under two limits — one file,
 * and all files together. Each entry keeps its SHA-256 for `Digest` and `ETag`.
 */
import { createHash } from "node:crypto";
import { RestError } from "./http.js";

export interface BinaryLimits {
  /** Largest single binary. Default 64 MiB. */
  readonly maxFileBytes?: number;
  /** All binaries together. Default 512 MiB. */
  readonly maxTotalBytes?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 512 * 1024 * 1024;

export interface StoredBinary {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: Buffer;
  /** Lower-case hex SHA-256 of `bytes`. */
  readonly sha256: string;
  readonly createdMs: number;
  /** Who uploaded it: `admin` or the device's user name. */
  readonly owner: string;
}

export class BinaryStore {
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
  private readonly entries = new Map<string, StoredBinary>();
  private total = 0;

  constructor(limits: BinaryLimits = {}) {
    this.maxFileBytes = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.maxTotalBytes = limits.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    for (const [name, value] of [
      ["maxFileBytes", this.maxFileBytes],
      ["maxTotalBytes", this.maxTotalBytes],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 1)
        throw new TypeError(`binaries.${name}: must be a positive integer number of bytes (got ${value})`);
  }

  get(key: string): StoredBinary | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Bytes held now. */
  totalBytes(): number {
    return this.total;
  }

  /** Stores (or replaces) `key`; 413 naming the limit when it does not fit. */
  put(key: string, entry: Omit<StoredBinary, "sha256">): StoredBinary {
    const size = entry.bytes.length;
    if (size > this.maxFileBytes)
      throw new RestError(
        413,
        "Request Entity Too Large",
        `binary of ${size} bytes is larger than the per-file limit of ${this.maxFileBytes} bytes`,
      );
    const replaced = this.entries.get(key)?.bytes.length ?? 0;
    if (this.total - replaced + size > this.maxTotalBytes)
      throw new RestError(
        413,
        "Request Entity Too Large",
        `storing ${size} more bytes would exceed the total binary limit of ${this.maxTotalBytes} bytes (${this.total} held)`,
      );
    const stored: StoredBinary = { ...entry, sha256: createHash("sha256").update(entry.bytes).digest("hex") };
    this.entries.set(key, stored);
    this.total += size - replaced;
    return stored;
  }

  /** Entries whose key starts with `prefix`, with the rest of their key, in insertion order. */
  withPrefix(prefix: string): { readonly id: string; readonly binary: StoredBinary }[] {
    return [...this.entries]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, binary]) => ({ id: key.slice(prefix.length), binary }));
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.total -= entry.bytes.length;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
