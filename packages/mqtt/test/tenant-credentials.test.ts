/**
 * `tenantCredentials()`: what the REST file transfer authenticates with, per auth mode (the
 * bootstrap mode's received credentials are checked end to end in packages/cli/test).
 */
import { describe, expect, it } from "vitest";
import { createEngine, jwtExpiryMs } from "../src/index.js";

const url = "mqtt://127.0.0.1:1";

describe("tenantCredentials", () => {
  it("is the configured tenant, user (without a tenant prefix) and password in password mode", () => {
    const engine = createEngine({
      config: {
        deviceId: "d1",
        auth: { mode: "password", tenant: "t1", user: "t1/device_d1", password: "p" },
      },
      url,
    });
    expect(engine.tenantCredentials()).toEqual({
      kind: "basic",
      tenant: "t1",
      user: "device_d1",
      password: "p",
    });
  });

  it("is undefined in bootstrap mode before credentials arrive (never the bootstrap user's)", () => {
    const engine = createEngine({
      config: { deviceId: "d1", auth: { mode: "bootstrap", bootstrapPassword: "bp" } },
      url,
    });
    expect(engine.tenantCredentials()).toBeUndefined();
  });

  it("is undefined with certificate authentication before a token arrives on s/dat", () => {
    const engine = createEngine({
      config: { deviceId: "d1", auth: { mode: "certificate" } },
      url: "mqtts://127.0.0.1:1",
    });
    expect(engine.tenantCredentials()).toBeUndefined();
  });

  it("reads a JWT's expiry from its exp claim (undefined when there is none or it is no JWT)", () => {
    const claims = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    expect(jwtExpiryMs(`h.${claims({ sub: "u", exp: 1_700_000_000 })}.s`)).toBe(1_700_000_000_000);
    expect(jwtExpiryMs(`h.${claims({ sub: "u" })}.s`)).toBeUndefined();
    expect(jwtExpiryMs("not-a-jwt")).toBeUndefined();
    expect(jwtExpiryMs("h.%%%.s")).toBeUndefined();
  });
});
