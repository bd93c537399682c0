/**
 * Trusted certificates and certificate login (spec §1.3, §8.2).
 *
 * The model does no cryptography. The broker layer (the simulated tenant's TLS listener) checks
 * the signature of a device's leaf certificate against the certificates held here and names the
 * one that verified it (`issuerFingerprint`); the model decides everything else.
 *
 * Decisions (any problem → CONNACK 5, spec §1.10, §8.2):
 * - CN must equal the ClientId's device identifier.
 * - The issuer must be a trusted certificate with status ENABLED that has not expired.
 * - The leaf must be valid at the CONNECT's `nowMs` (`validFromMs ≤ now ≤ validToMs`).
 * - The device user `device_<CN>` is created at the first connect when the issuer has
 *   auto-registration; without it (and without an existing user) the login is refused. A
 *   disabled (blocked) user is refused.
 * - Uploading a certificate whose fingerprint is already trusted is refused (trust anchors are
 *   unique, spec §8.2). Removing one does not close sessions that used it.
 */
import * as E from "fp-ts/lib/Either.js";
import { adminResult } from "./data.js";
import { assoc, dissoc, lookup } from "./json.js";
import type { PresentedCertificate, TrustedCertificate, User } from "./model.js";
import { certificateUser, deviceUsername } from "./registration.js";
import type { Tx } from "./tx.js";

export const adminTrustCertificate = (tx: Tx, certificate: Omit<TrustedCertificate, "addedMs">): void => {
  if (certificate.fingerprint === "") return adminResult(tx, false, "a certificate needs a fingerprint");
  if (lookup(tx.s.certificates, certificate.fingerprint) !== undefined)
    return adminResult(tx, false, `certificate ${certificate.fingerprint} is already trusted`);
  tx.s = {
    ...tx.s,
    certificates: assoc(tx.s.certificates, certificate.fingerprint, { ...certificate, addedMs: tx.now }),
  };
  adminResult(tx, true, `certificate ${certificate.name} trusted`);
};

export const adminRemoveCertificate = (tx: Tx, fingerprint: string): void => {
  if (lookup(tx.s.certificates, fingerprint) === undefined)
    return adminResult(tx, false, `unknown certificate ${fingerprint}`);
  tx.s = { ...tx.s, certificates: dissoc(tx.s.certificates, fingerprint) };
  adminResult(tx, true, `certificate ${fingerprint} removed`);
};

/** Left: the reason of a CONNACK 5. Right: the device user. */
export const certificateLogin = (
  tx: Tx,
  presented: PresentedCertificate,
  deviceId: string,
): E.Either<string, User> => {
  if (presented.cn !== deviceId) return E.left("certificate CN does not match the ClientId");
  const issuer =
    presented.issuerFingerprint === null ? undefined : lookup(tx.s.certificates, presented.issuerFingerprint);
  if (issuer === undefined) return E.left("certificate not signed by a trusted certificate");
  if (issuer.status !== "ENABLED") return E.left(`trusted certificate ${issuer.name} is disabled`);
  if (tx.now > issuer.notAfterMs) return E.left(`trusted certificate ${issuer.name} has expired`);
  if (tx.now < presented.validFromMs) return E.left("certificate not yet valid");
  if (tx.now > presented.validToMs) return E.left("certificate expired");
  const existing = tx.s.users.get(deviceUsername(presented.cn));
  if (existing === undefined && !issuer.autoRegistration)
    return E.left(`auto-registration is disabled for ${issuer.name}`);
  const user = existing ?? certificateUser(tx, presented.cn);
  if (user.disabled) return E.left("device user disabled");
  return E.right(user);
};
