/**
 * The admin's side of file transfer: repository entries pointing at inventory binaries, the web
 * page's operation forms (their JSON endpoint) rendering to the static templates on `s/ds` with
 * the binary URLs, and the result URL of `503` stored on the operation.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { Fixture, waitUntil } from "./support.js";
import { restWorld, type RestWorld } from "./rest-support.js";

const json = { "content-type": "application/json" };

const post = (w: RestWorld, path: string, body: unknown) =>
  w.admin(path, { method: "POST", headers: json, body: JSON.stringify(body) });

/** Uploads an inventory binary as the admin; its id. */
const upload = async (w: RestWorld, name: string, content: string): Promise<string> => {
  const res = await w.admin(`/inventory/binaries?name=${encodeURIComponent(name)}`, {
    method: "POST",
    body: content,
  });
  return ((await res.json()) as { id: string }).id;
};

/** dev-1 again, subscribed to s/ds, collecting its lines. */
const listener = async (fx: Fixture, w: RestWorld): Promise<{ client: MqttClient; lines: string[] }> => {
  const client = await fx.client(w.tenant.mqttUrl, {
    clientId: "d:dev-1",
    username: "t100/device_dev-1",
    password: "pw-1",
  });
  const lines: string[] = [];
  client.on("message", (_t, payload) => lines.push(...payload.toString("utf8").split("\n")));
  await client.subscribeAsync({ "s/ds": { qos: 1 } });
  return { client, lines };
};

