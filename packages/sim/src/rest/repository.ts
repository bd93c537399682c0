/**
 * Admin routes of the repository (`/repository/firmware|software|configuration`) and the web
 * page's operation forms (`POST /operation-forms/{form}`): each form names repository entries
 * (or, for uploads from the device, a type) and becomes an operation whose fragments carry the
 * binaries' download URLs, the way the platform's UI fills them.
 */
import * as t from "io-ts";
import { refine } from "@c8ylink/core";
import { findDevice, findOperation } from "@c8ylink/platform";
import { inventoryKey } from "./binaries.js";
import { badRequest, baseUrl, decodeOr400, notFound, readJson, RestError, sendJson } from "./http.js";
import { REPOSITORY_KINDS, type RepositoryEntry, type RepositoryKind } from "./repository-store.js";
import { adminOnly, restRoute, type RestContext, type RestRoute } from "./router.js";

const NonEmpty = refine(t.string, "NonEmptyString", (s) =>
  s.trim() === "" ? "must not be empty" : undefined,
);
const HttpUrl = refine(t.string, "HttpUrl", (s) =>
  /^https?:\/\/\S+$/i.test(s) || s === "$PROVIDED" ? undefined : "must be an http(s) URL",
);
const EntryBody = t.intersection([
  t.type({ name: NonEmpty }),
  t.partial({ version: t.string, binaryId: NonEmpty, url: HttpUrl, type: t.string }),
]);

const kindOf = (raw: string): RepositoryKind => {
  const kind = REPOSITORY_KINDS.find((k) => k === raw);
  if (kind === undefined)
    throw notFound(`no repository "${raw}" (there are: ${REPOSITORY_KINDS.join(", ")})`);
  return kind;
};

const urlOf = (base: string, e: RepositoryEntry): string =>
  e.binaryId === undefined ? e.url : `${base}/inventory/binaries/${e.binaryId}`;

export const entryJson = (base: string, e: RepositoryEntry): Record<string, unknown> => ({
  id: e.id,
  self: `${base}/repository/${e.kind}/${e.id}`,
  kind: e.kind,
  name: e.name,
  version: e.version,
  type: e.type,
  url: urlOf(base, e),
  ...(e.binaryId === undefined ? {} : { binaryId: e.binaryId }),
  creationTime: new Date(e.createdMs).toISOString(),
});

const Id = NonEmpty;
const Ids = t.array(NonEmpty);
const Device = { deviceId: NonEmpty };
export const FORMS = {
  "firmware-update": t.type({ ...Device, firmwareId: Id }),
  "software-install": t.intersection([
    t.type({ ...Device, softwareIds: Ids }),
    t.partial({ action: t.union([t.literal("install"), t.literal("delete")]) }),
  ]),
  "send-configuration": t.type({ ...Device, configurationId: Id }),
  "get-configuration": t.type({ ...Device, type: NonEmpty }),
  "get-log-file": t.intersection([
    t.type({ ...Device, logFile: NonEmpty }),
    t.partial({ dateFrom: t.string, dateTo: t.string, searchText: t.string, maximumLines: t.number }),
  ]),
  "apply-device-profile": t.intersection([
    t.type({ ...Device }),
    t.partial({ profileName: t.string, firmwareId: Id, softwareIds: Ids, configurationIds: Ids }),
  ]),
} as const;
export type FormName = keyof typeof FORMS;

