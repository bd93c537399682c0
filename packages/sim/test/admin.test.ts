/**
 * The HTTP admin API's boundary: 400 with problems for bad bodies and queries, 404 for unknown
 * routes and objects, 405 for other methods, 409 for admin inputs the model refuses, 413 for
 * huge bodies — and the tenant keeps serving after all of them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { request } from "node:http";
import { MAX_BODY_BYTES, type SimulatedTenant } from "../src/index.js";
import { Fixture, http } from "./support.js";

const errorOf = (body: unknown): string => (body as { error?: string }).error ?? "";

describe("HTTP admin API", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  const started = async (): Promise<SimulatedTenant> => {
    const { tenant } = await fx.tenant();
    return tenant;
  };

  it("answers 400 with precise problems for bad bodies", async () => {
    const tenant = await started();
    const cases: [string, string, unknown, RegExp][] = [
      ["POST", "/registrations", "{not json", /not valid JSON/],
      ["POST", "/registrations", "", /must be a JSON object/],
      ["POST", "/registrations", [], /invalid registration/],
      ["POST", "/registrations", {}, /invalid registration/],
      ["POST", "/registrations", { deviceId: 7 }, /invalid registration/],
      ["POST", "/registrations", { deviceId: "a/b" }, /invalid registration/],
      ["POST", "/operations", { deviceId: "d" }, /invalid operation/],
      ["POST", "/operations", { deviceId: "d", fragments: {} }, /invalid operation/],
      ["POST", "/operations", { deviceId: "d", fragments: [1] }, /invalid operation/],
      ["POST", "/operations", { deviceId: "", fragments: { c8y_Restart: {} } }, /invalid operation/],
      [
        "POST",
        "/operations",
        { deviceId: "d", fragments: { c8y_Restart: {} }, description: 5 },
        /invalid operation/,
      ],
    ];
    for (const [method, path, body, error] of cases) {
      const reply = await http(tenant, method, path, body);
      expect({ path, body, status: reply.status }).toEqual({ path, body, status: 400 });
      expect(errorOf(reply.body)).toMatch(error);
    }
    const problems = (await http(tenant, "POST", "/registrations", { deviceId: "a/b" })).body as {
      problems: { path: string; message: string }[];
    };
    expect(problems.problems).toEqual([{ path: "deviceId", message: expect.stringContaining("/") }]);
    const fragments = (await http(tenant, "POST", "/operations", { deviceId: "d", fragments: {} })).body as {
      problems: { path: string; message: string }[];
    };
    expect(fragments.problems).toEqual([
      { path: "fragments", message: "an operation needs at least one fragment" },
    ]);
  });

  it("answers 400 for bad queries and path encodings", async () => {
    const tenant = await started();
    for (const path of [
      "/operations?status=DONE",
      "/operations?device=a&device=b",
      "/operations?colour=red",
      "/measurements?source=x",
      "/devices?x=1",
      "/devices/%E0%A4%A",
    ]) {
      const reply = await http(tenant, "GET", path);
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
      expect(errorOf(reply.body)).not.toBe("");
    }
  });

  it("answers 404, 405 and 409 where they apply", async () => {
    const tenant = await started();
    const cases: [string, string, unknown, number][] = [
      ["GET", "/nope", undefined, 404],
      ["GET", "/devices/ghost", undefined, 404],
      ["DELETE", "/devices/ghost", undefined, 404],
      ["GET", "/operations/999", undefined, 404],
      ["GET", "/registrations/ghost", undefined, 404],
      ["POST", "/registrations/ghost/accept", undefined, 404],
      ["POST", "/registrations/ghost/block", undefined, 404],
      ["POST", "/operations", { deviceId: "ghost", fragments: { c8y_Restart: {} } }, 404],
      ["PUT", "/devices", {}, 405],
      ["DELETE", "/operations", undefined, 405],
    ];
    for (const [method, path, body, status] of cases) {
      const reply = await http(tenant, method, path, body);
      expect({ method, path, status: reply.status }).toEqual({ method, path, status });
      expect(errorOf(reply.body)).not.toBe("");
    }
    expect((await http(tenant, "PUT", "/devices", {})).headers.get("allow")).toBe("GET");
    expect((await http(tenant, "POST", "/registrations", { deviceId: "dev" })).status).toBe(201);
    // Registered twice, or accepted before the device asked: conflicts.
    expect((await http(tenant, "POST", "/registrations", { deviceId: "dev" })).status).toBe(409);
    expect((await http(tenant, "POST", "/registrations/dev/accept")).status).toBe(409);
    const blocked = await http(tenant, "POST", "/registrations/dev/block");
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatchObject({ registration: { status: "BLOCKED" } });
  });

  it("refuses bodies over the limit with 413 and keeps serving", async () => {
    const tenant = await started();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${tenant.adminUrl}/registrations`,
        { method: "POST", headers: { authorization: `Bearer ${tenant.adminToken}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(Buffer.alloc(MAX_BODY_BYTES + 10, 0x20));
    });
    expect(status).toBe(413);
    expect((await http(tenant, "GET", "/devices")).status).toBe(200);
  });

  it("serves the read views as JSON", async () => {
    const tenant = await started();
    const index = await http(tenant, "GET", "/");
    expect(index.status).toBe(200);
    expect((index.body as { routes: string[] }).routes).toContain("POST /operations");
    expect(index.headers.get("content-type")).toBe("application/json; charset=utf-8");
    for (const path of [
      "/devices",
      "/measurements",
      "/events",
      "/alarms",
      "/operations",
      "/registrations",
      "/errors",
    ]) {
      const reply = await http(tenant, "GET", path);
      expect({ path, status: reply.status, body: reply.body }).toEqual({ path, status: 200, body: [] });
    }
    expect((await http(tenant, "GET", "/connections")).body).toEqual({ sessions: [], log: [] });
  });
});
