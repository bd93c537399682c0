/**
 * The `operations` section of the config file into `run`'s settings: decoded and checked
 * against the state directory, the flags that already handle a fragment, and the engine
 * options it implies (the fragments are supported; those with a restart step resumable).
 */
import * as E from "fp-ts/lib/Either.js";
import { formatProblems } from "@c8ylink/core";
import { UsageError } from "../args.js";
import { decodeOperations, resumableFragments, type OperationsConfig } from "./codec.js";

export const resolveOperations = (
  section: unknown,
  where: { readonly configPath: string | undefined; readonly stateDir: string | undefined },
  flags: { readonly shell: boolean; readonly restartCommand: string | undefined },
  builtinFragments: readonly string[] = [],
): OperationsConfig => {
  if (section === undefined) return {};
  const file = where.configPath === undefined ? "" : `config file ${where.configPath}: `;
  if (typeof section === "string")
    throw new UsageError(
      `${file}operations: ${JSON.stringify(section)} looks like the engine option "engine.operations" (by-id or static); the top-level "operations" declares operation handlers (docs/operations.md)`,
    );
  const decoded = decodeOperations(section, { stateDir: where.stateDir !== undefined });
  if (E.isLeft(decoded))
    throw new UsageError(
      `${file}invalid operation handlers:\n${formatProblems(decoded.left)}\nSee docs/operations.md.`,
    );
  const operations = decoded.right;
  const taken = [
    ["c8y_Command", flags.shell ? "--shell (handlers.shell)" : undefined],
    [
      "c8y_Restart",
      flags.restartCommand !== undefined ? "--restart-command (handlers.restartCommand)" : undefined,
    ],
  ] as const;
  for (const [fragment, by] of taken)
    if (by !== undefined && Object.hasOwn(operations, fragment))
      throw new UsageError(
        `${file}operations.${fragment}: ${by} already handles ${fragment}: give one of them`,
      );
  for (const fragment of builtinFragments)
    if (Object.hasOwn(operations, fragment))
      throw new UsageError(
        `${file}operations.${fragment}: a built-in handler (configuration, logs, software or deviceProfile) already handles ${fragment}: give one of them`,
      );
  return operations;
};

/**
 * The engine options the declared handlers imply, merged into what the user configured. The
 * built-in device profile runs its firmware part with the `c8y_Firmware` handler under the
 * profile's own operation: when that handler restarts the device, the profile must be resumed
 * too (its firmware part then continues after the restart, from the same progress file).
 */
export const withOperationOptions = (
  engine: Record<string, unknown>,
  operations: OperationsConfig,
  builtins: { readonly deviceProfile?: boolean } = {},
): void => {
  const fragments = Object.keys(operations);
  if (fragments.length === 0) return;
  const union = (current: unknown, more: readonly string[]): unknown =>
    Array.isArray(current) ? [...current, ...more.filter((f) => !current.includes(f))] : [...more];
  engine.supportedOperations = union(engine.supportedOperations, fragments);
  const resumable = resumableFragments(operations);
  if (builtins.deviceProfile === true && resumable.includes("c8y_Firmware"))
    resumable.push("c8y_DeviceProfile");
  if (resumable.length > 0) engine.resumableOperations = union(engine.resumableOperations, resumable);
};