describe("REST: repository, operation forms and results", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("stores repository entries that point at inventory binaries or URLs, and refuses bad ones naming the field", async () => {
    const w = await restWorld(fx);
    const binaryId = await upload(w, "fw.bin", "firmware image");
    const created = await post(w, "/repository/firmware", { name: "core-fw", version: "2.0", binaryId });
    expect(created.status).toBe(201);
    const entry = (await created.json()) as { id: string; url: string };
    expect(entry).toMatchObject({
      kind: "firmware",
      name: "core-fw",
      version: "2.0",
      binaryId,
      url: `${w.tenant.adminUrl}/inventory/binaries/${binaryId}`,
    });
    expect(await (await w.admin(entry.url.slice(w.tenant.adminUrl.length))).text()).toBe("firmware image");
    expect(
      (
        await post(w, "/repository/software", {
          name: "nginx",
          version: "1.25",
          url: "https://example.com/nginx.deb",
          type: "apt",
        })
      ).status,
    ).toBe(201);
    const list = (await (await w.admin("/repository/software")).json()) as { name: string; type: string }[];
    expect(list.map((e) => [e.name, e.type])).toEqual([["nginx", "apt"]]);
    expect((await w.admin(`/repository/firmware/${entry.id}`)).status).toBe(200);
    const cases: [string, unknown, RegExp][] = [
      ["/repository/firmware", { version: "1", url: "http://x/y" }, /name/],
      ["/repository/firmware", { name: "a", url: "http://x/y" }, /version/],
      ["/repository/firmware", { name: "a", version: "1" }, /binaryId, url/],
      ["/repository/firmware", { name: "a", version: "1", url: "ftp://x" }, /url/],
      ["/repository/firmware", { name: "a", version: "1", binaryId: "424242" }, /binaryId/],
    ];
    for (const [path, body, field] of cases) {
      const res = await post(w, path, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(((await res.json()) as { message: string }).message).toMatch(field);
    }
    expect((await post(w, "/repository/drivers", { name: "a" })).status).toBe(404);
    expect((await w.admin(`/repository/firmware/${entry.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await w.admin(`/repository/firmware/${entry.id}`)).status).toBe(404);
  });

  it("turns each form into an operation whose static line carries the binary URL", async () => {
    const w = await restWorld(fx);
    const { lines } = await listener(fx, w);
    const fw = (await (
      await post(w, "/repository/firmware", {
        name: "core-fw",
        version: "2.0",
        binaryId: await upload(w, "fw", "f"),
      })
    ).json()) as { id: string; url: string };
    const sw = (await (
      await post(w, "/repository/software", {
        name: "nginx",
        version: "1.25",
        binaryId: await upload(w, "sw", "s"),
      })
    ).json()) as { id: string; url: string };
    const conf = (await (
      await post(w, "/repository/configuration", {
        name: "ssh",
        type: "ssh_config",
        binaryId: await upload(w, "c", "c"),
      })
    ).json()) as { id: string; url: string };
    const forms: [string, Record<string, unknown>, string][] = [
      ["firmware-update", { firmwareId: fw.id }, `515,dev-1,core-fw,2.0,${fw.url}`],
      ["software-install", { softwareIds: [sw.id] }, `528,dev-1,nginx,1.25,${sw.url},install`],
      ["send-configuration", { configurationId: conf.id }, `524,dev-1,${conf.url},ssh_config`],
      ["get-configuration", { type: "ssh_config" }, "526,dev-1,ssh_config"],
      [
        "get-log-file",
        {
          logFile: "syslog",
          dateFrom: "2026-01-01T00:00:00Z",
          dateTo: "2026-01-02T00:00:00Z",
          searchText: "err",
          maximumLines: 50,
        },
        "522,dev-1,syslog,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,err,50",
      ],
      [
        "apply-device-profile",
        { firmwareId: fw.id, softwareIds: [sw.id], configurationIds: [conf.id] },
        `527,dev-1,$FW,core-fw,2.0,${fw.url},false,,$SW,nginx,1.25,${sw.url},install,$CONF,${conf.url},ssh_config`,
      ],
    ];
    for (const [form, fields, line] of forms) {
      const res = await post(w, `/operation-forms/${form}`, { deviceId: "dev-1", ...fields });
      expect({ form, status: res.status }).toEqual({ form, status: 201 });
      const op = (await res.json()) as { id: string; status: string };
      expect(op.status).toBe("PENDING");
      await waitUntil(() => lines.includes(line), 5_000, `${form}: ${line} (got ${lines.join(" | ")})`);
    }
    const bad: [string, unknown, number, RegExp][] = [
      ["firmware-update", { deviceId: "dev-1" }, 400, /firmwareId/],
      ["firmware-update", { deviceId: "dev-1", firmwareId: "424242" }, 400, /firmwareId/],
      ["software-install", { deviceId: "dev-1", softwareIds: [] }, 400, /softwareIds/],
      ["firmware-update", { deviceId: "ghost", firmwareId: fw.id }, 404, /ghost/],
      ["reboot", { deviceId: "dev-1" }, 404, /no operation form/],
    ];
    for (const [form, body, status, message] of bad) {
      const res = await post(w, `/operation-forms/${form}`, body);
      expect({ form, body, status: res.status }).toEqual({ form, body, status });
      expect(((await res.json()) as { message: string }).message).toMatch(message);
    }
  });

  it("stores the 503 result URL of a log file and a configuration snapshot on the operation", async () => {
    const w = await restWorld(fx);
    const { client } = await listener(fx, w);
    const ids: string[] = [];
    for (const [form, fields] of [
      ["get-log-file", { logFile: "syslog" }],
      ["get-configuration", { type: "ssh_config" }],
    ] as const) {
      const res = await post(w, `/operation-forms/${form}`, { deviceId: "dev-1", ...fields });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const url = `${w.tenant.adminUrl}/event/events/4711/binaries`;
    await client.publishAsync(
      "s/us",
      `501,c8y_LogfileRequest\n503,c8y_LogfileRequest,${url}\n501,c8y_UploadConfigFile\n503,c8y_UploadConfigFile,${url}`,
      { qos: 1 },
    );
    const read = async (id: string) =>
      (await (await w.admin(`/operations/${id}`)).json()) as {
        status: string;
        fragments: Record<string, { file?: string }>;
      };
    await waitUntil(
      () => w.tenant.state().operations.every((o) => o.status === "SUCCESSFUL"),
      5_000,
      "SUCCESSFUL",
    );
    const [log, config] = [await read(ids[0] ?? ""), await read(ids[1] ?? "")];
    expect(log.fragments.c8y_LogfileRequest?.file).toBe(url);
    expect(config.fragments.c8y_UploadConfigFile?.file).toBe(url);
  });
});
