/**
 * The built-in handlers as `c8ylink run` configures them: their config keys (added to the run
 * config file's codec), the fragments and inventory they declare, and the handlers themselves.
 */
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as t from "io-ts";
import type { OperationHandler } from "@c8ylink/mqtt";
import { HttpConfigCodec, tenantHttpUrl, type HttpConfig } from "../../transfer/config.js";
import type { Transfer } from "../../transfer/types.js";
import { KeyedQueue, safeName, type BuiltinDeps } from "./common.js";
import {
  ConfigurationConfigCodec,
  configurationDownloadHandler,
  configurationUploadHandler,
  type ConfigurationConfig,
} from "./configuration.js";
import { deviceProfileHandler, type HandlerLookup } from "./device-profile.js";
import { LogsConfigCodec, logfileHandler, type LogsConfig } from "./logs.js";
import { SoftwareConfigCodec, softwareHandlers, type SoftwareConfig } from "./software.js";

/** Optional keys of the run config file for the built-in handlers (docs/operations.md). */
export const BUILTIN_CONFIG_PROPS = {
  http: HttpConfigCodec,
  configuration: ConfigurationConfigCodec,
  logs: LogsConfigCodec,
  software: SoftwareConfigCodec,
  deviceProfile: t.boolean,
};

export interface BuiltinConfig {
  readonly http?: HttpConfig;
  readonly configuration?: ConfigurationConfig;
  readonly logs?: LogsConfig;
  readonly software?: SoftwareConfig;
  readonly deviceProfile?: boolean;
}

const has = (r: Readonly<Record<string, unknown>> | undefined): boolean =>
  r !== undefined && Object.keys(r).length > 0;

/** The operation fragments the config enables, for `114`. */
export const builtinFragments = (c: BuiltinConfig): string[] => [
  ...(has(c.configuration) ? ["c8y_UploadConfigFile", "c8y_DownloadConfigFile"] : []),
  ...(has(c.logs) ? ["c8y_LogfileRequest"] : []),
  ...(c.software !== undefined ? ["c8y_SoftwareUpdate"] : []),
  ...(c.deviceProfile === true ? ["c8y_DeviceProfile"] : []),
];

/** The inventory the config declares: log types (`118`) and configuration types (`119`). */
export const builtinInventory = (
  c: BuiltinConfig,
): { supportedLogs?: string[]; supportedConfigurations?: string[] } => ({
  ...(has(c.logs) ? { supportedLogs: Object.keys(c.logs ?? {}) } : {}),
  ...(has(c.configuration) ? { supportedConfigurations: Object.keys(c.configuration ?? {}) } : {}),
});

/** The tenant's HTTP URL when a built-in handler needs one (or what to set), undefined when none does. */
export const builtinHttpUrl = (
  c: BuiltinConfig,
  brokerUrl: string,
): { url: string } | { problem: string } | undefined =>
  builtinFragments(c).length === 0 ? undefined : tenantHttpUrl(c.http, brokerUrl);

export interface Builtins {
  /** Handlers by fragment. */
  readonly handlers: ReadonlyMap<string, OperationHandler>;
  /** What to do once the engine runs (report the software list); a problem as a string. */
  readonly atStart: () => Promise<string | undefined>;
}

export interface BuiltinEnvironment {
  readonly deviceId: string;
  /** The REST file transfer with the tenant (the one `run` shares with the declared handlers). */
  readonly transfer: Transfer;
  readonly submit: BuiltinDeps["submit"];
  /** Transfer downloads and snapshots go to `<stateDir>/transfer` (else a temp directory). */
  readonly stateDir: string | undefined;
  /** Every handler of the device, for the device profile's parts (looked up when one runs). */
  readonly lookup: HandlerLookup;
}

/** Builds the handlers the config asks for (creates their work directory). */
export const createBuiltins = async (c: BuiltinConfig, env: BuiltinEnvironment): Promise<Builtins> => {
  const workDir =
    env.stateDir === undefined
      ? join(tmpdir(), `c8ylink-${safeName(env.deviceId)}-transfer`)
      : join(env.stateDir, "transfer");
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const deps: BuiltinDeps = {
    transfer: env.transfer,
    submit: env.submit,
    deviceId: env.deviceId,
    workDir,
    queue: new KeyedQueue(),
  };
  const handlers = new Map<string, OperationHandler>();
  if (has(c.configuration) && c.configuration !== undefined) {
    handlers.set("c8y_UploadConfigFile", configurationUploadHandler(c.configuration, deps));
    handlers.set("c8y_DownloadConfigFile", configurationDownloadHandler(c.configuration, deps));
  }
  if (has(c.logs) && c.logs !== undefined) handlers.set("c8y_LogfileRequest", logfileHandler(c.logs, deps));
  const software = c.software === undefined ? undefined : softwareHandlers(c.software, deps);
  if (software !== undefined) handlers.set("c8y_SoftwareUpdate", software.update);
  if (c.deviceProfile === true) handlers.set("c8y_DeviceProfile", deviceProfileHandler(env.lookup, deps));
  return {
    handlers,
    atStart: async () => (software === undefined ? undefined : software.reportList()),
  };
};
