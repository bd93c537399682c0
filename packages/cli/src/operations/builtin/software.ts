/**
 * Software: `"software": { "list": [...], "install": [...], "remove": [...] }`, each a command
 * (program, then arguments; never a shell) with placeholders `{name}`, `{version}`, `{type}`,
 * `{url}` and, for install, `{file}` (the downloaded package).
 *
 * - `list` prints the installed software, one `name<TAB>version[<TAB>type]` per line (or
 *   separated by spaces: name, then version, then type; blank lines and lines starting with `#`
 *   are skipped). It is reported with `140` (plus `141` rows for a list too long for one
 *   message) at start and after each update.
 * - `c8y_SoftwareUpdate` (528, or 529 with software types) runs each item in order: an install
 *   whose command names `{file}` first downloads the item's URL through the transfer; remove
 *   runs `remove`. The first failure ends the operation FAILED naming the item; otherwise it
 *   ends SUCCESSFUL.
 */
import { join } from "node:path";
import * as t from "io-ts";
import { strictObject, type UpstreamMessage } from "@c8ylink/core";
import type { Operation, OperationContext, OperationHandler, OperationOutcome } from "@c8ylink/mqtt";
import {
  Argv,
  TimeoutSeconds,
  commandProblem,
  removeDownloadLeftovers,
  removeQuietly,
  runCommand,
  safeName,
  submitFor,
  substitute,
  type BuiltinDeps,
} from "./common.js";

export const SoftwareConfigCodec = strictObject(
  "Software",
  { install: Argv, remove: Argv },
  { list: Argv, timeoutSeconds: TimeoutSeconds },
);
export type SoftwareConfig = t.TypeOf<typeof SoftwareConfigCodec>;

const DEFAULT_TIMEOUT_S = 600;

export interface SoftwareItem {
  readonly name: string;
  readonly version: string;
  readonly type?: string;
}

/** The output of the list command as items (see the module comment for the format). */
export const parseSoftwareList = (output: string): SoftwareItem[] =>
  output.split("\n").flatMap((raw) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return [];
    const fields = raw.includes("\t") ? raw.split("\t").map((f) => f.trim()) : line.split(/\s+/);
    const [name = "", version = "", type = ""] = fields;
    if (name === "") return [];
    return [{ name, version, ...(type === "" ? {} : { type }) }];
  });

/** Bytes of one message at most (the platform's limit is 16,184 per SmartREST message). */
const MAX_ROW_BYTES = 15_000;

/** `140` with the whole list, continued by `141` rows where it does not fit in one. */
export const softwareListRows = (items: readonly SoftwareItem[]): UpstreamMessage[] => {
  const chunks: SoftwareItem[][] = [[]];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(`${item.name},${item.version},${item.type ?? ""},`) + 8;
    const current = chunks[chunks.length - 1];
    if (current !== undefined && current.length > 0 && bytes + size > MAX_ROW_BYTES) {
      chunks.push([item]);
      bytes = size;
    } else {
      current?.push(item);
      bytes += size;
    }
  }
  // An item without a version would be refused by the row's codec: "-" says "unknown".
  const row = (c: SoftwareItem[]) => c.map((i) => ({ ...i, version: i.version === "" ? "-" : i.version }));
  const [first = [], ...rest] = chunks;
  return [
    { template: "140", software: row(first) },
    ...rest.map((c): UpstreamMessage => ({ template: "141", software: row(c) })),
  ];
};

interface Change {
  readonly name: string;
  readonly version: string;
  readonly type: string;
  readonly url: string;
  readonly action: "install" | "delete";
}

export interface SoftwareHandlers {
  readonly update: OperationHandler;
  /** Runs the list command and reports the list (`140`), for the device or a child; a problem as a string. */
  readonly reportList: (context?: OperationContext) => Promise<string | undefined>;
}

export const softwareHandlers = (config: SoftwareConfig, deps: BuiltinDeps): SoftwareHandlers => {
  const timeoutMs = (config.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000;
  const reportList = async (context?: OperationContext): Promise<string | undefined> => {
    if (config.list === undefined) return undefined;
    const result = await runCommand(config.list, timeoutMs);
    const problem = commandProblem("software list command", config.list, result);
    if (problem !== undefined) return problem;
    const ctx = context ?? { key: "", deviceId: deps.deviceId, resumed: false };
    for (const message of softwareListRows(parseSoftwareList(result.stdout))) submitFor(deps, ctx, message);
    return undefined;
  };

  const apply = async (change: Change, context: OperationContext): Promise<string | undefined> => {
    const what = `${change.action} of ${change.name} ${change.version}`;
    const values = {
      name: change.name,
      version: change.version,
      type: change.type,
      url: change.url,
      file: "",
    };
    if (change.action === "delete") {
      const argv = substitute(config.remove, values);
      return commandProblem(what, argv, await runCommand(argv, timeoutMs));
    }
    const needsFile = config.install.some((arg) => arg.includes("{file}"));
    if (!needsFile) {
      const argv = substitute(config.install, values);
      return commandProblem(what, argv, await runCommand(argv, timeoutMs));
    }
    if (change.url === "") return `${what}: the operation gives no URL to download`;
    const file = join(
      deps.workDir,
      `software-${safeName(context.key)}-${safeName(change.name)}-${safeName(change.version)}`,
    );
    const downloaded = await deps.transfer.download(change.url, file, {});
    if (!downloaded.ok) {
      await removeDownloadLeftovers(file);
      return `${what}: download failed: ${downloaded.reason}`;
    }
    try {
      const argv = substitute(config.install, { ...values, file });
      return commandProblem(what, argv, await runCommand(argv, timeoutMs));
    } finally {
      await removeQuietly(file);
    }
  };

  const update: OperationHandler = async (
    op: Operation,
    context: OperationContext,
  ): Promise<OperationOutcome> => {
    if (op.template !== "528" && op.template !== "529")
      return { status: "failed", reason: `unexpected ${op.fragment} template ${op.template}` };
    const changes: Change[] = op.software.map((s) => ({
      name: s.name,
      version: s.version,
      type: "softwareType" in s ? s.softwareType : "",
      url: s.url,
      action: s.action,
    }));
    let problem: string | undefined;
    for (const change of changes) {
      problem = await apply(change, context);
      if (problem !== undefined) break;
    }
    // Report what is installed now, also after a failure: some items may have changed.
    const listProblem = await reportList(context);
    if (problem !== undefined) return { status: "failed", reason: problem };
    if (listProblem !== undefined)
      return {
        status: "failed",
        reason: `software updated, but the list could not be reported: ${listProblem}`,
      };
    return { status: "successful" };
  };

  return { update, reportList };
};
