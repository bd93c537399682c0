/**
 * The simulated tenant's timeline: one `SimLogEntry` per thing that happened on the wire or
 * through the admin side, in the order the tenant handled them. The CLI prints these live
 * (`formatLogEntry`); tests can collect them.
 */

interface At {
  /** Tenant clock (the `clock` option) when the entry was made. */
  readonly atMs: number;
}

interface OfClient extends At {
  /** The simulator's key for one MQTT connection (`c1`, `c2`, …). */
  readonly clientKey: string;
  /** The ClientId from the CONNECT packet. */
  readonly clientId: string;
}

export type SimLogEntry =
  | (At & {
      readonly kind: "listening";
      readonly mqttUrl: string;
      readonly wsUrl?: string;
      readonly mqttsUrl?: string;
      readonly adminUrl: string;
    })
  | (OfClient & {
      readonly kind: "connect";
      readonly username: string | null;
      /** CONNACK return code the platform model chose (0 = accepted). */
      readonly code: number;
    })
  | (OfClient & {
      readonly kind: "disconnect";
      /** `platform`: the model closed the connection (reason from the model); `client`: the socket closed. */
      readonly by: "platform" | "client";
      readonly reason: string;
    })
  | (OfClient & {
      readonly kind: "subscribe";
      readonly topic: string;
      readonly qos: number;
      /** Granted QoS, or 128 (0x80) when refused. */
      readonly granted: number;
    })
  | (OfClient & { readonly kind: "unsubscribe"; readonly topics: readonly string[] })
  | (OfClient & {
      readonly kind: "publish-in";
      readonly topic: string;
      readonly payload: string;
      readonly qos: number;
      /** Payload size in bytes as received. */
      readonly bytes: number;
    })
  | (OfClient & {
      readonly kind: "publish-out";
      readonly topic: string;
      readonly payload: string;
      readonly qos: number;
    })
  | (At & {
      readonly kind: "admin";
      /** `admin-register`, `admin-accept`, `admin-block`, `admin-create-operation`, `admin-delete-device`. */
      readonly action: string;
      readonly deviceId: string;
      readonly ok: boolean;
      readonly detail: string;
      readonly operationId?: string;
      /** Where the admin input came from. */
      readonly via: "http" | "api";
    })
  | (At & {
      /** A request the admin API's access guard refused (never carries a token or a query). */
      readonly kind: "admin-refused";
      readonly method: string;
      readonly path: string;
      /** 401 (no or wrong token), 403 (another site or origin), 421 (Host not this server). */
      readonly status: number;
      readonly reason: string;
    })
  | (At & {
      readonly kind: "problem";
      readonly clientKey?: string;
      readonly message: string;
    })
  | (At & { readonly kind: "closed" });

const MAX_PAYLOAD_CHARS = 200;

const shorten = (text: string): string => {
  const oneLine = text.replace(/\r?\n/g, "⏎");
  return oneLine.length > MAX_PAYLOAD_CHARS
    ? `${oneLine.slice(0, MAX_PAYLOAD_CHARS)}… (${text.length} chars)`
    : oneLine;
};

const time = (atMs: number): string => {
  const d = new Date(atMs);
  return Number.isNaN(d.getTime()) ? String(atMs) : d.toISOString().slice(11, 23);
};

/** One human-readable line (payloads shortened to 200 characters, newlines shown as ⏎). */
export const formatLogEntry = (e: SimLogEntry): string => {
  const at = time(e.atMs);
  switch (e.kind) {
    case "listening":
      return `${at} tenant listening: mqtt ${e.mqttUrl}${e.mqttsUrl === undefined ? "" : `, mqtts ${e.mqttsUrl}`}${e.wsUrl === undefined ? "" : `, ws ${e.wsUrl}`}, admin ${e.adminUrl}`;
    case "connect":
      return e.code === 0
        ? `${at} ${e.clientKey} CONNECT ${e.clientId} as ${e.username ?? "(no user)"} → accepted`
        : `${at} ${e.clientKey} CONNECT ${e.clientId} as ${e.username ?? "(no user)"} → refused (CONNACK ${e.code})`;
    case "disconnect":
      return `${at} ${e.clientKey} ${e.clientId} disconnected by ${e.by}: ${e.reason}`;
    case "subscribe":
      return `${at} ${e.clientKey} ${e.clientId} SUBSCRIBE ${e.topic} qos ${e.qos} → ${e.granted === 0x80 ? "refused (0x80)" : `granted ${e.granted}`}`;
    case "unsubscribe":
      return `${at} ${e.clientKey} ${e.clientId} UNSUBSCRIBE ${e.topics.join(", ")}`;
    case "publish-in":
      return `${at} ${e.clientKey} ${e.clientId} → ${e.topic} (qos ${e.qos}, ${e.bytes} B): ${shorten(e.payload)}`;
    case "publish-out":
      return `${at} ${e.clientKey} ${e.clientId} ← ${e.topic} (qos ${e.qos}): ${shorten(e.payload)}`;
    case "admin":
      return `${at} admin[${e.via}] ${e.action} ${e.deviceId}: ${e.ok ? "ok" : "refused"} — ${e.detail}`;
    case "admin-refused":
      return `${at} admin refused ${e.method} ${e.path}: ${e.status} ${e.reason}`;
    case "problem":
      return `${at} problem${e.clientKey === undefined ? "" : ` ${e.clientKey}`}: ${e.message}`;
    case "closed":
      return `${at} tenant closed`;
  }
};
