/**
 * The MQTT side: aedes hooks that turn every CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH and
 * disconnection into a platform-model input, and the executor that carries out the model's
 * outputs on the right aedes client. The broker decides nothing itself:
 *
 * - `preConnect` gives every aedes client object its own client key (`c1`, `c2`, …) and keeps
 *   the ClientId exactly as sent (aedes would invent one for an empty ClientId).
 * - `authenticate` → `client-connect`; the model's CONNACK code is the answer.
 * - `authorizeSubscribe` (called by aedes once per topic filter) → `client-subscribe` with that one
 *   topic; 0x80 refuses the subscription, otherwise the QoS the model granted is stored.
 * - `authorizePublish` → `client-publish`; a `disconnect` for that client refuses the packet
 *   (no PUBACK) and closes the connection. Retain flags are cleared (not modelled).
 * - `deliver {clientKey}` → that aedes client's own `publish` (per-client delivery, never the
 *   broker-wide `aedes.publish`). `authorizeForward` lets only those packets through, so nothing
 *   a device publishes is ever routed to another client.
 * - the socket closing (or aedes' `clientDisconnect`) → `client-disconnect`, once per session,
 *   with `clean: false` unless the client sent DISCONNECT: the model then processes the will
 *   that came with `client-connect` (spec §1.9).
 * - a TLS client certificate → `certificate` on `client-connect`: its CN, validity and the
 *   fingerprint of the trusted certificate (from the model's state) whose key verifies it.
 */
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from "aedes";
import { decodePayload, type DistributiveOmit } from "@c8ylink/core";
import type { TLSSocket } from "node:tls";
import type {
  ClientConnect,
  PlatformInput,
  PlatformOutput,
  PresentedCertificate,
  QoS,
  Will,
} from "@c8ylink/platform";
import { presentedCertificate } from "./certs.js";
import type { Hub, Outputs } from "./hub.js";
import type { SimLogEntry } from "./log.js";

/** `brokerId` stamped on the packets the simulator delivers; `authorizeForward` passes only these. */
const DELIVERY_MARK = "c8ylink-sim-delivery";

/** One MQTT connection (one aedes client object). */
interface Connection {
  readonly key: string;
  readonly client: Client;
  /** ClientId as sent in CONNECT. */
  readonly clientId: string;
  /** The model has a session for this key (CONNACK 0 and not dropped since). */
  live: boolean;
  /** The socket is gone (reported once). */
  ended: boolean;
  /** The model closed it (carried out once). */
  dropped: boolean;
  /** The CONNECT's will (spec §1.9), handed to the model, which publishes it on a lost connection. */
  readonly will?: Will;
}

export interface MqttSideOptions {
  readonly hub: () => Hub;
  readonly now: () => number;
  readonly log: (entry: SimLogEntry) => void;
}

const SUBACK_FAILURE = 0x80;

const errorWithCode = (message: string, returnCode: number): Error & { returnCode: number } =>
  Object.assign(new Error(message), { returnCode });

const disconnectOf = (outputs: Outputs, clientKey: string) =>
  outputs.find(
    (o): o is Extract<PlatformOutput, { type: "disconnect" }> =>
      o.type === "disconnect" && o.clientKey === clientKey,
  );

const asBuffer = (payload: Buffer | string): Buffer =>
  typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;

/** Payload text as the model takes it (invalid UTF-8 becomes U+FFFD). */
const textOf = (bytes: Buffer): string => {
  const decoded = decodePayload(bytes);
  return decoded._tag === "Right" ? decoded.right : bytes.toString("utf8");
};

export class MqttSide {
  readonly aedes: Aedes;
  private readonly connections = new WeakMap<Client, Connection>();
  private readonly byKey = new Map<string, Connection>();
  private nextKey = 1;
  private deliveries = 0;

