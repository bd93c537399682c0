/**
 * Configuration files: `"configuration": { "<type>": { "path": "/etc/x.conf", "backup": true } }`.
 *
 * - The types are declared with `119` (c8y_SupportedConfigurations).
 * - `c8y_UploadConfigFile` (526 with a type; 520 without, when exactly one type is configured):
 *   a snapshot of the file is uploaded as the binary of a `c8y_ConfigurationDump` event; the
 *   operation ends SUCCESSFUL with the binary's URL as its parameter.
 * - `c8y_DownloadConfigFile` (524 with a type; 521 without, as for 520): the file is downloaded
 *   next to the target, the old file copied to `<path>.bak` (unless `"backup": false`), the new
 *   one given the old one's mode and renamed over it (atomic), and `120,<type>,<url>,<file>`
 *   reports the installed configuration.
 */
import { chmod, copyFile, rename, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as t from "io-ts";
import { strictObject } from "@c8ylink/core";
import type { Operation, OperationContext, OperationHandler, OperationOutcome } from "@c8ylink/mqtt";
import {
  NonEmptyString,
  errorText,
  namedEntries,
  removeDownloadLeftovers,
  removeQuietly,
  safeName,
  submitFor,
  syncDir,
  type BuiltinDeps,
} from "./common.js";

export const ConfigurationEntryCodec = strictObject(
  "ConfigurationType",
  { path: NonEmptyString },
  { backup: t.boolean },
);
export const ConfigurationConfigCodec = namedEntries("ConfigurationTypes", ConfigurationEntryCodec);
export type ConfigurationConfig = t.TypeOf<typeof ConfigurationConfigCodec>;

type Entry = t.TypeOf<typeof ConfigurationEntryCodec>;

const failed = (reason: string): OperationOutcome => ({ status: "failed", reason });

/** The configured type an operation names (or the only one, for the legacy templates without a type). */
const typeOf = (
  config: ConfigurationConfig,
  type: string | undefined,
): { type: string; entry: Entry } | { problem: string } => {
  const types = Object.keys(config);
  if (type === undefined || type === "") {
    const [only] = types;
    if (types.length === 1 && only !== undefined && config[only] !== undefined)
      return { type: only, entry: config[only] };
    return {
      problem: `the operation names no configuration type and ${types.length} are configured (${types.join(", ")})`,
    };
  }
  const entry = Object.hasOwn(config, type) ? config[type] : undefined;
  if (entry === undefined)
    return {
      problem: `configuration type "${type}" is not configured on this device (configured: ${types.join(", ")})`,
    };
  return { type, entry };
};

/** `c8y_UploadConfigFile` (520, 526): a snapshot of the file as a `c8y_ConfigurationDump` event binary. */
export const configurationUploadHandler =
  (config: ConfigurationConfig, deps: BuiltinDeps): OperationHandler =>
  async (op: Operation, context: OperationContext) => {
    if (op.template !== "526" && op.template !== "520")
      return failed(`unexpected ${op.fragment} template ${op.template}`);
    const found = typeOf(config, op.template === "526" ? op.type : undefined);
    if ("problem" in found) return failed(found.problem);
    const snapshot = join(deps.workDir, `config-upload-${safeName(found.type)}-${safeName(context.key)}`);
    try {
      // A copy: the file may change while it is sent, and the upload must match its length.
      await copyFile(found.entry.path, snapshot);
    } catch (e) {
      return failed(`cannot read ${found.entry.path}: ${errorText(e)}`);
    }
    try {
      const result = await deps.transfer.uploadEventBinary({
        deviceId: context.deviceId,
        eventType: "c8y_ConfigurationDump",
        text: `Configuration ${found.type} (${found.entry.path})`,
        fileName: basename(found.entry.path),
        contentType: "application/octet-stream",
        path: snapshot,
      });
      if (!result.ok) return failed(`upload of ${found.entry.path} failed: ${result.reason}`);
      return { status: "successful", parameters: [result.url] };
    } finally {
      await removeQuietly(snapshot);
    }
  };

/** `c8y_DownloadConfigFile` (521, 524): download, back up, replace atomically, report `120`. */
export const configurationDownloadHandler = (
  config: ConfigurationConfig,
  deps: BuiltinDeps,
): OperationHandler => {
  const handler = async (op: Operation, context: OperationContext): Promise<OperationOutcome> => {
    if (op.template !== "524" && op.template !== "521")
      return failed(`unexpected ${op.fragment} template ${op.template}`);
    const found = typeOf(config, op.template === "524" ? op.type : undefined);
    if ("problem" in found) return failed(found.problem);
    const { path, backup } = found.entry;
    return deps.queue.run(`file:${path}`, () => install(context, found.type, path, backup !== false, op.url));
  };

  /** Downloads `url` next to `path`, keeps a backup and renames it over `path`; then reports `120`. */
  const install = async (
    context: OperationContext,
    type: string,
    path: string,
    backup: boolean,
    url: string,
  ): Promise<OperationOutcome> => {
    // Next to the target: the final rename stays on one file system, so it is atomic.
    const incoming = join(dirname(path), `.${basename(path)}.c8ylink-new`);
    const result = await deps.transfer.download(url, incoming, {});
    if (!result.ok) {
      await removeDownloadLeftovers(incoming);
      return failed(`download of configuration ${type} failed: ${result.reason}`);
    }
    try {
      const old = await stat(path).catch(() => undefined);
      if (old !== undefined) {
        await chmod(incoming, old.mode & 0o7777);
        if (backup) await copyFile(path, `${path}.bak`);
      }
      await rename(incoming, path);
      await syncDir(dirname(path));
    } catch (e) {
      await removeQuietly(incoming);
      return failed(`cannot install configuration ${type} at ${path}: ${errorText(e)}`);
    }
    submitFor(deps, context, { template: "120", type, url, fileName: basename(path) });
    return { status: "successful" };
  };
  return handler;
};
