/**
 * `startSimulatedTenant`: the platform model on an embedded aedes broker (TCP, optionally
 * WebSocket and TLS) plus the HTTP admin API, all bound to loopback by default. The admin API needs
 * the per-run access token (`adminToken`); the MQTT side needs the platform's credentials.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from "node:net";
import type { Duplex } from "node:stream";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { WebSocketServer, createWebSocketStream } from "ws";
import {
  initialPlatform,
  type PlatformInput,
  type PlatformOptions,
  type PlatformOutput,
  type PlatformState,
} from "@c8ylink/platform";
import { adminGuard, adminTokenProblem, allowedHostProblem, newAdminToken } from "./access.js";
import { adminHandler, type SimAdminInput, type SimAdminResult } from "./admin.js";
import { MqttSide } from "./broker.js";
import { Hub, type Outputs } from "./hub.js";
import type { SimLogEntry } from "./log.js";
import { BinaryStore, HttpFaults, Repository, restHandler, type BinaryLimits } from "./rest/index.js";
import { LiveFeed } from "./web/live.js";
import { webHandler } from "./web/routes.js";

export interface SimulatedTenantOptions {
  /** Interface every listener binds to. Default `127.0.0.1`. */
  readonly host?: string;
  /** MQTT over TCP. Default 0 (an ephemeral port; read `mqttUrl`). */
  readonly mqttPort?: number;
  /** MQTT over WebSocket on `ws://host:port/mqtt`; 0 = ephemeral. Default `false` (off). */
  readonly wsPort?: number | false;
  /**
   * MQTT over TLS (spec §1.1: one-way TLS with username/password, or two-way with a client
   * certificate checked against the trusted certificates, §8.2): the server's PEM key and
   * certificate (`createLocalCa` makes both) and a port (default 0, ephemeral; read `mqttsUrl`).
   * Default off.
   */
  readonly tls?: { readonly key: string; readonly cert: string; readonly port?: number };
  /**
   * How often the tenant's clock ticks for availability (spec §9: UNAVAILABLE after the
   * required interval), in ms of wall time. Default 1000; `false` = never (tests call `tick()`).
   */
  readonly availabilityTickMs?: number | false;
  /** HTTP admin API. Default 0 (ephemeral; read `adminUrl`). */
  readonly httpPort?: number;
  /**
   * The admin API's access token (16–256 characters of `A-Za-z0-9._~-`). Default: 32 random
   * bytes, new for every start (read `adminToken`).
   */
  readonly adminToken?: string;
  /**
   * More names the admin API answers to in the `Host` header, besides `localhost`, `127.0.0.1`,
   * `[::1]` and `host` (e.g. a Docker service name). Others are refused (DNS rebinding).
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Options of the platform model (`tenantId`, `bootstrapPassword`, `autoAccept`, `users`, …).
   * Unlike the model, the tenant refuses subscriptions until the device exists
   * (`refuseSubscribeBeforeDevice: true`, spec §2.5) and renews tokens only after half their
   * lifetime (`tokenRenewalAfterHalfLife: true`, §8.1), unless this says otherwise.
   */
  readonly platform?: PlatformOptions;
  /**
   * Operations as JSON on `devicecontrol/notifications` (spec §2.7). Default true; false makes
   * the tenant refuse that subscription (SUBACK 0x80), like a broker without JSON via MQTT.
   * Overrides `platform.jsonOperations`.
   */
  readonly jsonOperations?: boolean;
  /**
   * Limits of the in-memory binary repository (event and inventory binaries over REST):
   * per file (default 64 MiB) and in total (default 512 MiB); over them → 413.
   */
  readonly binaries?: BinaryLimits;
  /** Time source for `nowMs` of every model input and for log entries. Default `Date.now`. */
  readonly clock?: () => number;
  /** Receives the timeline (connections, refusals, publishes in and out, admin actions). */
  readonly onLog?: (entry: SimLogEntry) => void;
}

export interface SimulatedTenant {
  /** `mqtt://host:port` */
  readonly mqttUrl: string;
  /** `ws://host:port/mqtt`, when `wsPort` was given. */
  readonly wsUrl?: string;
  /** `mqtts://host:port`, when `tls` was given. */
  readonly mqttsUrl?: string;
  /** `http://host:port` of the admin API. */
  readonly adminUrl: string;
  /**
   * The access token of the admin API: send `Authorization: Bearer <adminToken>`, or open
   * `<adminUrl>/?token=<adminToken>` in a browser (sets a cookie). Never logged.
   */
  readonly adminToken: string;
  /** The platform state after the last step (plain JSON; query it with `@c8ylink/platform`'s views). */
  state(): PlatformState;
  /**
   * Feeds one admin input now (stamped with the clock) and returns the model's answer. Throws
   * when called while the tenant is carrying out a step (e.g. from `onLog`).
   */
  step(input: SimAdminInput): SimAdminResult;
  /** Lets the model check availability now (what the periodic tick does). */
  tick(): void;
  /** Closes every connection and listener. Idempotent. */
  close(): Promise<void>;
}

