/**
 * Device access tokens for `s/uat` → `71,<jwt>` on `s/dat` (spec §8.1): a structurally valid
 * JWT (`base64url(header).base64url(claims).base64url(signature)`) with `iat`/`exp` taken from
 * the input clock, so the engine can compute its refresh time from the claims. The signature
 * is a deterministic digest, not a real HMAC.
 */
import { digestBytes } from "./hash.js";
import type { PlatformConfig } from "./model.js";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding (RFC 7515 §2). */
export const base64url = (bytes: Uint8Array): string => {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    const chars = [n >>> 18, (n >>> 12) & 63, (n >>> 6) & 63, n & 63].map((k) => B64URL[k] ?? "");
    out += chars.slice(0, Math.min(4, bytes.length - i + 1)).join("");
  }
  return out;
};

const encoder = new TextEncoder();
const part = (value: object): string => base64url(encoder.encode(JSON.stringify(value)));

export const deviceToken = (config: PlatformConfig, username: string, nowMs: number): string => {
  const iat = Math.floor((Number.isFinite(nowMs) ? nowMs : 0) / 1000);
  const header = part({ alg: "HS256", typ: "JWT" });
  const claims = part({
    iss: `${config.tenantId}.platform.local`,
    sub: username,
    ten: config.tenantId,
    aud: `${config.tenantId}.platform.local`,
    iat,
    nbf: iat,
    exp: iat + config.tokenLifetimeSeconds,
    tci: `${username}-${iat}`,
  });
  const signature = base64url(digestBytes(`${header}.${claims}`));
  return `${header}.${claims}.${signature}`;
};

const decoder = new TextDecoder();

/** base64url (padded or not) to text; undefined for anything else. */
const fromBase64url = (text: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
};

export type TokenCheck =
  { readonly ok: true; readonly username: string } | { readonly ok: false; readonly reason: string };

/**
 * Whether `token` is a device token this tenant issued (`deviceToken`: its digest matches, its
 * tenant is this one) that is valid at `nowMs` (between `nbf` and `exp`); names its user.
 */
export const verifyDeviceToken = (config: PlatformConfig, token: string, nowMs: number): TokenCheck => {
  const [header, claimsPart, signature, ...rest] = token.split(".");
  if (header === undefined || claimsPart === undefined || signature === undefined || rest.length > 0)
    return { ok: false, reason: "not a JWT (header.claims.signature)" };
  if (signature !== base64url(digestBytes(`${header}.${claimsPart}`)))
    return { ok: false, reason: "token not issued by this tenant (signature does not match)" };
  let claims: unknown;
  try {
    claims = JSON.parse(fromBase64url(claimsPart) ?? "");
  } catch {
    return { ok: false, reason: "token claims are not JSON" };
  }
  if (typeof claims !== "object" || claims === null)
    return { ok: false, reason: "token claims are not an object" };
  const { ten, sub, exp, nbf } = claims as { ten?: unknown; sub?: unknown; exp?: unknown; nbf?: unknown };
  if (ten !== config.tenantId) return { ok: false, reason: "token of another tenant" };
  if (typeof sub !== "string" || typeof exp !== "number")
    return { ok: false, reason: "token without sub or exp" };
  const now = Math.floor(nowMs / 1000);
  if (now >= exp) return { ok: false, reason: "token expired" };
  if (typeof nbf === "number" && now < nbf) return { ok: false, reason: "token not valid yet" };
  return { ok: true, username: sub };
};