export const repositoryRoutes = (ctx: RestContext): RestRoute[] => {
  const entry = (kind: RepositoryKind, id: string, field: string): RepositoryEntry => {
    const found = ctx.repository.get(kind, id);
    if (found === undefined) throw badRequest(`${field}: no ${kind} repository entry ${id}`);
    return found;
  };

  /** The fragments and description of one form. */
  const build = (
    base: string,
    form: FormName,
    body: unknown,
  ): { fragments: Record<string, unknown>; description: string } => {
    const firmware = (id: string, field: string) => {
      const e = entry("firmware", id, field);
      return { name: e.name, version: e.version, url: urlOf(base, e) };
    };
    const software = (ids: readonly string[], action: string, field: string) =>
      ids.map((id, i) => {
        const e = entry("software", id, `${field}[${i}]`);
        return {
          name: e.name,
          version: e.version,
          url: urlOf(base, e),
          action,
          ...(e.type === "" ? {} : { softwareType: e.type }),
        };
      });
    const configuration = (id: string, field: string) => {
      const e = entry("configuration", id, field);
      return { name: e.name, url: urlOf(base, e), type: e.type === "" ? e.name : e.type };
    };
    switch (form) {
      case "firmware-update": {
        const b = decodeOr400(FORMS[form], body, form);
        const fw = firmware(b.firmwareId, "firmwareId");
        return {
          fragments: { c8y_Firmware: fw },
          description: `Update firmware to: "${fw.name}" (${fw.version})`,
        };
      }
      case "software-install": {
        const b = decodeOr400(FORMS[form], body, form);
        if (b.softwareIds.length === 0) throw badRequest("softwareIds: name at least one software entry");
        const items = software(b.softwareIds, b.action ?? "install", "softwareIds");
        return {
          fragments: { c8y_SoftwareUpdate: items },
          description: `Software update: ${items.map((s) => `${s.action} ${s.name} ${s.version}`).join(", ")}`,
        };
      }
      case "send-configuration": {
        const b = decodeOr400(FORMS[form], body, form);
        const c = configuration(b.configurationId, "configurationId");
        return {
          fragments: { c8y_DownloadConfigFile: { url: c.url, type: c.type } },
          description: `Send configuration snapshot ${c.name} of type ${c.type} to device`,
        };
      }
      case "get-configuration": {
        const b = decodeOr400(FORMS[form], body, form);
        return {
          fragments: { c8y_UploadConfigFile: { type: b.type } },
          description: `Retrieve ${b.type} configuration snapshot from device`,
        };
      }
      case "get-log-file": {
        const b = decodeOr400(FORMS[form], body, form);
        const now = ctx.now();
        return {
          fragments: {
            c8y_LogfileRequest: {
              logFile: b.logFile,
              dateFrom: b.dateFrom ?? new Date(now - 24 * 3600_000).toISOString(),
              dateTo: b.dateTo ?? new Date(now).toISOString(),
              searchText: b.searchText ?? "",
              maximumLines: b.maximumLines ?? 1000,
            },
          },
          description: `Log file request: ${b.logFile}`,
        };
      }
      case "apply-device-profile": {
        const b = decodeOr400(FORMS[form], body, form);
        const profile = {
          ...(b.firmwareId === undefined
            ? {}
            : { firmware: { ...firmware(b.firmwareId, "firmwareId"), isPatch: false } }),
          ...(b.softwareIds === undefined
            ? {}
            : { software: software(b.softwareIds, "install", "softwareIds") }),
          ...(b.configurationIds === undefined
            ? {}
            : {
                configuration: b.configurationIds.map((id, i) => configuration(id, `configurationIds[${i}]`)),
              }),
        };
        if (Object.keys(profile).length === 0)
          throw badRequest("a device profile needs firmwareId, softwareIds or configurationIds");
        const profileName = b.profileName ?? "sim profile";
        return {
          fragments: { c8y_DeviceProfile: profile, profileName },
          description: `Assign device profile ${profileName} to device`,
        };
      }
    }
  };

  return [
    restRoute("/repository/:kind", {
      GET: ({ req, res, principal, params: [kind = ""] }) => {
        adminOnly(principal, "the repository");
        sendJson(
          res,
          200,
          ctx.repository.list(kindOf(kind)).map((e) => entryJson(baseUrl(req), e)),
        );
      },
      POST: async ({ req, res, principal, params: [raw = ""] }) => {
        adminOnly(principal, "the repository");
        const kind = kindOf(raw);
        const body = decodeOr400(EntryBody, await readJson(req, `${kind} entry`), `${kind} entry`);
        if ((body.binaryId === undefined) === (body.url === undefined))
          throw badRequest(`${kind} entry: give exactly one of binaryId, url`);
        if (kind !== "configuration" && (body.version ?? "") === "")
          throw badRequest(`${kind} entry: version must not be empty`);
        if (body.binaryId !== undefined && !ctx.store.has(inventoryKey(body.binaryId)))
          throw badRequest(`binaryId: no inventory binary ${body.binaryId}`);
        const reserved = ctx.step({ type: "admin-reserve-id" });
        if (reserved.objectId === undefined) throw new RestError(500, "Internal Error", reserved.detail);
        const created: RepositoryEntry = {
          id: reserved.objectId,
          kind,
          name: body.name,
          version: body.version ?? "",
          type: body.type ?? "",
          ...(body.binaryId === undefined ? {} : { binaryId: body.binaryId }),
          url: body.url ?? "",
          createdMs: ctx.now(),
        };
        ctx.repository.add(created);
        sendJson(res, 201, entryJson(baseUrl(req), created));
      },
    }),
    restRoute("/repository/:kind/:id", {
      GET: ({ req, res, principal, params: [kind = "", id = ""] }) => {
        adminOnly(principal, "the repository");
        const found = ctx.repository.get(kindOf(kind), id);
        if (found === undefined) throw notFound(`no ${kind} repository entry ${id}`);
        sendJson(res, 200, entryJson(baseUrl(req), found));
      },
      DELETE: ({ res, principal, params: [kind = "", id = ""] }) => {
        adminOnly(principal, "the repository");
        if (!ctx.repository.delete(kindOf(kind), id)) throw notFound(`no ${kind} repository entry ${id}`);
        sendJson(res, 204, null);
      },
    }),
    restRoute("/operation-forms/:form", {
      POST: async ({ req, res, principal, params: [raw = ""] }) => {
        adminOnly(principal, "creating operations");
        const form = Object.keys(FORMS).find((f): f is FormName => f === raw);
        if (form === undefined)
          throw notFound(`no operation form "${raw}" (there are: ${Object.keys(FORMS).join(", ")})`);
        const body = await readJson(req, form);
        const { fragments, description } = build(baseUrl(req), form, body);
        const deviceId = (body as { deviceId: string }).deviceId;
        if (findDevice(ctx.state(), deviceId) === undefined) throw notFound(`unknown device ${deviceId}`);
        const result = ctx.step({ type: "admin-create-operation", deviceId, fragments, description });
        const operation =
          result.operationId === undefined ? undefined : findOperation(ctx.state(), result.operationId);
        if (!result.ok || operation === undefined) throw new RestError(409, "Conflict", result.detail);
        sendJson(res, 201, operation);
      },
    }),
  ];
};
