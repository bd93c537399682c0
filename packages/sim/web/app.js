// The simulated tenant's page: the device tree, the selected device (status, charts,
// operations, alarms, events, inventory, errors), registrations and the tenant's timeline.
// Data comes from the JSON admin API; `/live` (server-sent events) says what changed and
// carries new measurements, so nothing is polled and the page never reloads. This module holds
// the state, loads it and puts the views (tree.js, operations.js, records.js, registrations.js,
// charts.js) in place.
import { api, ApiError, seg } from "./api.js";
import { ChartBoard } from "./charts.js";
import { ago, clock, fill, h } from "./dom.js";
import { fileTransfer } from "./files.js";
import { operationForm, operationItems, supportedOperations } from "./operations.js";
import { alarmItems, errorItems, eventItems } from "./records.js";
import { registrationItems } from "./registrations.js";
import { connectionOf, treeItems } from "./tree.js";

const TIMELINE_LINES = 300;

const state = {
  devices: [],
  sessions: [],
  registrations: [],
  alarms: [],
  events: [],
  operations: [],
  errors: [],
  lastMessages: {},
  /** External id of the device shown in the panel. */
  selected: null,
};

const $ = (id) => document.getElementById(id);
const byExternal = () => new Map(state.devices.map((d) => [d.externalId, d]));
const selectedDevice = () => state.devices.find((d) => d.externalId === state.selected);

// ------------------------------------------------------------------------------------------
// Notices

let noticeTimer;
const notice = (text, kind = "info") => {
  const el = $("notice");
  el.textContent = text;
  el.dataset.kind = kind;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (el.textContent = ""), kind === "error" ? 10_000 : 4_000);
};

/** Runs an admin action from a button or form; reports its outcome. */
const act = async (what, run) => {
  try {
    await run();
    notice(`${what}: done`);
  } catch (e) {
    notice(`${what}: ${e instanceof ApiError ? e.message : String(e)}`, "error");
  }
};

// ------------------------------------------------------------------------------------------
// Loading (each collection at most once at a time; a change during a load loads it again)

const loaders = {
  devices: async () => {
    state.devices = await api("GET", "/devices");
    if (state.selected === null || selectedDevice() === undefined) {
      const first = state.devices.find((d) => d.parent === null) ?? state.devices[0];
      if (first !== undefined) select(first.externalId);
      else if (state.selected !== null) select(null);
    }
    renderTree();
    renderDeviceHeader();
    renderOperationForm();
  },
  sessions: async () => {
    state.sessions = (await api("GET", "/connections")).sessions;
    renderTree();
    renderStatus();
  },
  registrations: async () => {
    state.registrations = await api("GET", "/registrations");
    renderRegistrations();
  },
  alarms: async () => {
    state.alarms = await api("GET", "/alarms");
    renderTree();
    renderAlarms();
  },
  events: async () => {
    const id = state.selected;
    const events = id === null ? [] : await api("GET", `/events?device=${seg(id)}`);
    // A fetch for a device no longer selected is dropped (selecting loads again).
    if (id !== state.selected) return;
    state.events = events;
    renderEvents();
  },
  operations: async () => {
    const id = state.selected;
    const operations = id === null ? [] : await api("GET", `/operations?device=${seg(id)}`);
    if (id !== state.selected) return;
    state.operations = operations;
    renderOperations();
  },
  errors: async () => {
    state.errors = await api("GET", "/errors");
    renderErrors();
  },
  measurements: async () => {
    const id = state.selected;
    const list = id === null ? [] : await api("GET", `/measurements?device=${seg(id)}`);
    if (id === state.selected) panel.charts?.reset(list);
  },
};

const loading = new Map();
const load = (name) => {
  const entry = loading.get(name);
  if (entry !== undefined) {
    entry.again = true;
    return entry.done;
  }
  const mine = { again: false, done: undefined };
  mine.done = (async () => {
    try {
      do {
        mine.again = false;
        try {
          await loaders[name]();
        } catch (e) {
          notice(`loading ${name}: ${e instanceof ApiError ? e.message : String(e)}`, "error");
        }
      } while (mine.again);
    } finally {
      loading.delete(name);
    }
  })();
  loading.set(name, mine);
  return mine.done;
};
const loadAll = () => Promise.all(Object.keys(loaders).map(load));

// ------------------------------------------------------------------------------------------
// Device tree

