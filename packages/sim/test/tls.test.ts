/**
 * TLS and certificates on the wire (spec §1.1, §8): a local CA made with openssl, trusted
 * certificates uploaded through the admin API, certificate login with CN = device id (the user is
 * auto-registered), CONNACK 5 for untrusted and expired certificates, password logins over
 * one-way TLS, and a JWT on s/dat for certificate sessions.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IClientOptions } from "mqtt";
import { createLocalCa, issueDeviceCertificate, readServerCredentials, type LocalCa } from "../src/index.js";
import { Fixture, http, waitUntil, connackCode } from "./support.js";

const pemOf = (path: string) => readFileSync(path, "utf8");

describe("TLS listener and certificate logins", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());
  afterAll(() => rm(dir, { recursive: true, force: true }));
  let ca: LocalCa;
  let other: LocalCa;

  let dir: string;
  beforeAll(async () => {
    // Not a fixture directory: those are removed after every test.
    dir = await mkdtemp(join(tmpdir(), "c8ylink-sim-tls-"));
    ca = createLocalCa(join(dir, "ca"));
    other = createLocalCa(join(dir, "other"));
    issueDeviceCertificate(ca.dir, "cert-dev");
    issueDeviceCertificate(other.dir, "cert-dev");
  });

  const start = async (platform = {}) => {
    const credentials = readServerCredentials(ca);
    const started = await fx.tenant({ tls: { key: credentials.key, cert: credentials.cert }, platform });
    expect(started.tenant.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    return started;
  };
  const device = (dir: string, id = "cert-dev"): IClientOptions => ({
    clientId: `d:${id}`,
    key: pemOf(join(dir, `${id}.key`)),
    cert: pemOf(join(dir, `${id}.pem`)),
    ca: pemOf(ca.caPem),
  });

  it("refuses certificates until the CA is uploaded; then logs in, auto-registers and hands out a JWT", async () => {
    const { tenant } = await start();
    const url = tenant.mqttsUrl ?? "";
    expect(await connackCode(url, device(ca.dir))).toBe(5);

    const upload = await http(tenant, "POST", "/trusted-certificates", pemOf(ca.caPem));
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({
      status: "ENABLED",
      autoRegistration: true,
      name: "c8ylink sim local CA",
    });
    const listed = await http(tenant, "GET", "/trusted-certificates");
    expect(listed.body).toHaveLength(1);
    expect((await http(tenant, "POST", "/trusted-certificates", pemOf(ca.caPem))).status).toBe(409);

    // A certificate of another CA, or a CN that is not the ClientId's id → 5.
    expect(await connackCode(url, device(other.dir))).toBe(5);
    expect(await connackCode(url, { ...device(ca.dir), clientId: "d:someone-else" })).toBe(5);

    const client = await fx.client(url, device(ca.dir));
    expect(tenant.state().users.get("device_cert-dev")).toMatchObject({ origin: "certificate" });
    const tokens: string[] = [];
    client.on("message", (topic, payload) => {
      if (topic === "s/dat") tokens.push(payload.toString("utf8"));
    });
    await client.publishAsync("s/us", "100", { qos: 1 });
    await client.subscribeAsync("s/dat", { qos: 0 });
    const before = Math.floor(Date.now() / 1000);
    await client.publishAsync("s/uat", "", { qos: 1 });
    await waitUntil(() => tokens.length === 1, 5_000, "a token on s/dat");
    const [line = ""] = tokens;
    expect(line).toMatch(/^71,[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(line.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      sub: string;
      iat: number;
      exp: number;
    };
    expect(claims.sub).toBe("device_cert-dev");
    expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
    expect(claims.exp - claims.iat).toBe(3600);
    // Within the first half of its lifetime the same token comes back (spec §8.1).
    await client.publishAsync("s/uat", "", { qos: 1 });
    await waitUntil(() => tokens.length === 2, 5_000, "a second answer on s/dat");
    expect(tokens[1]).toBe(line);
  }, 30_000);

  it("an expired device certificate is refused with 5 (the tenant's clock decides)", async () => {
    const credentials = readServerCredentials(ca);
    // Valid for one day; the tenant's clock runs three days ahead.
    issueDeviceCertificate(ca.dir, "old-dev", 1);
    const { tenant } = await fx.tenant({
      tls: { key: credentials.key, cert: credentials.cert },
      clock: () => Date.now() + 3 * 86_400_000,
    });
    await http(tenant, "POST", "/trusted-certificates", { certInPemFormat: pemOf(ca.caPem), name: "mine" });
    expect(await connackCode(tenant.mqttsUrl ?? "", device(ca.dir, "old-dev"))).toBe(5);
    expect(tenant.state().connectionLog.at(-1)).toMatchObject({
      event: "refused",
      reason: "certificate expired",
    });
    // The same device with a certificate valid long enough is accepted.
    issueDeviceCertificate(ca.dir, "old-dev", 30);
    expect(await connackCode(tenant.mqttsUrl ?? "", device(ca.dir, "old-dev"))).toBe(0);
  }, 30_000);

  it("one-way TLS with username and password; the upload refuses what is not a CA certificate", async () => {
    const { tenant } = await start({ users: [{ username: "device_pw-dev", password: "secret" }] });
    const url = tenant.mqttsUrl ?? "";
    const options = {
      clientId: "d:pw-dev",
      username: "t100/device_pw-dev",
      password: "secret",
      ca: pemOf(ca.caPem),
    };
    expect(await connackCode(url, options)).toBe(0);
    expect(await connackCode(url, { ...options, password: "wrong" })).toBe(4);
    const leaf = await http(tenant, "POST", "/trusted-certificates", pemOf(join(ca.dir, "cert-dev.pem")));
    expect(leaf.status).toBe(400);
    expect(String((leaf.body as { error: string }).error)).toMatch(/not a CA certificate/);
    expect((await http(tenant, "POST", "/trusted-certificates", "hello")).status).toBe(400);
  }, 30_000);
});
