/**
 * The size law judged by a broker that is not ours: mosquitto's own packet-size limit.
 *
 * mosquitto (2.0.x) measures a packet for `max_packet_size` as Remaining Length + 1, without
 * the bytes of the Remaining Length field itself (found by this test: `max_packet_size 16184`
 * lets 16185- and 16186-byte packets through and refuses from 16187). For packets of this
 * size the field is 2 bytes, so `max_packet_size 16182` is exactly Cumulocity's 16184-byte
 * limit. The first test pins that on raw sockets with the independent encoder; the second
 * runs the real engine against that broker with rows packed right up to the limit.
 */
import { connect, type Socket } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  encodeConnect,
  encodePublish,
  encodeSubscribe,
  payloadForPacketSize,
} from "../../../test/support/mqtt-oracle.js";
import { Broker, CONNECTION_TIMEOUT, describeWithBroker, waitUntil } from "./support/broker.js";
import { Fixture, passwordConfig } from "./support/fixture.js";
import { Platform } from "./support/platform.js";
import { expectReplays } from "./support/replay.js";

const LIMIT = 16_184;
/** mosquitto's setting for a 16184-byte limit on packets with a 2-byte Remaining Length. */
const MOSQUITTO_LIMIT_SETTING = `max_packet_size ${LIMIT - 2}`;

/** A raw MQTT 3.1.1 connection: bytes in, CONNACK awaited, received bytes and close observed. */
class RawClient {
  received = Buffer.alloc(0);
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => {});
  }

  static async open(port: number, clientId: string): Promise<RawClient> {
    const socket = connect(port, "127.0.0.1");
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.write(encodeConnect(clientId));
    await waitUntil(() => client.received.length >= 4, 5_000, `CONNACK for ${clientId}`);
    expect([...client.received.subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    client.received = Buffer.alloc(0);
    return client;
  }

  /** PINGREQ answered by PINGRESP: the broker still serves this connection. */
  async ping(): Promise<void> {
    const before = this.received.length;
    this.socket.write(Buffer.from([0xc0, 0x00]));
    await waitUntil(() => this.received.length >= before + 2 || this.closed, 5_000, "PINGRESP");
    expect(this.closed).toBe(false);
    expect([...this.received.subarray(before, before + 2)]).toEqual([0xd0, 0x00]);
  }

  close(): void {
    this.socket.destroy();
  }
}

describeWithBroker("the size law against mosquitto's max_packet_size", () => {
  let broker: Broker;
  const fx = new Fixture();
  const clients: RawClient[] = [];

  beforeEach(async () => {
    broker = await Broker.create({ global: [MOSQUITTO_LIMIT_SETTING] });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await fx.cleanup();
    await broker?.dispose();
  });

  it("mosquitto passes on a 16184-byte PUBLISH and drops the client for 16185 bytes", async () => {
    const subscriber = await RawClient.open(broker.port, "sub");
    clients.push(subscriber);
    subscriber.socket.write(encodeSubscribe("big/#"));
    await waitUntil(() => subscriber.received.length >= 5, 5_000, "SUBACK");
    subscriber.received = Buffer.alloc(0);

    const fits = encodePublish("big/a", payloadForPacketSize("big/a", 0, LIMIT)!, 0);
    const over = encodePublish("big/b", payloadForPacketSize("big/b", 0, LIMIT + 1)!, 0);
    expect([fits.length, over.length]).toEqual([LIMIT, LIMIT + 1]);

    const accepted = await RawClient.open(broker.port, "pub-fits");
    clients.push(accepted);
    accepted.socket.write(fits);
    // Forwarded whole (same QoS 0 packet, byte for byte) and the sender is still served.
    await waitUntil(() => subscriber.received.length >= LIMIT, 10_000, "the 16184-byte message");
    expect(Buffer.compare(subscriber.received.subarray(0, LIMIT), Buffer.from(fits))).toBe(0);
    await accepted.ping();

    const refused = await RawClient.open(broker.port, "pub-over");
    clients.push(refused);
    refused.socket.write(over);
    await waitUntil(() => refused.closed, 10_000, "mosquitto to drop the 16185-byte sender");
    // The subscriber got nothing more; it is still served.
    await subscriber.ping();
    expect(subscriber.received.length).toBe(LIMIT + 2);
  });

  it("the engine packs rows up to 16184 bytes and never past it: one session, every row delivered", async () => {
    const platform = await Platform.connect(broker.url);
    try {
      const { engine, logPath } = await fx.engine({
        config: passwordConfig({ settleMs: 50 }),
        url: broker.url,
      });
      await engine.start();
      // Queued before the gate opens, so they go out packed: 8006 + 1 + 8166 = 16173 payload
      // bytes (a 16184-byte PUBLISH on s/us at QoS 1), then 8006 + 1 + 8167 (one byte more).
      const lines = [8_006, 8_166, 8_006, 8_167].map((size, i) => {
        const prefix = `400,e${i},`;
        return `${prefix}${"x".repeat(size - prefix.length)}`;
      });
      for (const [i, line] of lines.entries()) {
        const text = line.slice(`400,e${i},`.length);
        expect(engine.submit({ template: "400", type: `e${i}`, text })).toMatchObject({ accepted: true });
      }
      await engine.whenOnline(CONNECTION_TIMEOUT);
      await platform.waitForRow((l) => l.startsWith("400,e3,"), 15_000, "the last event");
      expect(platform.rows("s/us").filter((l) => l.startsWith("400,"))).toEqual(lines);
      await engine.whenDrained(5_000);
      expect(engine.counters()).toMatchObject({ connects: 1, connectionLosses: 0 });
      await engine.stop();
      await expectReplays(logPath);
    } finally {
      await platform.close();
    }
  });
});