const renderTree = () => {
  fill($("device-tree"), treeItems(state, select));
  $("no-devices").hidden = state.devices.length > 0;
  const online = state.sessions.filter((s) => s.kind === "device").length;
  $("tenant-summary").textContent =
    `${state.devices.length} managed object${state.devices.length === 1 ? "" : "s"}, ${online} device session${online === 1 ? "" : "s"}`;
};

// ------------------------------------------------------------------------------------------
// The selected device's panel: built once per selection, its sections filled as data changes

const panel = { charts: null };

const select = (externalId) => {
  if (externalId === state.selected && panel.header !== undefined) return;
  state.selected = externalId;
  panel.charts?.destroy();
  const root = $("device-panel");
  if (externalId === null) {
    Object.assign(panel, { charts: null, header: undefined });
    fill(root, h("p.muted", {}, "Select a device."));
    return;
  }
  const section = (title, ...content) => h("section.card", {}, h("h3", {}, title), ...content);
  panel.header = h("div.device-header", {});
  panel.status = h("dl.status", {});
  panel.chartBox = h("div.charts", {});
  panel.form = h("div", {});
  panel.operations = h("ol.items", { id: "operation-list" });
  panel.files = h("div", {});
  panel.alarms = h("ol.items", { id: "alarm-list" });
  panel.events = h("ol.items", { id: "event-list" });
  panel.fragments = h("div.fragments", {});
  panel.errors = h("ol.items", { id: "error-list" });
  panel.formFor = null;
  fill(
    root,
    panel.header,
    panel.status,
    section("Measurements", panel.chartBox),
    section("Operations", panel.form, panel.operations),
    section("File transfer", panel.files),
    h("div.columns", {}, section("Alarms", panel.alarms), section("Events", panel.events)),
    section("Inventory", panel.fragments),
    section("Errors sent to the device (s/e)", panel.errors),
  );
  panel.charts = new ChartBoard(panel.chartBox);
  renderTree();
  renderDeviceHeader();
  renderStatus();
  renderOperationForm();
  const device = selectedDevice();
  if (device !== undefined)
    fill(
      panel.files,
      fileTransfer(device, act, () => load("operations")),
    );
  renderAlarms();
  renderErrors();
  fill(panel.operations);
  fill(panel.events);
  void load("measurements");
  void load("events");
  void load("operations");
};

const renderDeviceHeader = () => {
  const d = selectedDevice();
  if (d === undefined || panel.header === undefined) return;
  fill(
    panel.header,
    h("h2", {}, d.name || d.externalId),
    h(
      "p.muted",
      {},
      `${d.kind} · type ${d.type || "—"} · external id ${d.externalId} · id ${d.id} · owner ${d.owner}`,
      d.parent === null ? "" : ` · parent ${d.parent}`,
    ),
    h(
      "button.danger",
      {
        type: "button",
        onclick: () => {
          if (!window.confirm(`Delete ${d.externalId} (and its children) from the tenant?`)) return;
          void act(`delete ${d.externalId}`, () => api("DELETE", `/devices/${seg(d.externalId)}`));
        },
      },
      "Delete device",
    ),
  );
  fill(
    panel.fragments,
    Object.keys(d.fragments).length === 0
      ? h("p.muted", {}, "No fragments.")
      : Object.entries(d.fragments).map(([name, value]) =>
          h(
            "details.fragment",
            { open: name === "c8y_Hardware" || name === "c8y_SupportedOperations" ? true : undefined },
            h("summary", {}, name),
            h("pre", {}, JSON.stringify(value, null, 2)),
          ),
        ),
  );
  renderStatus();
};

/** Availability as the model reports it (`c8y_Availability`, `c8y_Connection`), if it does. */
const availabilityOf = (d) => {
  const f = d.fragments;
  const parts = [];
  if (f.c8y_Availability?.status !== undefined) parts.push(`availability ${f.c8y_Availability.status}`);
  if (f.c8y_Connection?.status !== undefined) parts.push(`connection ${f.c8y_Connection.status}`);
  const interval = f.c8y_RequiredAvailability?.responseInterval;
  if (interval !== undefined) parts.push(`required interval ${interval} min`);
  return parts.length === 0 ? null : parts.join(" · ");
};

