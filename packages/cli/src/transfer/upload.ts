/**
 * A file as the binary of a new event, the way the platform expects log files and
 * configuration snapshots: the device's managed object id from its external id, `POST
 * /event/events`, then `POST /event/events/{id}/binaries` (multipart, the file streamed from
 * disk). Each step is retried a bounded number of times; a binary POST retried after a cut that
 * the server did receive (409) is replaced with `PUT`. A retried event POST may leave an event
 * without a binary behind: the operation still names the one that has it.
 */
import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import * as t from "io-ts";
import type { EventBinaryUpload, UploadResult } from "./types.js";
import {
  authHeaders,
  bodyExcerpt,
  errorText,
  failure,
  idleSignal,
  NO_CREDENTIALS,
  retryableStatus,
  withRetries,
  type Failure,
  type TenantCredentials,
  type TransferSettings,
} from "./http.js";

export interface UploadSettings extends TransferSettings {
  /** Managed object ids by external id, filled as they are resolved. */
  readonly managedObjectIds: Map<string, string>;
}

const Id = t.union([t.string, t.number]);
const ExternalIdResponse = t.type({ managedObject: t.type({ id: Id }) });
const EventResponse = t.type({ id: Id });

interface Ok<T> {
  readonly value: T;
}
const isFailure = <T>(r: Ok<T> | Failure): r is Failure => !("value" in r);

/** The tenant's URL of `path` (the tenant URL may carry a path prefix). */
export const tenantEndpoint = (tenant: URL, path: string): URL =>
  new URL(`${tenant.href.replace(/\/+$/, "")}${path}`);

export const uploadEventBinary = async (
  settings: UploadSettings,
  upload: EventBinaryUpload,
  signal?: AbortSignal,
): Promise<UploadResult> => {
  try {
    await stat(upload.path);
  } catch (e) {
    return { ok: false, retryable: false, reason: `cannot read ${upload.path}: ${errorText(e)}` };
  }
  const retried = <T>(step: () => Promise<Ok<T> | Failure>) =>
    withRetries(settings.attempts, settings.backoffMs, signal, step, isFailure);
  try {
    let source = settings.managedObjectIds.get(upload.deviceId);
    if (source === undefined) {
      const path = `/identity/externalIds/c8y_Serial/${encodeURIComponent(upload.deviceId)}`;
      const found = await retried(() =>
        requestJson(settings, "GET", path, undefined, ExternalIdResponse, signal),
      );
      if (isFailure(found)) return { ok: false, ...found };
      source = String(found.value.managedObject.id);
      settings.managedObjectIds.set(upload.deviceId, source);
    }
    const event = {
      source: { id: source },
      type: upload.eventType,
      time: new Date().toISOString(),
      text: upload.text,
    };
    const created = await retried(() =>
      requestJson(settings, "POST", "/event/events", event, EventResponse, signal),
    );
    if (isFailure(created)) return { ok: false, ...created };
    const binaries = `/event/events/${encodeURIComponent(String(created.value.id))}/binaries`;
    let method: "POST" | "PUT" = "POST";
    const sent = await retried(async () => {
      const result = await sendFile(settings, method, binaries, upload, signal);
      // 409: an earlier POST whose answer was lost did attach a file: replace it.
      if (isFailure(result) && method === "POST" && result.reason.startsWith("HTTP 409")) {
        method = "PUT";
        return failure(result.reason, true);
      }
      return result;
    });
    if (isFailure(sent)) return { ok: false, ...sent };
    return { ok: true, url: tenantEndpoint(settings.tenant, binaries).href };
  } catch (e) {
    return { ok: false, retryable: false, reason: `upload of ${upload.path} failed: ${errorText(e)}` };
  }
};

const credentialsOrFailure = (settings: UploadSettings): TenantCredentials | Failure => {
  const credentials = settings.credentials();
  // Uploads always go to the tenant: without the device's credentials they cannot succeed yet.
  return credentials ?? failure(NO_CREDENTIALS, true);
};

const requestJson = async <A>(
  settings: UploadSettings,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  codec: t.Decoder<unknown, A>,
  signal: AbortSignal | undefined,
): Promise<Ok<A> | Failure> => {
  const credentials = credentialsOrFailure(settings);
  if ("reason" in credentials) return credentials;
  const url = tenantEndpoint(settings.tenant, path);
  const idle = idleSignal(settings.idleTimeoutMs, signal);
  try {
    const response = await settings.fetch(url, {
      method,
      redirect: "error",
      signal: idle.signal,
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...authHeaders(url, settings.tenant, credentials),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status < 200 || response.status >= 300)
      return failure(
        `HTTP ${response.status} from ${method} ${url.href}${await bodyExcerpt(response)}`,
        retryableStatus(response.status),
      );
    const decoded = codec.decode(await response.json());
    if (decoded._tag === "Left")
      return failure(`unexpected answer from ${method} ${url.href}: no id in it`, false);
    return { value: decoded.right };
  } catch (e) {
    return failure(`${method} ${url.href} failed: ${idle.timedOut() ? "timed out" : errorText(e)}`, true);
  } finally {
    idle.done();
  }
};

const sendFile = async (
  settings: UploadSettings,
  method: "POST" | "PUT",
  path: string,
  upload: EventBinaryUpload,
  signal: AbortSignal | undefined,
): Promise<Ok<true> | Failure> => {
  const credentials = credentialsOrFailure(settings);
  if ("reason" in credentials) return credentials;
  const url = tenantEndpoint(settings.tenant, path);
  let form: FormData;
  try {
    // A Blob backed by the file: fetch streams it from disk with a known length.
    const blob = await openAsBlob(upload.path, { type: upload.contentType });
    form = new FormData();
    form.append("file", blob, upload.fileName);
  } catch (e) {
    return failure(`cannot read ${upload.path}: ${errorText(e)}`, false);
  }
  // Nothing is received while the file is sent: allow for it at 64 KiB/s at least.
  const idle = idleSignal(
    settings.idleTimeoutMs + Math.ceil((form.get("file") as Blob).size / 65.536),
    signal,
  );
  try {
    const response = await settings.fetch(url, {
      method,
      redirect: "error",
      signal: idle.signal,
      headers: { accept: "application/json", ...authHeaders(url, settings.tenant, credentials) },
      body: form,
    });
    const excerpt = await bodyExcerpt(response);
    if (response.status < 200 || response.status >= 300)
      return failure(
        `HTTP ${response.status} from ${method} ${url.href}${excerpt}`,
        retryableStatus(response.status),
      );
    return { value: true };
  } catch (e) {
    return failure(`${method} ${url.href} failed: ${idle.timedOut() ? "timed out" : errorText(e)}`, true);
  } finally {
    idle.done();
  }
};
