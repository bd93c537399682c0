/** `GET /identity/externalIds/c8y_Serial/{externalId}`: the managed object of a device's serial. */
import { notFound, baseUrl, sendJson } from "./http.js";
import { restRoute, type RestContext, type RestRoute } from "./router.js";

export const identityRoutes = (ctx: RestContext): RestRoute[] => [
  restRoute("/identity/externalIds/:type/:externalId", {
    GET: ({ req, res, params: [type = "", externalId = ""] }) => {
      const id = type === "c8y_Serial" ? ctx.state().identities.get(externalId) : undefined;
      if (id === undefined) throw notFound(`external id ${type}/${externalId} not found`);
      const base = baseUrl(req);
      sendJson(res, 200, {
        externalId,
        type,
        self: `${base}/identity/externalIds/${encodeURIComponent(type)}/${encodeURIComponent(externalId)}`,
        managedObject: { id, self: `${base}/inventory/managedObjects/${id}` },
      });
    },
  }),
];
