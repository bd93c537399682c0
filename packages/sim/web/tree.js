// The device tree: devices, children, grandchildren and services, each with its MQTT state and
// its open alarms.
import { h } from "./dom.js";

/** "online" (its own session), "via-agent" (an ancestor's session is up) or "offline". */
export const connectionOf = (device, devices, sessions) => {
  const isOnline = (externalId) => sessions.some((s) => s.kind === "device" && s.deviceId === externalId);
  if (isOnline(device.externalId)) return "online";
  for (let p = device.parent; p !== null; p = devices.get(p)?.parent ?? null) {
    if (isOnline(p)) return "via-agent";
  }
  return "offline";
};

/** The tree's `li` nodes; `select(externalId)` is called when one is clicked. */
export const treeItems = ({ devices, sessions, alarms, selected }, select) => {
  const byExternal = new Map(devices.map((d) => [d.externalId, d]));
  const seen = new Set();
  const node = (device) => {
    if (seen.has(device.externalId)) return null;
    seen.add(device.externalId);
    const connection = connectionOf(device, byExternal, sessions);
    const open = alarms.filter((a) => a.sourceId === device.id && a.status !== "CLEARED").length;
    const kids = [...device.children, ...device.services].flatMap((id) => byExternal.get(id) ?? []);
    return h(
      "li",
      {
        role: "treeitem",
        "data-device": device.externalId,
        "aria-selected": String(device.externalId === selected),
      },
      h(
        "button.tree-item",
        { type: "button", onclick: () => select(device.externalId), title: device.externalId },
        h("span.dot", { "data-connection": connection, title: connection }),
        h("span.name", {}, device.name || device.externalId),
        device.kind === "service" ? h("span.tag", {}, "service") : null,
        open > 0 ? h("span.count", { title: `${open} open alarms` }, String(open)) : null,
        h("span.xid", {}, device.externalId),
      ),
      kids.length > 0 ? h("ul", { role: "group" }, kids.map(node)) : null,
    );
  };
  return devices.filter((d) => d.parent === null || !byExternal.has(d.parent)).map(node);
};
