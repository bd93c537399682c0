/**
 * `tenantCredentials()`: what the REST file transfer authenticates with, per auth mode (the
 * bootstrap mode's received credentials are checked end to end in packages/cli/test).
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../src/index.js";

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
    expect(engine.tenantCredentials()).toEqual({ tenant: "t1", user: "device_d1", password: "p" });
  });

  it("is undefined in bootstrap mode before credentials arrive (never the bootstrap user's)", () => {
    const engine = createEngine({
      config: { deviceId: "d1", auth: { mode: "bootstrap", bootstrapPassword: "bp" } },
      url,
    });
    expect(engine.tenantCredentials()).toBeUndefined();
  });

  it("is undefined with certificate authentication", () => {
    const engine = createEngine({
      config: { deviceId: "d1", auth: { mode: "certificate" } },
      url: "mqtts://127.0.0.1:1",
    });
    expect(engine.tenantCredentials()).toBeUndefined();
  });
});
