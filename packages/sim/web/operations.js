// Operations of one device: the form that creates one (offering the device's
// c8y_SupportedOperations) and the list with each status history, failure reason and result.
import { clock, h } from "./dom.js";

/** Parameters offered for well-known operations when the form switches to them. */
const PARAMETER_TEMPLATES = {
  c8y_Command: { text: "echo hello" },
  c8y_Restart: {},
  c8y_Configuration: { config: "key=value" },
  c8y_Firmware: { name: "firmware", version: "1.0.1", url: "" },
  c8y_SoftwareUpdate: [{ name: "app", version: "1.0.0", url: "", action: "install" }],
  c8y_DownloadConfigFile: { url: "", type: "" },
  c8y_LogfileRequest: { logFile: "syslog", dateFrom: "", dateTo: "", searchText: "", maximumLines: 100 },
};
const OTHER = "(other fragment)";

/** The operation names the device announced (`114`). */
export const supportedOperations = (device) =>
  Array.isArray(device?.fragments?.c8y_SupportedOperations)
    ? device.fragments.c8y_SupportedOperations.filter((s) => typeof s === "string")
    : [];

/**
 * The form for `device`; on submit with valid input calls `create(body, name)` with the admin
 * API's body (`{ deviceId, fragments, description? }`). Input problems are shown in the form.
 */
export const operationForm = (device, create) => {
  const supported = supportedOperations(device);
  const fragment = h(
    "select",
    { name: "fragment", "aria-label": "operation" },
    [...supported, OTHER].map((c) => h("option", { value: c }, c)),
  );
  const custom = h("input", { name: "custom", placeholder: "fragment name, e.g. c8y_Custom", hidden: true });
  const parameters = h("textarea", {
    name: "parameters",
    rows: 3,
    spellcheck: "false",
    "aria-label": "parameters (JSON)",
  });
  const description = h("input", { name: "description", placeholder: "description (optional)" });
  const problem = h("p.problem", { role: "alert" });
  const applyTemplate = () => {
    const name = fragment.value === OTHER ? custom.value : fragment.value;
    custom.hidden = fragment.value !== OTHER;
    parameters.value = JSON.stringify(PARAMETER_TEMPLATES[name] ?? {});
  };
  fragment.addEventListener("change", applyTemplate);
  const form = h(
    "form.operation-form",
    { id: "operation-form" },
    h(
      "div.row",
      {},
      h("label", {}, "Operation ", fragment),
      custom,
      h("label.grow", {}, "Parameters (JSON) ", parameters),
    ),
    h("div.row", {}, description, h("button", { type: "submit" }, "Create operation")),
    supported.length === 0
      ? h("p.muted", {}, "The device lists no c8y_SupportedOperations; name a fragment yourself.")
      : null,
    problem,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    problem.textContent = "";
    const name = fragment.value === OTHER ? custom.value.trim() : fragment.value;
    if (name === "") {
      problem.textContent = "Name the operation's fragment.";
      return;
    }
    let params;
    try {
      params = parameters.value.trim() === "" ? {} : JSON.parse(parameters.value);
    } catch (err) {
      problem.textContent = `Parameters are not JSON: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    const body = { deviceId: device.externalId, fragments: { [name]: params } };
    if (description.value.trim() !== "") body.description = description.value.trim();
    create(body, name);
  });
  applyTemplate();
  return form;
};

/**
 * What an operation produced: `result` of its fragments (e.g. `c8y_Command.result`) and the URL
 * of an uploaded file (`c8y_LogfileRequest.file`, `c8y_UploadConfigFile.file`).
 */
const resultsOf = (op) =>
  Object.entries(op.fragments).flatMap(([name, value]) =>
    value !== null && typeof value === "object"
      ? ["result", "file"].filter((k) => k in value).map((k) => `${name}.${k}: ${String(value[k])}`)
      : [],
  );

/** Operation items, newest first. */
export const operationItems = (operations) =>
  operations.length === 0
    ? [h("li.muted", {}, "No operations.")]
    : [...operations].reverse().map((op) =>
        h(
          "li.item",
          { "data-operation-id": op.id, "data-status": op.status },
          h(
            "div.item-head",
            {},
            h("span.badge", { "data-status": op.status }, op.status),
            h("strong", {}, Object.keys(op.fragments).join(", ")),
            h("span.muted", {}, ` #${op.id}${op.description ? ` · ${op.description}` : ""}`),
          ),
          h(
            "div.history",
            {},
            op.history.map((t) =>
              h("span.step", { title: t.cause }, `${t.status} ${clock(t.atMs)} (${t.cause})`),
            ),
          ),
          op.failureReason === undefined ? null : h("p.failure", {}, `Failure: ${op.failureReason}`),
          resultsOf(op).map((r) => h("pre.result", {}, r)),
          h(
            "details",
            {},
            h("summary", {}, "fragments"),
            h("pre", {}, JSON.stringify(op.fragments, null, 2)),
          ),
        ),
      );