const renderStatus = () => {
  const d = selectedDevice();
  if (d === undefined || panel.status === undefined) return;
  const connection = connectionOf(d, byExternal(), state.sessions);
  const last = state.lastMessages[d.externalId];
  const row = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  fill(
    panel.status,
    row(
      "MQTT",
      h(
        "span.badge",
        { "data-connection": connection },
        connection === "via-agent" ? "via its agent" : connection,
      ),
    ),
    row("Availability", availabilityOf(d) ?? h("span.muted", {}, "not reported")),
    row(
      "Last message",
      last === undefined
        ? h("span.muted", {}, "none since the tenant started")
        : [
            h("code", {}, last.topic),
            " ",
            h("code.payload", {}, last.payload),
            h("span.muted", {}, ` ${clock(last.atMs)} (${ago(last.atMs)}) from ${last.clientId}`),
          ],
    ),
  );
};

// ------------------------------------------------------------------------------------------
// Operations

const renderOperationForm = () => {
  const d = selectedDevice();
  if (d === undefined || panel.form === undefined) return;
  // Built again only when the device or its supported operations change (not while typing).
  const key = `${d.externalId}|${supportedOperations(d).join(",")}`;
  if (panel.formFor === key) return;
  panel.formFor = key;
  fill(
    panel.form,
    operationForm(d, (body, name) =>
      act(`create ${name}`, async () => {
        await api("POST", "/operations", body);
        await load("operations");
      }),
    ),
  );
};

const renderOperations = () => {
  if (panel.operations !== undefined) fill(panel.operations, operationItems(state.operations));
};

// ------------------------------------------------------------------------------------------
// Alarms, events, errors

const renderAlarms = () => {
  const d = selectedDevice();
  if (d === undefined || panel.alarms === undefined) return;
  const change = (alarm, action) =>
    act(`${action} ${alarm.type}`, async () => {
      try {
        await api("POST", `/alarms/${seg(alarm.id)}/${action}`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && /no route/.test(e.message))
          throw new ApiError(404, `this tenant's admin API cannot ${action} alarms (${e.message})`);
        throw e;
      }
      await load("alarms");
    });
  fill(
    panel.alarms,
    alarmItems(
      state.alarms.filter((a) => a.sourceId === d.id),
      change,
    ),
  );
};

const renderEvents = () => {
  if (panel.events !== undefined) fill(panel.events, eventItems(state.events));
};

const renderErrors = () => {
  const d = selectedDevice();
  if (d === undefined || panel.errors === undefined) return;
  fill(panel.errors, errorItems(state.errors.filter((e) => e.deviceId === d.externalId)));
};

// ------------------------------------------------------------------------------------------
// Registrations

const renderRegistrations = () =>
  fill(
    $("registration-list"),
    registrationItems(state.registrations, {
      accept: (id) => act(`accept ${id}`, () => api("POST", `/registrations/${seg(id)}/accept`)),
      block: (id) => act(`block ${id}`, () => api("POST", `/registrations/${seg(id)}/block`)),
    }),
  );

$("register-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = e.currentTarget.elements.namedItem("deviceId");
  const deviceId = input.value.trim();
  void act(`register ${deviceId}`, async () => {
    await api("POST", "/registrations", { deviceId });
    input.value = "";
    await load("registrations");
  });
});

// ------------------------------------------------------------------------------------------
// Timeline and the live stream

const addTimeline = (lines) => {
  const list = $("timeline-list");
  for (const line of lines) list.prepend(h("li", {}, line));
  while (list.childElementCount > TIMELINE_LINES) list.lastElementChild.remove();
};

const setLive = (liveState, text) => {
  const el = $("live-status");
  el.dataset.state = liveState;
  el.textContent = text;
};

const connect = () => {
  const source = new EventSource("/live");
  source.addEventListener("hello", (e) => {
    const hello = JSON.parse(e.data);
    state.lastMessages = { ...hello.lastMessages };
    fill($("timeline-list"));
    addTimeline(hello.timeline);
    setLive("live", "live");
    void loadAll();
  });
  source.addEventListener("change", (e) => {
    const change = JSON.parse(e.data);
    Object.assign(state.lastMessages, change.lastMessages);
    addTimeline(change.timeline);
    const device = selectedDevice();
    for (const name of change.changed) {
      if (name === "measurements") continue;
      void load(name);
    }
    if (change.measurementsReset) void load("measurements");
    else if (device !== undefined && panel.charts !== null)
      panel.charts.add(change.measurements.filter((m) => m.sourceId === device.id));
    if (Object.keys(change.lastMessages).length > 0) renderStatus();
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setLive("closed", "disconnected: open the URL with ?token= from the tenant's banner again");
    } else setLive("reconnecting", "reconnecting…");
  });
};

// "3 s ago" stays true.
setInterval(renderStatus, 5_000);
connect();