  constructor(private readonly options: MqttSideOptions) {
    this.aedes = new Aedes({
      // The model applies the MQTT 3.1 ClientId rule itself (CONNACK 5 from 24 characters).
      maxClientsIdLength: 65_535,
      preConnect: (client, packet, done) => {
        const will = packet.will;
        const connection: Connection = {
          key: `c${this.nextKey++}`,
          client,
          clientId: typeof packet.clientId === "string" ? packet.clientId : "",
          live: false,
          ended: false,
          dropped: false,
          ...(will === undefined || will === null
            ? {}
            : {
                will: {
                  topic: will.topic,
                  payload: textOf(asBuffer(will.payload)),
                  qos: will.qos ?? 0,
                },
              }),
        };
        this.connections.set(client, connection);
        this.byKey.set(connection.key, connection);
        client.conn.once("close", () => this.ended(connection));
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const connection = this.connections.get(client);
        if (connection === undefined) {
          done(errorWithCode("unknown connection", 3) as never, false);
          return;
        }
        const input: ClientConnect = {
          type: "client-connect",
          nowMs: this.options.now(),
          clientKey: connection.key,
          clientId: connection.clientId,
          username: username ?? null,
          password: password === undefined ? null : asBuffer(password).toString("utf8"),
          certificateCn: null,
          protocolLevel: client.version,
          ...(connection.will === undefined ? {} : { will: connection.will }),
          ...this.certificateOf(client),
        };
        this.feed(input, (outputs) => {
          const connack = outputs.find((o) => o.type === "connack" && o.clientKey === connection.key);
          const code = connack?.type === "connack" ? connack.code : 5;
          this.entry({
            kind: "connect",
            clientKey: connection.key,
            clientId: connection.clientId,
            username: input.username,
            code,
          });
          if (code === 0 && connection.ended) {
            // The socket closed while the CONNECT was being decided: end the new session at once.
            this.feed({ type: "client-disconnect", nowMs: this.options.now(), clientKey: connection.key });
            done(errorWithCode("connection closed", 3) as never, false);
          } else if (code === 0) {
            connection.live = true;
            done(null, true);
          } else {
            // aedes sends codes 2–5 as given; 1 (unacceptable protocol) is answered by aedes itself.
            done(errorWithCode(`refused by the platform (CONNACK ${code})`, code) as never, false);
          }
        });
      },
      authorizeSubscribe: (client, subscription, done) => {
        const connection = this.connections.get(client);
        if (connection === undefined || !connection.live) {
          done(new Error("no session"), null);
          return;
        }
        const { topic, qos } = subscription;
        this.feed(
          {
            type: "client-subscribe",
            nowMs: this.options.now(),
            clientKey: connection.key,
            topics: [{ topic, qos }],
          },
          (outputs) => {
            const closed = disconnectOf(outputs, connection.key);
            if (closed !== undefined) {
              this.disconnect(connection.key, closed.reason);
              done(new Error(closed.reason), null);
              return;
            }
            const suback = outputs.find((o) => o.type === "suback" && o.clientKey === connection.key);
            const granted =
              suback?.type === "suback" ? (suback.granted[0] ?? SUBACK_FAILURE) : SUBACK_FAILURE;
            this.entry({
              kind: "subscribe",
              clientKey: connection.key,
              clientId: connection.clientId,
              topic,
              qos,
              granted,
            });
            if (granted === 0 || granted === 1 || granted === 2) {
              const accepted: Subscription = { ...subscription, qos: granted };
              done(null, accepted);
            } else {
              done(null, null); // aedes answers 0x80 for this topic
            }
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        const connection = client === null ? undefined : this.connections.get(client);
        // No session, or aedes publishing the will while the connection closes: the model already
        // processed the will itself (client-disconnect with clean: false), so aedes' copy is refused.
        if (connection === undefined || !connection.live || client?.closed === true) {
          done(new Error("no live session"));
          return;
        }
        packet.retain = false;
        const bytes = asBuffer(packet.payload);
        const decoded = decodePayload(bytes);
        const payload = decoded._tag === "Right" ? decoded.right : bytes.toString("utf8");
        if (decoded._tag === "Left") {
          this.entry({
            kind: "problem",
            clientKey: connection.key,
            message: `${decoded.left.message} in a publish on ${packet.topic}: handed to the model with U+FFFD replacements`,
          });
        }
        this.entry({
          kind: "publish-in",
          clientKey: connection.key,
          clientId: connection.clientId,
          topic: packet.topic,
          payload,
          qos: packet.qos,
          bytes: bytes.length,
        });
        this.feed(
          {
            type: "client-publish",
            nowMs: this.options.now(),
            clientKey: connection.key,
            topic: packet.topic,
            payload,
            qos: packet.qos,
            payloadBytes: bytes.length,
            // JSON via MQTT errors name the failing publish by its packet id (spec §2.7).
            ...(typeof packet.messageId === "number" ? { messageId: packet.messageId } : {}),
          },
          (outputs) => {
            const closed = disconnectOf(outputs, connection.key);
            if (closed !== undefined) this.disconnect(connection.key, closed.reason);
            done(closed === undefined ? null : new Error(closed.reason));
          },
        );
      },
      authorizeForward: (_client, packet: AedesPublishPacket) =>
        packet.brokerId === DELIVERY_MARK ? packet : null,
    });
    this.aedes.on("clientDisconnect", (client) => {
      const connection = this.connections.get(client);
      if (connection !== undefined) this.ended(connection);
    });
    this.aedes.on("unsubscribe", (topics, client) => {
      const connection = this.connections.get(client);
      if (connection === undefined || !connection.live || client.closed) return;
      this.entry({ kind: "unsubscribe", clientKey: connection.key, clientId: connection.clientId, topics });
      this.feed({
        type: "client-unsubscribe",
        nowMs: this.options.now(),
        clientKey: connection.key,
        topics: [...topics],
      });
    });
    const onError = (client: Client, error: Error) => {
      const connection = this.connections.get(client);
      if (connection?.dropped === true) return; // the platform closed it; already logged
      this.entry({
        kind: "problem",
        ...(connection === undefined ? {} : { clientKey: connection.key }),
        message: `connection error: ${error.message}`,
      });
    };
    this.aedes.on("clientError", onError);
    this.aedes.on("connectionError", onError);
  }

  /** Carries out the outputs the model produced for any input. */
  execute(_input: PlatformInput, outputs: Outputs): void {
    for (const output of outputs) {
      switch (output.type) {
        case "deliver":
          this.deliver(output.clientKey, output.topic, output.payload, output.qos);
          break;
        case "disconnect":
          this.disconnect(output.clientKey, output.reason);
          break;
        case "invalid-input":
          this.entry({ kind: "problem", message: `the platform model refused an input: ${output.reason}` });
          break;
        default:
          // connack / suback / unsuback / publish-accepted are answered by the hooks; admin-result by the caller.
          break;
      }
    }
  }

  private feed(input: PlatformInput, then?: (outputs: Outputs) => void): void {
    this.options.hub().feed(input, then);
  }

  private entry(entry: DistributiveOmit<SimLogEntry, "atMs">): void {
    this.options.log({ ...entry, atMs: this.options.now() } as SimLogEntry);
  }

  private deliver(clientKey: string, topic: string, payload: string, qos: QoS): void {
    const connection = this.byKey.get(clientKey);
    if (connection === undefined || connection.client.closed) {
      this.entry({ kind: "problem", clientKey, message: `delivery on ${topic} dropped: connection closed` });
      return;
    }
    this.entry({ kind: "publish-out", clientKey, clientId: connection.clientId, topic, payload, qos });
    const packet = {
      cmd: "publish",
      topic,
      payload: Buffer.from(payload, "utf8"),
      qos,
      retain: false,
      dup: false,
      brokerId: DELIVERY_MARK,
      brokerCounter: ++this.deliveries,
    } as PublishPacket;
    connection.client.publish(packet, (error) => {
      if (error !== undefined && error !== null)
        this.entry({ kind: "problem", clientKey, message: `delivery on ${topic} failed: ${error.message}` });
    });
  }

  private disconnect(clientKey: string, reason: string): void {
    const connection = this.byKey.get(clientKey);
    if (connection === undefined || connection.dropped) return;
    connection.dropped = true;
    connection.live = false;
    this.entry({ kind: "disconnect", clientKey, clientId: connection.clientId, by: "platform", reason });
    connection.client.close();
  }

  /** The connection is gone: report it once (the model forgets sessions it dropped itself). */
  private ended(connection: Connection): void {
    if (connection.ended) return;
    connection.ended = true;
    this.byKey.delete(connection.key);
    if (!connection.live) return;
    connection.live = false;
    this.entry({
      kind: "disconnect",
      clientKey: connection.key,
      clientId: connection.clientId,
      by: "client",
      reason: "connection closed",
    });
    // aedes marks a client that sent DISCONNECT; any other end is a lost connection (will due).
    const clean = (connection.client as Client & { _disconnected?: boolean })._disconnected === true;
    this.feed({ type: "client-disconnect", nowMs: this.options.now(), clientKey: connection.key, clean });
  }

  /** The client certificate of a TLS connection, checked against the model's trusted certificates. */
  private certificateOf(client: Client): { certificate?: PresentedCertificate } {
    const socket = client.conn as unknown as Partial<TLSSocket>;
    if (typeof socket.getPeerX509Certificate !== "function") return {};
    const leaf = socket.getPeerX509Certificate();
    if (leaf === undefined) return {};
    const trusted = Object.values(this.options.hub().state().certificates);
    return { certificate: presentedCertificate(leaf, trusted) };
  }

  /** Closes every connection and the broker. */
  close(): Promise<void> {
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }
}
