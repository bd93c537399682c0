/**
 * Certificates for the simulated tenant's TLS listener (spec §1.1, §8.2), made with the
 * `openssl` command (no downloads, no extra npm packages), and the checks the broker needs:
 *
 * - `createLocalCa(dir)`: `ca.key`/`ca.pem` (EC P-256, `CA:TRUE`) and a server certificate
 *   `server.key`/`server.pem` for `localhost` and `127.0.0.1`, signed by that CA. Existing
 *   files are reused, so a directory keeps working across runs.
 * - `issueDeviceCertificate(dir, deviceId)`: `<deviceId>.key`/`<deviceId>.pem` with
 *   CN = device id, signed by the directory's CA (client authentication).
 * - `describeTrustedCertificate(pem)`: what the platform model stores for an upload (SHA-256
 *   fingerprint, subject, validity); refuses anything that is not one CA certificate.
 * - `presentedCertificate(leaf, trusted)`: what the model gets from a TLS handshake: CN,
 *   validity, and the fingerprint of the trusted certificate whose key verifies the leaf.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { validateDeviceId } from "@c8ylink/core";
import type { PresentedCertificate, TrustedCertificate } from "@c8ylink/platform";

export interface LocalCa {
  readonly dir: string;
  /** Paths of the CA certificate and the server's key and certificate. */
  readonly caPem: string;
  readonly serverKey: string;
  readonly serverPem: string;
}

export interface DeviceCertificate {
  readonly key: string;
  readonly cert: string;
}

const openssl = (cwd: string, args: readonly string[]): void => {
  try {
    execFileSync("openssl", args, { cwd, stdio: "pipe" });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT")
      throw new Error("the openssl command is needed to create certificates (apt-get install openssl)");
    throw new Error(`openssl ${args[0] ?? ""} failed: ${err.stderr?.toString("utf8").trim() ?? String(e)}`);
  }
};

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Signs `<name>.csr` with the CA into `<name>.pem` using the extensions in `ext`. */
const sign = (dir: string, name: string, subject: string, ext: string, days: number): void => {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ["req", "-new", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    String(days),
    "-extfile",
    `${name}.ext`,
  ]);
};

/** Creates (or reuses) the CA and server certificate in `dir`. */
export const createLocalCa = (dir: string): LocalCa => {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, "ca.pem")) || !existsSync(join(dir, "ca.key"))) {
    openssl(dir, [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "825",
      "-subj",
      "/CN=c8ylink sim local CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }
  if (!existsSync(join(dir, "server.pem")) || !existsSync(join(dir, "server.key")))
    sign(
      dir,
      "server",
      "/CN=localhost",
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n",
      825,
    );
  return {
    dir,
    caPem: join(dir, "ca.pem"),
    serverKey: join(dir, "server.key"),
    serverPem: join(dir, "server.pem"),
  };
};

/** A device certificate (CN = `deviceId`) signed by the CA in `dir` (created if missing). */
export const issueDeviceCertificate = (dir: string, deviceId: string, days = 365): DeviceCertificate => {
  const valid = validateDeviceId(deviceId);
  if (valid._tag === "Left")
    throw new Error(`cannot issue a certificate for "${deviceId}": ${valid.left.reason}`);
  if (!/^[A-Za-z0-9._-]+$/.test(deviceId))
    throw new Error(
      `cannot issue a certificate for "${deviceId}": use letters, digits, ".", "_" and "-" only`,
    );
  createLocalCa(dir);
  sign(dir, deviceId, `/CN=${deviceId}`, "extendedKeyUsage=clientAuth\n", days);
  return { key: join(dir, `${deviceId}.key`), cert: join(dir, `${deviceId}.pem`) };
};

/** The CN of an X.509 subject (`CN=…` line), or null. */
export const commonName = (subject: string): string | null => {
  for (const line of subject.split("\n")) if (line.startsWith("CN=")) return line.slice(3);
  return null;
};

/** What the model stores for an uploaded PEM; throws an Error with the reason when unusable. */
export const describeTrustedCertificate = (
  pem: string,
  options: { readonly name?: string; readonly autoRegistration?: boolean; readonly enabled?: boolean } = {},
): Omit<TrustedCertificate, "addedMs"> => {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 1) throw new Error(`expected exactly one PEM certificate, found ${blocks.length}`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(blocks[0] ?? "");
  } catch (e) {
    throw new Error(`not a readable X.509 certificate: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!x509.ca) throw new Error("not a CA certificate (BasicConstraints CA:TRUE is required, spec §8.2)");
  const subject = x509.subject.replace(/\n/g, ", ");
  return {
    fingerprint: x509.fingerprint256,
    name: options.name ?? commonName(x509.subject) ?? subject,
    subject,
    status: options.enabled === false ? "DISABLED" : "ENABLED",
    autoRegistration: options.autoRegistration ?? true,
    notAfterMs: Date.parse(x509.validTo),
    pem: x509.toString(),
  };
};

/** The facts the model needs about a client's leaf certificate. */
export const presentedCertificate = (
  leaf: X509Certificate,
  trusted: readonly TrustedCertificate[],
): PresentedCertificate => {
  const issuer = trusted.find((t) => {
    try {
      const ca = new X509Certificate(t.pem);
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  return {
    cn: commonName(leaf.subject) ?? "",
    issuerFingerprint: issuer?.fingerprint ?? null,
    validFromMs: Date.parse(leaf.validFrom),
    validToMs: Date.parse(leaf.validTo),
  };
};

/** Reads the PEM files of a local CA directory (for the TLS listener). */
export const readServerCredentials = (ca: LocalCa): { key: string; cert: string; ca: string } => ({
  key: readFileSync(ca.serverKey, "utf8"),
  cert: readFileSync(ca.serverPem, "utf8"),
  ca: readFileSync(ca.caPem, "utf8"),
});