/** The WebSocket endpoint's path (the Cumulocity and `@c8ylink/mqtt` default). */
export const WS_PATH = "/mqtt";

const ADMIN_TYPES: ReadonlySet<string> = new Set([
  "admin-register",
  "admin-accept",
  "admin-block",
  "admin-create-operation",
  "admin-delete-device",
  "admin-acknowledge-alarm",
  "admin-clear-alarm",
  "admin-refuse-next-connect",
  "admin-trust-certificate",
  "admin-remove-certificate",
  "admin-create-event",
  "admin-set-event-binary",
  "admin-reserve-id",
]);

/** What an admin input is about, for the timeline. */
const subjectOf = (input: SimAdminInput): string => {
  switch (input.type) {
    case "admin-acknowledge-alarm":
    case "admin-clear-alarm":
      return input.alarmId;
    case "admin-trust-certificate":
      return input.certificate.fingerprint;
    case "admin-remove-certificate":
      return input.fingerprint;
    case "admin-create-event":
      return input.sourceId;
    case "admin-set-event-binary":
      return input.eventId;
    case "admin-reserve-id":
      return "-";
    default:
      return input.deviceId;
  }
};

const listen = (server: NetServer | HttpServer | TlsServer, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });

const closeServer = (server: NetServer | HttpServer | TlsServer): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });

const urlHost = (host: string): string => (host.includes(":") ? `[${host}]` : host);

