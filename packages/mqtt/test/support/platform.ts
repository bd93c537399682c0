/**
 * The "platform" side of the integration tests: a plain MQTT.js client that listens on
 * `s/us/#` (which also matches `s/us`) and publishes `s/ds` lines. mosquitto knows nothing of
 * Cumulocity; this client plays its part. It uses a persistent session (clean: false, QoS 1)
 * and reconnects on its own, so with a persistent broker it loses nothing across restarts.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { waitUntil } from "./broker.js";

export interface ReceivedLine {
  readonly topic: string;
  readonly line: string;
}

export class Platform {
  readonly lines: ReceivedLine[] = [];

  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      for (const line of payload.toString("utf8").split("\n")) this.lines.push({ topic, line });
    });
  }

  static connect(url: string, clientId = `platform-${process.pid}-${Date.now()}`): Promise<Platform> {
    return Platform.connectWith(url, {}, clientId);
  }

  /** Like `connect`, with extra MQTT.js options (TLS material). */
  static async connectWith(
    url: string,
    extra: IClientOptions,
    clientId = `platform-${process.pid}-${Date.now()}`,
  ): Promise<Platform> {
    const client = mqtt.connect(url, {
      clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 200,
      connectTimeout: 5_000,
      ...extra,
    });
    const platform = new Platform(client);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("platform client did not connect")), 10_000);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await client.subscribeAsync({ "s/us/#": { qos: 1 } });
    return platform;
  }

  /** Lines received on `topic` (all topics when omitted). */
  rows(topic?: string): string[] {
    return this.lines.filter((l) => topic === undefined || l.topic === topic).map((l) => l.line);
  }

  waitForRow(predicate: (line: string) => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil(() => this.lines.some((l) => predicate(l.line)), timeoutMs, what);
  }

  async send(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
