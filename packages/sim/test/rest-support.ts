/**
 * Fixtures of the REST tests: a tenant with two devices (`dev-1` with child `dev-1-c`, and
 * `dev-2`) created over MQTT with their provisioned credentials, and fetch helpers that speak
 * as a device (Basic) or as the admin (Bearer).
 */
import { createHash } from "node:crypto";
import { waitUntil, type Fixture } from "./support.js";
import type { SimLogEntry, SimulatedTenant, SimulatedTenantOptions } from "../src/index.js";

export const USERS = [
  { username: "device_dev-1", password: "pw-1" },
  { username: "device_dev-2", password: "pw-2" },
];

export const basic = (user: string, password: string, tenant = "t100"): string =>
  `Basic ${Buffer.from(`${tenant}/${user}:${password}`).toString("base64")}`;
export const DEV1 = basic("device_dev-1", "pw-1");
export const DEV2 = basic("device_dev-2", "pw-2");

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
export const sha256b64 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

export interface RestWorld {
  readonly tenant: SimulatedTenant;
  /** The tenant's timeline. */
  readonly entries: readonly SimLogEntry[];
  /** Managed object ids. */
  readonly ids: { readonly dev1: string; readonly child: string; readonly dev2: string };
  /** A request with `authorization` (default: device dev-1). */
  call(path: string, init?: RequestInit & { auth?: string }): Promise<Response>;
  /** As the admin (Bearer token). */
  admin(path: string, init?: RequestInit): Promise<Response>;
}

export const restWorld = async (fx: Fixture, options: SimulatedTenantOptions = {}): Promise<RestWorld> => {
  const { tenant, entries } = await fx.tenant({
    ...options,
    platform: { users: USERS, ...options.platform },
  });
  for (const [n, pw] of [
    ["1", "pw-1"],
    ["2", "pw-2"],
  ] as const) {
    const client = await fx.client(tenant.mqttUrl, {
      clientId: `d:dev-${n}`,
      username: `t100/device_dev-${n}`,
      password: pw,
    });
    await client.publishAsync("s/us", n === "1" ? "100\n101,dev-1-c,Child,c8y_Child" : "100", { qos: 1 });
  }
  const idOf = (externalId: string): string | undefined => tenant.state().identities.get(externalId);
  await waitUntil(() => idOf("dev-1-c") !== undefined && idOf("dev-2") !== undefined, 5_000, "devices");
  const call = (path: string, init: RequestInit & { auth?: string } = {}): Promise<Response> => {
    const { auth, headers, ...rest } = init;
    return fetch(`${tenant.adminUrl}${path}`, {
      ...rest,
      headers: { authorization: auth ?? DEV1, ...(headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(10_000),
    });
  };
  return {
    tenant,
    entries,
    ids: { dev1: idOf("dev-1") ?? "", child: idOf("dev-1-c") ?? "", dev2: idOf("dev-2") ?? "" },
    call,
    admin: (path, init = {}) => call(path, { ...init, auth: `Bearer ${tenant.adminToken}` }),
  };
};

/** Posts an event as `auth` and returns its id. */
export const createEvent = async (w: RestWorld, sourceId: string, auth = DEV1): Promise<string> => {
  const res = await w.call("/event/events", {
    method: "POST",
    auth,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      source: { id: sourceId },
      type: "c8y_Logfile",
      time: "2026-01-02T03:04:05.000Z",
      text: "log",
    }),
  });
  if (res.status !== 201) throw new Error(`event not created: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
};

/** Bytes that are not valid UTF-8 (every byte value, twice, plus lone continuation bytes). */
export const binaryBytes = (size = 4096): Buffer => {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  b[0] = 0xc3;
  b[1] = 0x28; // invalid 2-byte sequence
  b[2] = 0x80;
  return b;
};