/** Starts a simulated tenant; resolves once every listener is bound. */
export const startSimulatedTenant = async (
  options: SimulatedTenantOptions = {},
): Promise<SimulatedTenant> => {
  const host = options.host ?? "127.0.0.1";
  const adminToken = options.adminToken ?? newAdminToken();
  const tokenProblem = adminTokenProblem(adminToken);
  if (tokenProblem !== undefined) throw new TypeError(`adminToken: ${tokenProblem}`);
  for (const name of options.allowedHosts ?? []) {
    const problem = allowedHostProblem(name);
    if (problem !== undefined) throw new TypeError(`allowedHosts: ${problem}`);
  }
  const now = options.clock ?? Date.now;
  const onLog = options.onLog;
  const log = (entry: SimLogEntry): void => {
    // The broker and the hub log only once connections or inputs arrive, after `live` exists.
    live.logged(entry);
    if (onLog === undefined) return;
    try {
      onLog(entry);
    } catch {
      // A listener's failure must not disturb the tenant.
    }
  };

  // The broker hooks reach the hub lazily (only once connections arrive), so both can be const.
  const mqtt = new MqttSide({ hub: () => hub, now, log });
  const hub = new Hub(
    initialPlatform({
      refuseSubscribeBeforeDevice: true,
      tokenRenewalAfterHalfLife: true,
      ...options.platform,
      ...(options.jsonOperations === undefined ? {} : { jsonOperations: options.jsonOperations }),
    }),
    (input: PlatformInput, outputs: Outputs) => {
      mqtt.execute(input, outputs);
      live.stepped();
    },
    (message) => log({ kind: "problem", atMs: now(), message }),
  );
  // The web page's event stream.
  const live = new LiveFeed({ state: () => hub.state() });

  const admin = (input: SimAdminInput, via: "http" | "api"): SimAdminResult => {
    if (!ADMIN_TYPES.has((input as { type?: unknown }).type as string))
      throw new TypeError(`not an admin input: ${JSON.stringify((input as { type?: unknown }).type)}`);
    if (hub.busy()) throw new Error("step() called while the tenant is carrying out a step");
    let result: SimAdminResult | undefined;
    hub.feed({ ...input, nowMs: now() } as PlatformInput, (outputs) => {
      const answer = outputs.find(
        (o): o is Extract<PlatformOutput, { type: "admin-result" }> => o.type === "admin-result",
      );
      const invalid = outputs.find((o) => o.type === "invalid-input");
      result = {
        ok: answer?.ok ?? false,
        detail:
          answer?.detail ?? (invalid?.type === "invalid-input" ? invalid.reason : "no answer from the model"),
        ...(answer?.operationId === undefined ? {} : { operationId: answer.operationId }),
        ...(answer?.objectId === undefined ? {} : { objectId: answer.objectId }),
        outputs,
      };
      log({
        kind: "admin",
        atMs: now(),
        action: input.type,
        deviceId: subjectOf(input),
        ok: result.ok,
        detail: result.detail,
        ...(result.operationId === undefined ? {} : { operationId: result.operationId }),
        via,
      });
    });
    if (result === undefined) throw new Error("admin input was not stepped");
    return result;
  };

  const binaries = new BinaryStore(options.binaries);
  const sockets = new Set<Socket | Duplex>();
  const track = <S extends Socket | Duplex>(socket: S): S => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    return socket;
  };

  const tcp = createNetServer((socket) => {
    mqtt.aedes.handle(track(socket));
  });
  const refused = (r: { method: string; path: string; status: number; reason: string }): void =>
    log({
      kind: "admin-refused",
      atMs: now(),
      method: r.method,
      // Belt and braces: a token typed into the path is not written to the timeline either.
      path: r.path.split(adminToken).join("<token>"),
      status: r.status,
      reason: r.reason,
    });
  const http: HttpServer = createHttpServer(
    adminHandler({
      state: () => hub.state(),
      admin: (i) => admin(i, "http"),
      guard: adminGuard({
        token: adminToken,
        boundHost: host,
        port: () => (http.address() as AddressInfo | null)?.port ?? -1,
        ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
      }),
      refused,
      web: webHandler(live),
      rest: restHandler({
        state: () => hub.state(),
        step: (i) => admin(i, "http"),
        store: binaries,
        faults: new HttpFaults(),
        repository: new Repository(),
        now,
        refused,
      }),
    }),
  );
  let wss: WebSocketServer | undefined;
  const tlsServer =
    options.tls === undefined
      ? undefined
      : createTlsServer(
          // Client certificates are requested but not verified by node: the broker checks them
          // against the model's trusted certificates, and the model decides (CONNACK 5).
          { key: options.tls.key, cert: options.tls.cert, requestCert: true, rejectUnauthorized: false },
          (socket) => {
            mqtt.aedes.handle(track(socket));
          },
        );
  tlsServer?.on("tlsClientError", (error) =>
    log({ kind: "problem", atMs: now(), message: `TLS handshake failed: ${error.message}` }),
  );
  const tickMs = options.availabilityTickMs ?? 1000;
  const tick = (): void => hub.feed({ type: "clock-tick", nowMs: now() });
  const ticker = tickMs === false ? undefined : setInterval(tick, Math.max(10, tickMs));
  ticker?.unref();

  const shutdown = async (): Promise<void> => {
    if (ticker !== undefined) clearInterval(ticker);
    live.close();
    const closing = [closeServer(tcp), closeServer(http)];
    if (tlsServer !== undefined) closing.push(closeServer(tlsServer));
    if (wss !== undefined) {
      const server = wss;
      for (const client of server.clients) client.terminate();
      closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
    }
    await mqtt.close();
    for (const socket of sockets) socket.destroy();
    http.closeAllConnections();
    await Promise.all(closing);
    binaries.clear();
  };

  try {
    await mqtt.aedes.listen();
    const mqttPort = await listen(tcp, options.mqttPort ?? 0, host);
    const httpPort = await listen(http, options.httpPort ?? 0, host);
    let wsUrl: string | undefined;
    if (options.wsPort !== undefined && options.wsPort !== false) {
      const server = new WebSocketServer({
        host,
        port: options.wsPort,
        path: WS_PATH,
        handleProtocols: (protocols) =>
          protocols.has("mqtt") ? "mqtt" : protocols.has("mqttv3.1") ? "mqttv3.1" : false,
      });
      wss = server;
      server.on("connection", (socket) => {
        const stream = track(createWebSocketStream(socket));
        stream.on("error", () => stream.destroy());
        mqtt.aedes.handle(stream);
      });
      const wsPort = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.once("listening", () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
      wsUrl = `ws://${urlHost(host)}:${wsPort}${WS_PATH}`;
    }
    const mqttsUrl =
      tlsServer === undefined
        ? undefined
        : `mqtts://${urlHost(host)}:${await listen(tlsServer, options.tls?.port ?? 0, host)}`;
    const mqttUrl = `mqtt://${urlHost(host)}:${mqttPort}`;
    const adminUrl = `http://${urlHost(host)}:${httpPort}`;
    log({
      kind: "listening",
      atMs: now(),
      mqttUrl,
      ...(wsUrl === undefined ? {} : { wsUrl }),
      ...(mqttsUrl === undefined ? {} : { mqttsUrl }),
      adminUrl,
    });

    let closed: Promise<void> | undefined;
    return {
      mqttUrl,
      ...(wsUrl === undefined ? {} : { wsUrl }),
      ...(mqttsUrl === undefined ? {} : { mqttsUrl }),
      adminUrl,
      adminToken,
      tick,
      state: () => hub.state(),
      step: (input) => admin(input, "api"),
      close: () => {
        closed ??= shutdown().then(() => log({ kind: "closed", atMs: now() }));
        return closed;
      },
    };
  } catch (e) {
    await shutdown().catch(() => {});
    throw e;
  }
};
