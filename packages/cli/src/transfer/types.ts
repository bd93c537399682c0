/**
 * The contract between the operation handlers (`../operations/`) and the file transfer with the
 * tenant's REST API (this folder): handlers depend on these types only, so the transfer can be
 * replaced by an in-memory one in tests.
 *
 * Results are values: a transfer never throws for anything the network, the tenant or the disk
 * can do; `retryable` says whether trying again later can help (a cut connection, a 5xx) or
 * not (a 404, a checksum mismatch, a full disk).
 */

/** What a finished download is checked against (each check only when given). */
export interface DownloadCheck {
  /** Expected SHA-256 of the whole file, lower-case hex. */
  readonly sha256?: string;
  /** Expected size in bytes. */
  readonly size?: number;
}

export type DownloadResult =
  | { readonly ok: true; readonly path: string; readonly bytes: number; readonly sha256: string }
  | { readonly ok: false; readonly reason: string; readonly retryable: boolean };

/** One upload of a file as the binary of a new event on a device (or child) of the tenant. */
export interface EventBinaryUpload {
  /** External id (c8y_Serial) of the device or child the event belongs to. */
  readonly deviceId: string;
  /** Event type, e.g. `c8y_Logfile` or `c8y_ConfigurationDump`. */
  readonly eventType: string;
  readonly text: string;
  readonly fileName: string;
  readonly contentType: string;
  /** Path of the file to upload (streamed, never held whole in memory). */
  readonly path: string;
}

export type UploadResult =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly reason: string; readonly retryable: boolean };

export interface Transfer {
  /**
   * Downloads `url` (a URL the platform gave in an operation, with the device's credentials when
   * it points at the tenant) into `dest`, resuming a partial `dest` where the server allows it and
   * retrying a bounded number of times; the file is complete and checked when `ok`.
   */
  download(url: string, dest: string, check: DownloadCheck, signal?: AbortSignal): Promise<DownloadResult>;
  /** Creates an event and attaches the file as its binary; `url` is what the status row names. */
  uploadEventBinary(upload: EventBinaryUpload, signal?: AbortSignal): Promise<UploadResult>;
}
