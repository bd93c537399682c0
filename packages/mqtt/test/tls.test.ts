/**
 * TLS against mosquitto with a throw-away CA (generated with openssl): server verification is
 * on by default, a custom CA makes it pass, and certificate authentication (client
 * certificate, no user name/password, ClientId d:<CN>) brings the device online.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { Broker, CONNECTION_TIMEOUT, describeWithBroker, waitUntil } from "./support/broker.js";
import { DEVICE, Fixture, measurement, passwordConfig, seqOf } from "./support/fixture.js";
import { expectReplays } from "./support/replay.js";
import { Platform } from "./support/platform.js";
import { itRequiring } from "../../../test/support/required-tool.js";

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Needs openssl for the throw-away CA: fails on CI without it, skips elsewhere. */
const itWithOpenssl = itRequiring("openssl", hasOpenssl, "install openssl");

const openssl = (cwd: string, ...args: string[]) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

describeWithBroker("TLS against mosquitto", () => {
  let dir: string;
  let broker: Broker;
  let pem: { ca: string; cert: string; key: string };
  const fx = new Fixture();

  beforeAll(async () => {
    if (!hasOpenssl) return;
    dir = await mkdtemp(join(tmpdir(), "c8ylink-tls-"));
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
      dir,
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=c8ylink test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
    await writeFile(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
    for (const [name, cn] of [
      ["server", "127.0.0.1"],
      ["client", DEVICE],
    ] as const) {
      openssl(dir, "req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
      openssl(
        dir,
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.crt`,
        "-days",
        "2",
        "-extfile",
        `${name}.ext`,
      );
    }
    pem = {
      ca: await readFile(join(dir, "ca.crt"), "utf8"),
      cert: await readFile(join(dir, "client.crt"), "utf8"),
      key: await readFile(join(dir, "client.key"), "utf8"),
    };
    // The platform client shares the TLS listener (and presents the same client certificate).
    broker = await Broker.create({
      listener: [
        `cafile ${join(dir, "ca.crt")}`,
        `certfile ${join(dir, "server.crt")}`,
        `keyfile ${join(dir, "server.key")}`,
        "require_certificate true",
        "use_identity_as_username true",
      ],
    });
  });

  afterAll(async () => {
    await fx.cleanup();
    await broker?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const url = () => `mqtts://127.0.0.1:${broker.port}`;

  itWithOpenssl("verifies the server certificate by default (unknown CA: never connects)", async () => {
    const { engine, logPath, reports } = await fx.engine({
      config: { ...passwordConfig(), auth: { mode: "certificate" } },
      url: url(),
      tls: { cert: pem.cert, key: pem.key },
    });
    await engine.start();
    await waitUntil(
      () => reports.some((r) => r.kind === "connection-lost"),
      5_000,
      "a refused TLS handshake",
    );
    const lost = reports.find((r) => r.kind === "connection-lost");
    expect(lost?.kind === "connection-lost" ? lost.cause : "").toMatch(/certificate/i);
    expect(engine.phase()).not.toBe("online");
    await engine.stop();
    await expectReplays(logPath);
  });

  itWithOpenssl("connects with a custom CA and a client certificate (certificate auth)", async () => {
    const platform = await Platform.connectWith(url(), { ca: pem.ca, cert: pem.cert, key: pem.key });
    try {
      const { engine, logPath } = await fx.engine({
        config: { ...passwordConfig(), auth: { mode: "certificate" } },
        url: url(),
        tls: { ca: pem.ca, cert: pem.cert, key: pem.key },
      });
      await engine.start();
      await engine.whenOnline(CONNECTION_TIMEOUT);
      expect(broker.log).toMatch(/New client connected from .* as d:dev1 \(p2, c1, k30, u'dev1'\)/);
      expect(engine.submit(measurement(5))).toMatchObject({ accepted: true });
      await engine.whenDrained(5_000);
      await platform.waitForRow((l) => seqOf(l) === 5, 5_000, "the row over TLS");
      await engine.stop();
      const { commands } = await expectReplays(logPath);
      expect(commands.find((c) => c.type === "connect")).toMatchObject({ username: null, password: null });
    } finally {
      await platform.close();
    }
  });
});
