/**
 * TLS material is checked before anything connects: a certificate that is not PEM, a key
 * that does not belong to it, or a client certificate on a plain `mqtt://` URL can never
 * succeed, so they are refused at start instead of being retried as network errors.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import type { TlsOptions } from "./driver.js";

const TLS_PROTOCOLS = new Set(["mqtts:", "ssl:", "tls:", "wss:"]);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const firstPemLabel = (text: string): string | undefined => /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];

const notPem = (text: string): string | undefined =>
  firstPemLabel(text) === undefined
    ? text.trim() === ""
      ? "is empty"
      : "is not PEM (no -----BEGIN line; convert DER with: openssl x509 -inform der -in FILE -out FILE.pem)"
    : undefined;

/** Why `pem` is not one or more X.509 certificates in PEM, or undefined. */
export const certificateProblem = (pem: string | Buffer): string | undefined => {
  const text = pem.toString();
  const basic = notPem(text);
  if (basic !== undefined) return basic;
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return `holds a ${firstPemLabel(text) ?? "?"}, not a CERTIFICATE`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (e) {
      return `certificate ${i + 1} cannot be parsed: ${errorText(e)}`;
    }
  }
  return undefined;
};

/** Why `pem` is not an unencrypted private key in PEM, or undefined. */
export const privateKeyProblem = (pem: string | Buffer): string | undefined => {
  const text = pem.toString();
  const basic = notPem(text);
  if (basic !== undefined) return basic;
  const label = firstPemLabel(text) ?? "";
  if (label.includes("ENCRYPTED") || /Proc-Type: 4,ENCRYPTED/.test(text))
    return "is encrypted with a passphrase: give an unencrypted key (openssl pkey -in FILE -out plain.pem)";
  if (!label.includes("PRIVATE KEY")) return `holds a ${label}, not a PRIVATE KEY`;
  try {
    createPrivateKey(text);
    return undefined;
  } catch (e) {
    return `cannot be parsed: ${errorText(e)}`;
  }
};

/** Why `key` cannot authenticate with `cert` (both already parseable), or undefined. */
export const keyMatchProblem = (cert: string | Buffer, key: string | Buffer): string | undefined => {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.toString());
    return new X509Certificate(cert.toString()).checkPrivateKey(keyObject)
      ? undefined
      : "does not belong to the client certificate (its public key differs)";
  } catch (e) {
    return `cannot be checked against the client certificate: ${errorText(e)}`;
  }
};

/** Every problem of the TLS options for `url`, each prefixed with the option it concerns. */
export const tlsProblems = (url: string, tls: TlsOptions | undefined): string[] => {
  if (tls === undefined) return [];
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return []; // the URL itself is reported by the URL check
  }
  const problems: string[] = [];
  const given = (["ca", "cert", "key"] as const).filter((k) => tls[k] !== undefined);
  if (given.length > 0 && !TLS_PROTOCOLS.has(protocol)) {
    problems.push(
      `tls.${given.join(", tls.")}: ${url} is not encrypted, so TLS material is never used: use mqtts://<host>:8883 or wss://<host>/mqtt`,
    );
  }
  if ((tls.cert === undefined) !== (tls.key === undefined))
    problems.push("tls.cert, tls.key: certificate authentication needs both the certificate and its key");
  const cas = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca];
  cas.forEach((ca: string | Buffer, i: number) => {
    const problem = certificateProblem(ca);
    if (problem !== undefined) problems.push(`tls.ca${cas.length > 1 ? `.${i}` : ""}: ${problem}`);
  });
  const certProblem = tls.cert === undefined ? undefined : certificateProblem(tls.cert);
  if (certProblem !== undefined) problems.push(`tls.cert: ${certProblem}`);
  const keyProblem = tls.key === undefined ? undefined : privateKeyProblem(tls.key);
  if (keyProblem !== undefined) problems.push(`tls.key: ${keyProblem}`);
  if (
    tls.cert !== undefined &&
    tls.key !== undefined &&
    certProblem === undefined &&
    keyProblem === undefined
  ) {
    const mismatch = keyMatchProblem(tls.cert, tls.key);
    if (mismatch !== undefined) problems.push(`tls.key: ${mismatch}`);
  }
  return problems;
};
