/**
 * Device profiles (`c8y_DeviceProfile`, 527 and 531): the profile's firmware, software and
 * configuration parts are executed in that order by the handlers registered for
 * `c8y_Firmware`, `c8y_SoftwareUpdate` and `c8y_DownloadConfigFile` (found through `lookup`,
 * so this does not depend on how they are built), between `121,false` and `121,true`; the
 * profile ends with one status. A part without a handler fails the profile before anything
 * runs; the first failing part fails it naming the part.
 */
import type { Operation, OperationContext, OperationHandler, OperationOutcome } from "@c8ylink/mqtt";
import { submitFor, type BuiltinDeps } from "./common.js";

export type HandlerLookup = (fragment: string) => OperationHandler | undefined;

interface Part {
  readonly what: string;
  readonly operation: Operation;
}

const partsOf = (op: Extract<Operation, { template: "527" | "531" }>): Part[] => {
  const deviceId = op.deviceId;
  const parts: Part[] = [];
  const fw = op.firmware;
  if (fw !== undefined)
    parts.push({
      what: "firmware",
      operation: fw.isPatch
        ? {
            template: "525",
            fragment: "c8y_Firmware",
            deviceId,
            name: fw.name,
            version: fw.version,
            url: fw.url,
            dependency: fw.dependency,
            isPatch: true,
          }
        : {
            template: "515",
            fragment: "c8y_Firmware",
            deviceId,
            name: fw.name,
            version: fw.version,
            url: fw.url,
            isPatch: false,
          },
    });
  if (op.software.length > 0)
    parts.push({
      what: "software",
      operation:
        op.template === "531"
          ? { template: "529", fragment: "c8y_SoftwareUpdate", deviceId, software: op.software }
          : { template: "528", fragment: "c8y_SoftwareUpdate", deviceId, software: op.software },
    });
  for (const c of op.configuration)
    parts.push({
      what: `configuration ${c.type}`,
      operation: { template: "524", fragment: "c8y_DownloadConfigFile", deviceId, url: c.url, type: c.type },
    });
  return parts;
};

export const deviceProfileHandler =
  (lookup: HandlerLookup, deps: BuiltinDeps): OperationHandler =>
  async (op: Operation, context: OperationContext): Promise<OperationOutcome> => {
    if (op.template !== "527" && op.template !== "531")
      return { status: "failed", reason: `unexpected ${op.fragment} template ${op.template}` };
    const parts = partsOf(op);
    const missing = parts.filter((p) => lookup(p.operation.fragment) === undefined);
    if (missing.length > 0)
      return {
        status: "failed",
        reason: `device profile: no handler for ${missing.map((p) => `${p.operation.fragment} (its ${p.what} part)`).join(", ")} on this device`,
      };
    submitFor(deps, context, { template: "121", executed: false });
    for (const part of parts) {
      const handler = lookup(part.operation.fragment);
      if (handler === undefined)
        return { status: "failed", reason: `device profile: no handler for ${part.operation.fragment}` };
      let outcome: OperationOutcome;
      try {
        outcome = await handler(part.operation, context);
      } catch (e) {
        outcome = { status: "failed", reason: e instanceof Error ? e.message : String(e) };
      }
      if (outcome.status === "failed")
        return { status: "failed", reason: `device profile: ${part.what} failed: ${outcome.reason}` };
    }
    submitFor(deps, context, { template: "121", executed: true });
    return { status: "successful" };
  };
