/**
 * Who may use the simulated tenant, over real HTTP and MQTT on 127.0.0.1: the admin API wants
 * its access token (bearer header or the cookie from the token URL), refuses Host names that are
 * not its own (DNS rebinding) and requests from other sites or origins (CSRF), sends no CORS
 * headers, and never writes the token to its timeline; MQTT never lets an anonymous client in.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { listRegistrations } from "@c8ylink/platform";
import {
  adminTokenProblem,
  formatLogEntry,
  isLoopbackHost,
  startSimulatedTenant,
  type SimLogEntry,
  type SimulatedTenant,
} from "../src/index.js";
import { Fixture, http, connackCode } from "./support.js";

interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: { error?: string };
}

/** A request with exactly the given headers (a browser's or an attacker's), over node:http. */
const raw = (
  tenant: SimulatedTenant,
  method: string,
  path: string,
  headers: Record<string, string>,
  options: { body?: string; setHost?: boolean } = {},
): Promise<RawReply> =>
  new Promise((resolve, reject) => {
    const url = new URL(tenant.adminUrl);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers,
        setHost: options.setHost ?? true,
        timeout: 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: { error?: string } = {};
          try {
            body = JSON.parse(text) as { error?: string };
          } catch {
            body = { error: `not JSON: ${text}` };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(options.body);
  });

const portOf = (tenant: SimulatedTenant): string => new URL(tenant.adminUrl).port;
const bearer = (tenant: SimulatedTenant) => ({ authorization: `Bearer ${tenant.adminToken}` });
const registration = (deviceId: string) => JSON.stringify({ deviceId });
const json = { "content-type": "application/json" };

describe("admin API access", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("answers 401 without the token, saying where it is, and changes nothing", async () => {
    const { tenant } = await fx.tenant();
    const cases: [string, string, string | undefined][] = [
      ["GET", "/", undefined],
      ["GET", "/devices", undefined],
      ["GET", "/connections", undefined],
      ["POST", "/registrations", registration("dev-1")],
      ["POST", "/operations", JSON.stringify({ deviceId: "dev-1", fragments: { c8y_Command: {} } })],
      ["DELETE", "/devices/dev-1", undefined],
      ["OPTIONS", "/operations", undefined],
    ];
    for (const [method, path, body] of cases) {
      const reply = await raw(tenant, method, path, json, body === undefined ? {} : { body });
      expect({ method, path, status: reply.status }).toEqual({ method, path, status: 401 });
      expect(reply.body.error).toMatch(/Authorization: Bearer <token>/);
      expect(reply.body.error).toMatch(/--token/);
      expect(reply.body.error).toMatch(/C8YLINK_SIM_TOKEN/);
      expect(reply.headers["www-authenticate"]).toMatch(/^Bearer /);
    }
    expect(listRegistrations(tenant.state())).toEqual([]);
  });

  it("answers 401 for a wrong token in the header, the cookie or the token URL", async () => {
    const { tenant } = await fx.tenant();
    const wrong = `${tenant.adminToken.slice(0, -1)}${tenant.adminToken.endsWith("A") ? "B" : "A"}`;
    const port = portOf(tenant);
    for (const headers of [
      { authorization: `Bearer ${wrong}` },
      { authorization: `Basic ${Buffer.from(`admin:${tenant.adminToken}`).toString("base64")}` },
      { authorization: tenant.adminToken },
      { cookie: `c8ylink_sim_${port}=${wrong}` },
      // The cookie of another sim on another port is not this one's.
      { cookie: `c8ylink_sim_1=${tenant.adminToken}` },
    ]) {
      const reply = await raw(tenant, "GET", "/devices", headers);
      expect({ headers, status: reply.status }).toEqual({ headers, status: 401 });
    }
    const login = await raw(tenant, "GET", `/?token=${wrong}`, {});
    expect(login.status).toBe(401);
    expect(login.headers["set-cookie"]).toBeUndefined();
    // The token in the URL of a state-changing request is not a credential.
    const post = await raw(tenant, "POST", `/registrations?token=${tenant.adminToken}`, json, {
      body: registration("dev-1"),
    });
    expect(post.status).toBe(401);
    expect(listRegistrations(tenant.state())).toEqual([]);
  });

  it("serves scripts that send the bearer token", async () => {
    const { tenant } = await fx.tenant();
    expect(tenant.adminToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const created = await raw(
      tenant,
      "POST",
      "/registrations",
      { ...json, ...bearer(tenant) },
      {
        body: registration("dev-1"),
      },
    );
    expect(created.status).toBe(201);
    const listed = await http(tenant, "GET", "/registrations");
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject([{ deviceId: "dev-1" }]);
    expect(
      (await raw(tenant, "GET", "/devices", { authorization: `bearer  ${tenant.adminToken}` })).status,
    ).toBe(200);
  });

  it("turns the token URL into an HttpOnly SameSite=Strict cookie and strips the token from the URL", async () => {
    const { tenant } = await fx.tenant();
    const port = portOf(tenant);
    const opened = await raw(tenant, "GET", `/?token=${tenant.adminToken}`, {});
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe("/");
    const setCookie = opened.headers["set-cookie"] ?? [];
    expect(setCookie).toEqual([
      `c8ylink_sim_${port}=${tenant.adminToken}; HttpOnly; SameSite=Strict; Path=/`,
    ]);
    const cookie = (setCookie[0] ?? "").split(";")[0] ?? "";

    // The page's own requests: the browser sends the cookie, and Origin on POST.
    const origin = `http://127.0.0.1:${port}`;
    expect((await raw(tenant, "GET", "/devices", { cookie, "sec-fetch-site": "same-origin" })).status).toBe(
      200,
    );
    const created = await raw(
      tenant,
      "POST",
      "/registrations",
      { ...json, cookie: `other=1; ${cookie}`, origin, "sec-fetch-site": "same-origin" },
      { body: registration("dev-1") },
    );
    expect(created.status).toBe(201);
    // Opened by hand from the address bar (Sec-Fetch-Site: none).
    expect((await raw(tenant, "GET", "/", { cookie, "sec-fetch-site": "none" })).status).toBe(200);

    // Other parameters survive; the redirect never leaves this server.
    const deep = await raw(tenant, "GET", `/operations?status=PENDING&token=${tenant.adminToken}`, {});
    expect(deep.headers.location).toBe("/operations?status=PENDING");
    const sneaky = await raw(tenant, "GET", `//evil.example/x?token=${tenant.adminToken}`, {});
    expect(sneaky.status).toBe(303);
    expect(sneaky.headers.location).toMatch(/^\/(?!\/)/);
  });

  it("refuses Host names that are not this server's (DNS rebinding), even with the token", async () => {
    const { tenant } = await fx.tenant();
    const port = portOf(tenant);
    for (const host of [
      `evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      `localhost:${Number(port) === 65535 ? 1 : Number(port) + 1}`,
      "localhost",
      `evil.example@127.0.0.1:${port}`,
      `127.0.0.1:${port}/x`,
      `10.0.0.7:${port}`,
    ]) {
      const reply = await raw(tenant, "GET", "/devices", { ...bearer(tenant), host });
      expect({ host, status: reply.status }).toEqual({ host, status: 421 });
      expect(reply.body.error).toMatch(/DNS rebinding/);
    }
    // No Host at all: Node's server answers 400 itself (requireHostHeader), or the guard 421.
    expect([400, 421]).toContain(
      (await raw(tenant, "GET", "/devices", bearer(tenant), { setHost: false })).status,
    );
    for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const reply = await raw(tenant, "GET", "/devices", { ...bearer(tenant), host });
      expect({ host, status: reply.status }).toEqual({ host, status: 200 });
    }
  });

  it("answers to the extra names given in allowedHosts", async () => {
    const { tenant } = await fx.tenant({ allowedHosts: ["sim.internal"] });
    const port = portOf(tenant);
    expect((await raw(tenant, "GET", "/", { ...bearer(tenant), host: `sim.internal:${port}` })).status).toBe(
      200,
    );
    expect(
      (await raw(tenant, "GET", "/", { ...bearer(tenant), host: `other.internal:${port}` })).status,
    ).toBe(421);
    for (const bad of ["sim.internal:8080", "http://sim.internal", "sim/x", "", "-sim"])
      await expect(startSimulatedTenant({ allowedHosts: [bad] })).rejects.toThrow(
        /allowedHosts: .* is not a host name/,
      );
  });

  it("refuses requests from other origins and sites, even with the token, and sends no CORS headers", async () => {
    const { tenant } = await fx.tenant();
    const port = portOf(tenant);
    const opened = await raw(tenant, "GET", `/?token=${tenant.adminToken}`, {});
    const cookie = (opened.headers["set-cookie"]?.[0] ?? "").split(";")[0] ?? "";
    const refusals: Record<string, string>[] = [
      { origin: "http://evil.example" },
      { origin: "null" },
      { origin: `http://127.0.0.1:${Number(port) === 65535 ? 1 : Number(port) + 1}` },
      { origin: `http://localhost:${port}` }, // Host is 127.0.0.1: another origin
      { origin: `https://127.0.0.1:${port}` },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" }, // another port of the same host
    ];
    for (const extra of refusals) {
      for (const credentials of [bearer(tenant), { cookie }]) {
        const reply = await raw(
          tenant,
          "POST",
          "/registrations",
          { ...json, ...credentials, ...extra },
          {
            body: registration("dev-1"),
          },
        );
        expect({ extra, status: reply.status }).toEqual({ extra, status: 403 });
        expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
      }
      const read = await raw(tenant, "GET", "/devices", { cookie, ...extra });
      expect({ extra, status: read.status }).toEqual({ extra, status: 403 });
    }
    expect(listRegistrations(tenant.state())).toEqual([]);

    // A CORS preflight is never granted; no answer carries CORS or framing permissions.
    const preflight = await raw(tenant, "OPTIONS", "/operations", {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);
    const ok = await raw(tenant, "GET", "/devices", bearer(tenant));
    for (const reply of [preflight, ok]) {
      expect(Object.keys(reply.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
      expect(reply.headers["x-frame-options"]).toBe("DENY");
      expect(reply.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("never writes the token to its timeline, and records every refusal", async () => {
    const { tenant, entries } = await fx.tenant();
    const token = tenant.adminToken;
    const port = portOf(tenant);
    await raw(tenant, "GET", "/devices", {});
    await raw(tenant, "GET", `/?token=${token}x`, {});
    await raw(tenant, "GET", `/?token=${token}`, {});
    await raw(tenant, "GET", `/${token}`, {});
    await raw(tenant, "GET", "/devices", { ...bearer(tenant), host: `evil.example:${port}` });
    await raw(
      tenant,
      "POST",
      "/registrations",
      { ...json, ...bearer(tenant), origin: "http://evil.example" },
      {
        body: registration("dev-1"),
      },
    );
    expect((await http(tenant, "POST", "/registrations", { deviceId: "dev-2" })).status).toBe(201);
    await tenant.close();

    const refused = entries.filter(
      (e): e is Extract<SimLogEntry, { kind: "admin-refused" }> => e.kind === "admin-refused",
    );
    expect(refused.map((e) => [e.method, e.status, e.reason])).toEqual([
      ["GET", 401, "no-token"],
      ["GET", 401, "wrong-token"],
      ["GET", 401, "no-token"],
      ["GET", 421, "wrong-host"],
      ["POST", 403, "cross-origin"],
    ]);
    expect(refused[2]?.path).toBe("/<token>");
    expect(entries.some((e) => e.kind === "admin" && e.via === "http" && e.deviceId === "dev-2")).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(token);
    expect(entries.map(formatLogEntry).join("\n")).not.toContain(token);
  });

  it("uses the token it is given, and refuses one that is too weak or unsafe in a URL", async () => {
    const token = "given-token_0123456789.~";
    const { tenant } = await fx.tenant({ adminToken: token });
    expect(tenant.adminToken).toBe(token);
    expect((await raw(tenant, "GET", "/devices", { authorization: `Bearer ${token}` })).status).toBe(200);
    for (const bad of ["short", "x".repeat(257), "has space in the token", "semi;colon-0123456789", ""]) {
      expect(adminTokenProblem(bad)).toMatch(/16 to 256 characters/);
      await expect(startSimulatedTenant({ adminToken: bad })).rejects.toThrow(
        /adminToken: an access token must/,
      );
    }
    const other = await fx.tenant();
    expect(other.tenant.adminToken).not.toBe(token);
    const third = await fx.tenant();
    expect(third.tenant.adminToken).not.toBe(other.tenant.adminToken);
  });

  it("knows which bind addresses only this machine can reach", () => {
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "LocalHost",
      "::1",
      "[::1]",
      "::ffff:127.0.0.1",
    ])
      expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: true });
    for (const host of ["0.0.0.0", "::", "", "192.168.1.5", "10.0.0.1", "example.com", "::ffff:10.0.0.1"])
      expect({ host, loopback: isLoopbackHost(host) }).toEqual({ host, loopback: false });
  });
});

describe("MQTT access", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("refuses anonymous CONNECTs over TCP and WebSocket, even with auto-accept and a waiting registration", async () => {
    const { tenant, entries } = await fx.tenant({
      wsPort: 0,
      platform: { autoAccept: true, users: [{ username: "device_dev-1", password: "pw-1" }] },
    });
    tenant.step({ type: "admin-register", deviceId: "dev-2" });
    for (const url of [tenant.mqttUrl, tenant.wsUrl ?? ""]) {
      for (const options of [
        { clientId: "d:dev-1" },
        { clientId: "dev-2" },
        { clientId: "d:dev-1", username: "t100/device_dev-1" },
        { clientId: "d:dev-1", username: "t100/device_dev-1", password: "" },
        { clientId: "dev-2", username: "management/devicebootstrap" },
      ]) {
        expect({ url, options, code: await connackCode(url, options) }).toEqual({ url, options, code: 5 });
      }
      // The platform credentials still work exactly as before.
      expect(
        await connackCode(url, { clientId: "d:dev-1", username: "t100/device_dev-1", password: "pw-1" }),
      ).toBe(0);
    }
    const codes = entries.flatMap((e) => (e.kind === "connect" ? [e.code] : []));
    expect(codes).toEqual([5, 5, 5, 5, 5, 0, 5, 5, 5, 5, 5, 0]);
  });
});
