// File transfer for one device: upload a file into the firmware/software/configuration
// repository (an inventory binary plus a repository entry), and create the operations that move
// files (firmware update, software install, send/get configuration, get log file, apply device
// profile) through the tenant's operation forms, which fill in the binaries' download URLs.
import { api, apiForm, seg } from "./api.js";
import { fill, h } from "./dom.js";

const KINDS = ["firmware", "software", "configuration"];

const FORMS = {
  "firmware-update": "Firmware update",
  "software-install": "Software install",
  "send-configuration": "Send configuration",
  "get-configuration": "Get configuration",
  "get-log-file": "Get log file",
  "apply-device-profile": "Apply device profile",
};

const label = (e) => `${e.name}${e.version ? ` ${e.version}` : ""}${e.type ? ` (${e.type})` : ""} #${e.id}`;
const choices = (entries, multiple, name) =>
  h(
    "select",
    { name, multiple: multiple || undefined, "aria-label": name },
    multiple ? null : h("option", { value: "" }, "—"),
    entries.map((e) => h("option", { value: e.id }, label(e))),
  );
const selected = (select) => [...select.selectedOptions].map((o) => o.value).filter((v) => v !== "");

/**
 * The section's content for `device`. `act(what, run)` reports the outcome of an action;
 * `created()` is called after an operation was created (to reload the list).
 */
export const fileTransfer = (device, act, created) => {
  const repository = { firmware: [], software: [], configuration: [] };
  const listBox = h("div.repository", { id: "repository-list" });
  const fields = h("div.row", { id: "file-operation-fields" });
  const formSelect = h(
    "select",
    { name: "form", "aria-label": "file operation" },
    Object.entries(FORMS).map(([value, text]) => h("option", { value }, text)),
  );
  let read = () => ({});

  const renderFields = () => {
    const form = formSelect.value;
    const input = (name, placeholder) => h("input", { name, placeholder, "aria-label": name });
    switch (form) {
      case "firmware-update": {
        const fw = choices(repository.firmware, false, "firmwareId");
        fill(fields, fw);
        read = () => ({ firmwareId: fw.value });
        break;
      }
      case "software-install": {
        const sw = choices(repository.software, true, "softwareIds");
        const action = h(
          "select",
          { name: "action", "aria-label": "action" },
          h("option", {}, "install"),
          h("option", {}, "delete"),
        );
        fill(fields, sw, action);
        read = () => ({ softwareIds: selected(sw), action: action.value });
        break;
      }
      case "send-configuration": {
        const conf = choices(repository.configuration, false, "configurationId");
        fill(fields, conf);
        read = () => ({ configurationId: conf.value });
        break;
      }
      case "get-configuration": {
        const type = input("type", "configuration type");
        fill(fields, type);
        read = () => ({ type: type.value.trim() });
        break;
      }
      case "get-log-file": {
        const logFile = input("logFile", "log type, e.g. syslog");
        const search = input("searchText", "search text (optional)");
        const lines = h("input", {
          name: "maximumLines",
          type: "number",
          value: "1000",
          min: "1",
          "aria-label": "maximum lines",
        });
        fill(fields, logFile, search, lines);
        read = () => ({
          logFile: logFile.value.trim(),
          searchText: search.value,
          maximumLines: Number(lines.value),
        });
        break;
      }
      case "apply-device-profile": {
        const fw = choices(repository.firmware, false, "firmwareId");
        const sw = choices(repository.software, true, "softwareIds");
        const conf = choices(repository.configuration, true, "configurationIds");
        fill(fields, fw, sw, conf);
        read = () => {
          const body = {};
          if (fw.value !== "") body.firmwareId = fw.value;
          if (selected(sw).length > 0) body.softwareIds = selected(sw);
          if (selected(conf).length > 0) body.configurationIds = selected(conf);
          return body;
        };
        break;
      }
    }
  };

  const reload = async () => {
    for (const kind of KINDS) repository[kind] = await api("GET", `/repository/${kind}`);
    fill(
      listBox,
      KINDS.map((kind) =>
        h(
          "div",
          {},
          h("strong", {}, `${kind}: `),
          repository[kind].length === 0
            ? h("span.muted", {}, "none")
            : repository[kind].map((e) =>
                h("code.entry", { "data-entry-id": e.id, title: e.url }, label(e), " "),
              ),
        ),
      ),
    );
    renderFields();
  };

  const kind = h(
    "select",
    { name: "kind", "aria-label": "repository" },
    KINDS.map((k) => h("option", { value: k }, k)),
  );
  const name = h("input", { name: "name", placeholder: "name", required: true, "aria-label": "name" });
  const version = h("input", { name: "version", placeholder: "version", "aria-label": "version" });
  const type = h("input", { name: "type", placeholder: "type (software/config)", "aria-label": "type" });
  const file = h("input", { name: "file", type: "file", required: true, "aria-label": "file" });
  const upload = h(
    "form.inline-form",
    { id: "repository-upload" },
    kind,
    name,
    version,
    type,
    file,
    h("button", { type: "submit" }, "Upload"),
  );
  upload.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    void act(`upload ${chosen.name}`, async () => {
      const form = new window.FormData();
      form.append(
        "object",
        JSON.stringify({ name: chosen.name, type: chosen.type || "application/octet-stream" }),
      );
      form.append("file", chosen, chosen.name);
      const binary = await apiForm("/inventory/binaries", form);
      await api("POST", `/repository/${seg(kind.value)}`, {
        name: name.value.trim() || chosen.name,
        ...(version.value.trim() === "" ? {} : { version: version.value.trim() }),
        ...(type.value.trim() === "" ? {} : { type: type.value.trim() }),
        binaryId: binary.id,
      });
      upload.reset();
      await reload();
    });
  });

  formSelect.addEventListener("change", renderFields);
  const operation = h(
    "form.inline-form",
    { id: "file-operation-form" },
    formSelect,
    fields,
    h("button", { type: "submit" }, "Create operation"),
  );
  operation.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(FORMS[formSelect.value], async () => {
      await api("POST", `/operation-forms/${seg(formSelect.value)}`, {
        deviceId: device.externalId,
        ...read(),
      });
      await created();
    });
  });
  renderFields();
  // Reported only when it fails (a notice on every device selection would be noise).
  void reload().catch((e) => act("load the repository", () => Promise.reject(e)));
  return h("div.file-transfer", {}, upload, listBox, operation);
};
