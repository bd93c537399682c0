/**
 * How the device authenticates to the tenant's REST API (`Engine.tenantCredentials()`): Basic
 * with its own user and password, or — with a certificate, which gives no password — Bearer
 * with the JWT the platform answered on `s/dat` (`71,<jwt>`), until it expires.
 */

export type TenantAuth =
  | {
      readonly kind: "basic";
      readonly tenant: string;
      readonly user: string;
      readonly password: string;
    }
  | { readonly kind: "bearer"; readonly token: string };

/**
 * The `exp` claim of a JWT in ms since the epoch, or undefined when it names none (then the
 * token is used until a fresh one replaces it: the platform refuses it when it has expired).
 */
export const jwtExpiryMs = (token: string): number | undefined => {
  const claims = token.split(".")[1];
  if (claims === undefined) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(claims, "base64url").toString("utf8"));
    if (typeof json !== "object" || json === null) return undefined;
    const exp = (json as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
};
