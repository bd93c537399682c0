/**
 * The REST surface's device side: Basic authentication with the MQTT credentials (and the admin
 * token), identity lookup, events created for the device and its children only, and their
 * appearance in the platform model (admin `GET /events`).
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { listEvents } from "@c8ylink/platform";
import { Fixture } from "./support.js";
import { basic, createEvent, DEV1, DEV2, restWorld } from "./rest-support.js";

const json = { "content-type": "application/json" };

describe("REST: authentication, identity and events", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("accepts the device's MQTT credentials and the admin token, refuses others with 401 JSON", async () => {
    const w = await restWorld(fx);
    expect((await w.call("/identity/externalIds/c8y_Serial/dev-1")).status).toBe(200);
    expect((await w.admin("/identity/externalIds/c8y_Serial/dev-1")).status).toBe(200);
    for (const auth of [
      basic("device_dev-1", "secret-guess"),
      basic("device_dev-1", "pw-1", "t999"),
      basic("device_ghost", "pw-1"),
      "Basic !!!",
      "Bearer not-the-token-at-all",
    ]) {
      const res = await w.call("/identity/externalIds/c8y_Serial/dev-1", { auth });
      expect({ auth, status: res.status }).toEqual({ auth, status: 401 });
      expect(res.headers.get("www-authenticate") ?? "").not.toMatch(/basic/i);
      const body = (await res.json()) as { error: string; message: string };
      expect(typeof body.error).toBe("string");
      expect(body.message.length).toBeGreaterThan(0);
    }
    const none = await fetch(`${w.tenant.adminUrl}/identity/externalIds/c8y_Serial/dev-1`);
    expect(none.status).toBe(401);
    // Refusals are on the timeline, without the password.
    const refusals = w.entries.filter((e) => e.kind === "admin-refused");
    expect(refusals.map((e) => (e.kind === "admin-refused" ? e.status : 0))).toEqual([
      401, 401, 401, 401, 401, 401,
    ]);
    expect(JSON.stringify(refusals)).not.toContain("secret-guess");
    expect(JSON.stringify(refusals)).toContain("bad username or password");
  });

  it("refuses a Bearer JWT this tenant did not issue with 401 saying why (a device token, not the admin's)", async () => {
    const w = await restWorld(fx);
    const claims = Buffer.from(JSON.stringify({ sub: "device_dev-1", ten: "t100", exp: 4e9 })).toString(
      "base64url",
    );
    const res = await w.call("/identity/externalIds/c8y_Serial/dev-1", {
      auth: `Bearer eyJhbGciOi.${claims}.c2ln`,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /device token refused: token not issued by this tenant/,
    );
  });

  it("keeps the admin API closed to device credentials and the guard's Host/origin checks", async () => {
    const w = await restWorld(fx);
    const admin = await w.call("/devices");
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { message: string }).message).toMatch(/access token/);
    expect((await w.call("/http-faults")).status).toBe(403);
    expect((await w.call("/repository/firmware")).status).toBe(403);
    const crossOrigin = await w.call("/identity/externalIds/c8y_Serial/dev-1", {
      headers: { origin: "http://evil.example" },
    });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await w.call("/identity/externalIds/c8y_Serial/dev-1", {
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    // A DNS-rebinding page's Host is refused before the credentials are looked at.
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${w.tenant.adminUrl}/identity/externalIds/c8y_Serial/dev-1`);
      const req = request(
        url,
        { headers: { host: `evil.example:${url.port}`, authorization: DEV1 } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(rebound).toBe(421);
  });

  it("looks up external ids", async () => {
    const w = await restWorld(fx);
    const res = await w.call("/identity/externalIds/c8y_Serial/dev-1-c");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      externalId: string;
      type: string;
      managedObject: { id: string; self: string };
    };
    expect(body).toMatchObject({
      externalId: "dev-1-c",
      type: "c8y_Serial",
      managedObject: { id: w.ids.child },
    });
    expect(body.managedObject.self).toBe(`${w.tenant.adminUrl}/inventory/managedObjects/${w.ids.child}`);
    expect((await w.call("/identity/externalIds/c8y_Serial/nobody")).status).toBe(404);
    expect((await w.call("/identity/externalIds/c8y_Other/dev-1")).status).toBe(404);
  });

  it("creates events for the device and its child, visible in the model and the admin API", async () => {
    const w = await restWorld(fx);
    const res = await w.call("/event/events", {
      method: "POST",
      headers: json,
      body: JSON.stringify({
        source: { id: w.ids.child },
        type: "c8y_Logfile",
        time: "2026-01-02T03:04:05.000Z",
        text: "log file",
        custom_Fragment: { a: 1 },
      }),
    });
    expect(res.status).toBe(201);
    const event = (await res.json()) as Record<string, unknown>;
    expect(event).toMatchObject({
      source: { id: w.ids.child },
      type: "c8y_Logfile",
      time: "2026-01-02T03:04:05.000Z",
      text: "log file",
      custom_Fragment: { a: 1 },
      self: `${w.tenant.adminUrl}/event/events/${String(event.id)}`,
    });
    const stored = listEvents(w.tenant.state(), "dev-1-c");
    expect(stored.map((e) => [e.id, e.type, e.text])).toEqual([[event.id, "c8y_Logfile", "log file"]]);
    const viaAdmin = (await (await w.admin("/events?device=dev-1-c")).json()) as { id: string }[];
    expect(viaAdmin.map((e) => e.id)).toEqual([event.id]);
    const own = await createEvent(w, w.ids.dev1);
    expect((await w.call(`/event/events/${own}`)).status).toBe(200);
  });

  it("refuses events for another device (403), unknown sources (422) and bad bodies (400 naming the field)", async () => {
    const w = await restWorld(fx);
    const post = (body: unknown, auth = DEV1) =>
      w.call("/event/events", {
        method: "POST",
        auth,
        headers: json,
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    const other = await post({ source: { id: w.ids.dev2 }, type: "x", text: "t" });
    expect(other.status).toBe(403);
    const fromChildSide = await post({ source: { id: w.ids.dev1 }, type: "x", text: "t" }, DEV2);
    expect(fromChildSide.status).toBe(403);
    expect((await post({ source: { id: "99999" }, type: "x", text: "t" })).status).toBe(422);
    const cases: [unknown, RegExp][] = [
      ["{not json", /not valid JSON/],
      [{ type: "x", text: "t" }, /source/],
      [{ source: {}, type: "x", text: "t" }, /source\.id/],
      [{ source: { id: w.ids.dev1 }, text: "t" }, /type/],
      [{ source: { id: w.ids.dev1 }, type: "x", text: 5 }, /text/],
      [{ source: { id: w.ids.dev1 }, type: "x", text: "t", time: "yesterday" }, /time/],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const reply = (await res.json()) as { error: string; message: string };
      expect(reply.message).toMatch(field);
    }
    expect(listEvents(w.tenant.state())).toEqual([]);
  });
});
