/**
 * The `Transfer` over the tenant's REST API with Node's built-in `fetch`: credentials only for
 * the tenant's own origin, TLS verification on (a private CA: `NODE_EXTRA_CA_CERTS`).
 */
import type { Transfer } from "./types.js";
import { downloadFile } from "./download.js";
import { uploadEventBinary } from "./upload.js";
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_IDLE_TIMEOUT_MS,
  defaultBackoffMs,
  type HttpTransferOptions,
} from "./http.js";

export type { HttpTransferOptions, TenantCredentials } from "./http.js";

/** Throws only for options that cannot work (a tenant URL that is not http/https). */
export const createHttpTransfer = (options: HttpTransferOptions): Transfer => {
  const tenant = new URL(options.tenantUrl);
  if (tenant.protocol !== "http:" && tenant.protocol !== "https:")
    throw new Error(`tenant URL ${options.tenantUrl} must be http:// or https://`);
  const settings = {
    tenant,
    credentials: options.credentials,
    attempts: Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS),
    backoffMs: options.backoffMs ?? defaultBackoffMs,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    fetch: options.fetch ?? fetch,
  };
  const managedObjectIds = new Map<string, string>();
  return {
    download: (url, dest, check, signal) => downloadFile(settings, url, dest, check, signal),
    uploadEventBinary: (upload, signal) =>
      uploadEventBinary({ ...settings, managedObjectIds }, upload, signal),
  };
};
