/**
 * Who sent a REST request: the admin (the access token, checked by the guard) or a device
 * (`Authorization: Basic base64("<tenant>/<user>:<password>")`, checked against the platform
 * model's users — the credentials the device got from `70,…` and uses for MQTT), or a device
 * with a certificate (`Authorization: Bearer <jwt>`, the token it got on `s/dat`).
 */
import { authenticateRestLogin, authenticateRestToken, type PlatformState } from "@c8ylink/platform";
import { RestError } from "./http.js";

export type Principal =
  | { readonly kind: "admin" }
  | { readonly kind: "device"; readonly username: string; readonly deviceId: string };

/** Credentials of a Basic header as the guard passed them on. */
export interface BasicCredentials {
  readonly login: string;
  readonly password: string;
}

/** The user and password of a `Basic` Authorization header; undefined when it is not Basic. */
export const basicCredentials = (
  authorization: string | undefined,
): BasicCredentials | "malformed" | undefined => {
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "");
  if (m === null) return /^Basic\b/i.test(authorization ?? "") ? "malformed" : undefined;
  const text = Buffer.from(m[1] ?? "", "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return "malformed";
  return { login: text.slice(0, colon), password: text.slice(colon + 1) };
};

export const unauthorized = (message: string): RestError =>
  new RestError(401, "security/Unauthorized", message);

/** The device behind `credentials`, or 401 (no browser prompt: no `WWW-Authenticate: Basic`). */
export const authenticateDevice = (state: PlatformState, credentials: BasicCredentials): Principal => {
  const login = authenticateRestLogin(state, credentials.login, credentials.password);
  if (!login.ok) throw unauthorized(`device login refused: ${login.reason}`);
  return { kind: "device", username: login.username, deviceId: login.deviceId };
};

/** The device whose JWT `token` is (issued by this tenant, not expired at `nowMs`), or 401. */
export const authenticateDeviceToken = (state: PlatformState, token: string, nowMs: number): Principal => {
  const login = authenticateRestToken(state, token, nowMs);
  if (!login.ok) throw unauthorized(`device token refused: ${login.reason}`);
  return { kind: "device", username: login.username, deviceId: login.deviceId };
};
