/**
 * The web page's routes over real HTTP on 127.0.0.1, without a browser: the page, its files and
 * the event stream are behind the same guard as the JSON API (no token or cookie → 401, wrong
 * Host → 421, another site → 403), the page's content security policy allows only its own
 * origin, scripts still get JSON from `GET /`, and the stream reports changes as they happen.
 */
import { request, type IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Fixture, http } from "./support.js";
import type { SimulatedTenant } from "../src/index.js";
import { ASSET_PATHS } from "../src/web/assets.js";

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** One request with exactly these headers; reads the whole body. */
const get = (
  tenant: SimulatedTenant,
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const url = new URL(tenant.adminUrl);
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, timeout: 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });

interface Stream {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  /** Resolves the next complete event (`event:` name and parsed `data:`). */
  next(): Promise<{ event: string; data: unknown }>;
  close(): void;
}

/** Opens `GET /live` and reads its events one by one. */
const openStream = (tenant: SimulatedTenant, headers: Record<string, string>): Promise<Stream> =>
  new Promise((resolve, reject) => {
    const url = new URL(tenant.adminUrl);
    const req = request({ host: url.hostname, port: url.port, path: "/live", headers }, (res) => {
      let buffer = "";
      const queue: { event: string; data: unknown }[] = [];
      const waiting: ((e: { event: string; data: unknown }) => void)[] = [];
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split("\n");
          const event = lines.find((l) => l.startsWith("event: "))?.slice(7);
          const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
          if (event === undefined || data === undefined) continue; // comments, retry
          const parsed = { event, data: JSON.parse(data) as unknown };
          const taker = waiting.shift();
          if (taker !== undefined) taker(parsed);
          else queue.push(parsed);
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        next: () =>
          new Promise((take, fail) => {
            const ready = queue.shift();
            if (ready !== undefined) {
              take(ready);
              return;
            }
            const timer = setTimeout(() => fail(new Error("no event within 10 s")), 10_000);
            waiting.push((e) => {
              clearTimeout(timer);
              take(e);
            });
          }),
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });

const host = (tenant: SimulatedTenant) => new URL(tenant.adminUrl).host;

/** The cookie the token URL sets, as a browser would send it back. */
const login = async (tenant: SimulatedTenant): Promise<string> => {
  const reply = await get(tenant, `/?token=${tenant.adminToken}`, { accept: "text/html" });
  expect(reply.status).toBe(303);
  expect(reply.headers.location).toBe("/");
  const setCookie = reply.headers["set-cookie"]?.[0] ?? "";
  expect(setCookie).toMatch(/HttpOnly/);
  expect(setCookie).toMatch(/SameSite=Strict/);
  return setCookie.split(";")[0] ?? "";
};

/** Every file the page is made of (from the server's own table), and the page itself. */
const PAGE_PATHS = ASSET_PATHS;
const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

describe("the web page's routes", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("refuses the page, its files and the stream without the token or cookie", async () => {
    const { tenant, entries } = await fx.tenant();
    for (const path of [...PAGE_PATHS, "/live"]) {
      const reply = await get(tenant, path, { accept: "text/html" });
      expect(reply.status, path).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ error: expect.stringContaining("?token=") });
      expect(reply.body).not.toContain(tenant.adminToken);
    }
    // A wrong cookie is no better.
    const port = new URL(tenant.adminUrl).port;
    expect((await get(tenant, "/live", { cookie: `c8ylink_sim_${port}=not-the-token-at-all` })).status).toBe(
      401,
    );
    const stream = await openStream(tenant, {});
    expect(stream.status).toBe(401);
    stream.close();
    expect(entries.filter((e) => e.kind === "admin-refused").length).toBe(PAGE_PATHS.length + 3);
  });

  it("serves the page with the cookie, under a policy that allows only its own origin", async () => {
    const { tenant } = await fx.tenant();
    const cookie = await login(tenant);
    const page = await get(tenant, "/", { cookie, accept: "text/html,application/xhtml+xml" });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('<script type="module" src="/ui/app.js"></script>');
    const csp = page.headers["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    // No inline script or style in the page (the policy would block them).
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/<style|style="/);

    expect(PAGE_PATHS.length).toBeGreaterThan(8);
    for (const path of PAGE_PATHS.filter((p) => p !== "/")) {
      const file = await get(tenant, path, { cookie });
      expect(file.status, path).toBe(200);
      expect(file.headers["content-type"], path).toBe(TYPES[path.split(".").at(-1) ?? ""]);
      expect(file.body.length, path).toBeGreaterThan(100);
    }
    // Every module the page imports is served (a missing one would break the page).
    let imports = 0;
    for (const path of PAGE_PATHS.filter((p) => p.endsWith(".js") && p !== "/ui/uplot.js")) {
      const text = (await get(tenant, path, { cookie })).body;
      for (const [, imported] of text.matchAll(/from "\.\/([a-z]+\.js)"/g)) {
        imports += 1;
        expect(PAGE_PATHS, `${path} imports ${imported}`).toContain(`/ui/${imported}`);
      }
    }
    expect(imports).toBeGreaterThan(10);
    // uPlot comes from node_modules, as an ES module.
    expect((await get(tenant, "/ui/uplot.js", { cookie })).body).toContain("export { uPlot as default }");

    // Bearer works too (scripts), and the JSON API keeps its strict policy and its index.
    const index = await http(tenant, "GET", "/");
    expect(index.status).toBe(200);
    expect((index.body as { routes: string[] }).routes).toEqual(
      expect.arrayContaining(["POST /operations", "GET /live"]),
    );
    expect(index.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it("keeps the Host and same-origin checks for the page and the stream", async () => {
    const { tenant } = await fx.tenant();
    const cookie = await login(tenant);
    const port = new URL(tenant.adminUrl).port;
    expect(
      (await get(tenant, "/", { cookie, accept: "text/html", host: `evil.example:${port}` })).status,
    ).toBe(421);
    expect((await get(tenant, "/live", { cookie, host: `evil.example:${port}` })).status).toBe(421);
    expect((await get(tenant, "/ui/app.js", { cookie, "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await get(tenant, "/live", { cookie, origin: "http://evil.example" })).status).toBe(403);
    expect((await get(tenant, "/live", { cookie, host: host(tenant) }, "POST")).status).toBe(405);
    expect((await get(tenant, "/ui/nothing.js", { cookie })).status).toBe(404);
  });

  it("streams what changed: hello first, then registrations and measurements as they happen", async () => {
    const { tenant } = await fx.tenant({
      platform: { users: [{ username: "device_live-1", password: "pw-live-1" }] },
    });
    const cookie = await login(tenant);
    const stream = await openStream(tenant, { cookie, accept: "text/event-stream" });
    expect(stream.status).toBe(200);
    expect(stream.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const hello = await stream.next();
    expect(hello.event).toBe("hello");
    expect(hello.data).toMatchObject({
      lastMessages: {},
      timeline: [expect.stringContaining("tenant listening")],
    });

    expect((await http(tenant, "POST", "/registrations", { deviceId: "live-2" })).status).toBe(201);
    const registered = await stream.next();
    expect(registered.event).toBe("change");
    expect(registered.data).toMatchObject({
      changed: ["registrations"],
      measurements: [],
      timeline: [expect.stringContaining("admin-register live-2: ok")],
    });

    const device = await fx.client(tenant.mqttUrl, {
      clientId: "live-1",
      username: "t100/device_live-1",
      password: "pw-live-1",
    });
    await device.publishAsync("s/us", "100,Live one,c8y_Live", { qos: 1 });
    await device.publishAsync("s/us", "200,c8y_Speed,v,7.5,m/s", { qos: 1 });
    const seen: { changed: string[]; measurements: { fragments: unknown }[]; lastMessages: object }[] = [];
    while (!seen.some((c) => c.measurements.length > 0)) {
      const e = await stream.next();
      expect(e.event).toBe("change");
      seen.push(e.data as (typeof seen)[number]);
    }
    const changed = new Set(seen.flatMap((c) => c.changed));
    expect(changed).toContain("devices");
    expect(changed).toContain("measurements");
    expect(changed).toContain("sessions");
    expect(seen.flatMap((c) => c.measurements)).toEqual([
      expect.objectContaining({ fragments: { c8y_Speed: { v: { value: 7.5, unit: "m/s" } } } }),
    ]);
    expect(Object.assign({}, ...seen.map((c) => c.lastMessages))).toMatchObject({
      "live-1": { topic: "s/us", payload: "200,c8y_Speed,v,7.5,m/s", clientId: "live-1" },
    });
    stream.close();
  });
});
