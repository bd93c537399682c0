/** Trusted certificates and certificate login (spec §1.3, §8.2); forced CONNACKs (admin). */
import { describe, expect, it } from "vitest";
import type { PresentedCertificate, TrustedCertificate } from "../src/index.js";
import { connackCode, delivered, ofType, Sim } from "./support/sim.js";

const CA: Omit<TrustedCertificate, "addedMs"> = {
  fingerprint: "AA:BB",
  name: "local CA",
  subject: "CN=local CA",
  status: "ENABLED",
  autoRegistration: true,
  notAfterMs: Date.UTC(2030, 0, 1),
  pem: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
};

const leaf = (cn: string, over: Partial<PresentedCertificate> = {}): PresentedCertificate => ({
  cn,
  issuerFingerprint: CA.fingerprint,
  validFromMs: Date.UTC(2024, 0, 1),
  validToMs: Date.UTC(2026, 0, 1),
  ...over,
});

const connectWith = (s: Sim, clientId: string, certificate: PresentedCertificate) =>
  s.step({
    type: "client-connect",
    clientKey: "c",
    clientId,
    username: null,
    password: null,
    certificateCn: null,
    certificate,
  });

const trusted = (over: Partial<typeof CA> = {}) => {
  const s = new Sim();
  const out = s.step({ type: "admin-trust-certificate", certificate: { ...CA, ...over } });
  expect(ofType(out, "admin-result")[0]?.ok).toBe(true);
  return s;
};

describe("certificate login", () => {
  it("a leaf signed by a trusted certificate logs in with CN = device id; the user is auto-registered", () => {
    const s = trusted();
    expect(connackCode(connectWith(s, "d:pump-1", leaf("pump-1")))).toBe(0);
    expect(s.state.users.get("device_pump-1")).toMatchObject({ origin: "certificate", password: null });
    expect(s.state.sessions.values()).toMatchObject([{ auth: "certificate", deviceId: "pump-1" }]);
    // and gets a JWT on s/dat
    s.subscribe("c", "s/dat");
    expect(delivered(s.publish("c", "s/uat", ""), "s/dat")[0]).toMatch(/^71,/);
  });

  it.each([
    ["CN other than the ClientId's id", "d:pump-2", leaf("pump-1")],
    ["unknown issuer", "d:pump-1", leaf("pump-1", { issuerFingerprint: "CC:DD" })],
    ["no verifying issuer", "d:pump-1", leaf("pump-1", { issuerFingerprint: null })],
    ["expired leaf", "d:pump-1", leaf("pump-1", { validToMs: Date.UTC(2024, 6, 1) })],
    ["leaf not yet valid", "d:pump-1", leaf("pump-1", { validFromMs: Date.UTC(2025, 6, 1) })],
  ])("%s → CONNACK 5", (_, clientId, certificate) => {
    const s = trusted();
    expect(connackCode(connectWith(s, clientId, certificate))).toBe(5);
    expect(s.state.sessions.size).toBe(0);
  });

  it("a disabled or expired trusted certificate, or one without auto-registration, refuses with 5", () => {
    expect(connackCode(connectWith(trusted({ status: "DISABLED" }), "d:p", leaf("p")))).toBe(5);
    expect(connackCode(connectWith(trusted({ notAfterMs: Date.UTC(2024, 0, 1) }), "d:p", leaf("p")))).toBe(5);
    const manual = trusted({ autoRegistration: false });
    expect(connackCode(connectWith(manual, "d:p", leaf("p")))).toBe(5);
    expect(manual.state.users.size).toBe(0);
  });

  it("the same certificate cannot be trusted twice; removing it refuses later logins", () => {
    const s = trusted();
    expect(ofType(s.step({ type: "admin-trust-certificate", certificate: CA }), "admin-result")[0]?.ok).toBe(
      false,
    );
    expect(
      ofType(s.step({ type: "admin-remove-certificate", fingerprint: "AA:BB" }), "admin-result")[0]?.ok,
    ).toBe(true);
    expect(connackCode(connectWith(s, "d:p", leaf("p")))).toBe(5);
  });

  it("a blocked certificate device is refused with 5", () => {
    const s = trusted();
    connectWith(s, "d:p", leaf("p"));
    s.step({ type: "admin-block", deviceId: "p" });
    expect(connackCode(connectWith(s, "d:p", leaf("p")))).toBe(5);
  });
});

describe("token renewal (spec §8.1)", () => {
  it("with tokenRenewalAfterHalfLife the same token comes back until half its lifetime has passed", () => {
    const s = new Sim({ tokenLifetimeSeconds: 600, tokenRenewalAfterHalfLife: true });
    s.step({ type: "admin-trust-certificate", certificate: CA });
    connectWith(s, "d:p", leaf("p"));
    s.subscribe("c", "s/dat");
    const token = () => delivered(s.publish("c", "s/uat", ""), "s/dat")[0];
    const first = token();
    expect(first).toMatch(/^71,/);
    s.now += 250_000;
    expect(token()).toBe(first);
    s.now += 60_000; // > 300 s after the first
    const second = token();
    expect(second).not.toBe(first);
    expect(token()).toBe(second);
  });

  it("without it (the model's default) every request gets a fresh token", () => {
    const s = trusted();
    connectWith(s, "d:p", leaf("p"));
    s.subscribe("c", "s/dat");
    const a = delivered(s.publish("c", "s/uat", ""), "s/dat")[0];
    expect(delivered(s.publish("c", "s/uat", ""), "s/dat")[0]).not.toBe(a);
  });
});

describe("admin-refuse-next-connect", () => {
  it("refuses the device's next CONNECT once with the code, then accepts again", () => {
    const s = new Sim({ users: [{ username: "device_dev1", password: "pw" }] });
    expect(
      ofType(s.step({ type: "admin-refuse-next-connect", deviceId: "dev1", code: 3 }), "admin-result")[0]?.ok,
    ).toBe(true);
    expect(connackCode(s.connect("c", "d:dev1", "t100/device_dev1", "pw"))).toBe(3);
    expect(connackCode(s.connect("c", "d:dev1", "t100/device_dev1", "pw"))).toBe(0);
    s.step({ type: "admin-refuse-next-connect", deviceId: "dev1", code: 5 });
    expect(connackCode(s.connect("d", "dev1", "t100/device_dev1", "pw"))).toBe(5);
    expect(s.state.sessions.keys()).toEqual(["c"]);
  });

  it("refuses an invalid device id and codes other than 3/5", () => {
    const s = new Sim();
    expect(
      ofType(s.step({ type: "admin-refuse-next-connect", deviceId: "a:b", code: 3 }), "admin-result")[0]?.ok,
    ).toBe(false);
    expect(
      ofType(s.step({ type: "admin-refuse-next-connect", deviceId: "x", code: 4 } as never), "invalid-input"),
    ).toHaveLength(1);
  });
});
