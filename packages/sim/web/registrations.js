// Device registrations: each with its status, Accept once the device asked, Block until blocked.
import { h } from "./dom.js";

/** Registration items; `accept(deviceId)` and `block(deviceId)` are called by their buttons. */
export const registrationItems = (registrations, { accept, block }) => {
  const list = [...registrations].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  return list.length === 0
    ? [h("li.muted", {}, "None.")]
    : list.map((r) =>
        h(
          "li.registration",
          { "data-registration": r.deviceId, "data-status": r.status },
          h("span.name", {}, r.deviceId),
          h("span.badge", { "data-registration-status": r.status }, r.status.replaceAll("_", " ")),
          h(
            "span.actions",
            {},
            r.status === "PENDING_ACCEPTANCE"
              ? h("button", { type: "button", onclick: () => accept(r.deviceId) }, "Accept")
              : null,
            r.status === "BLOCKED"
              ? null
              : h("button.danger", { type: "button", onclick: () => block(r.deviceId) }, "Block"),
          ),
        ),
      );
};
