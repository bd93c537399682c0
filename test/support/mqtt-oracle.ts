/**
 * An independent MQTT 3.1.1 encoder for tests: the oracle for the size law. Written from the
 * specification (§2.2 fixed header, §2.2.3 Remaining Length, §3.1 CONNECT, §3.3 PUBLISH) and
 * sharing no code with `@c8ylink/core`'s size arithmetic, so a bug in the core's size code
 * cannot hide behind the same bug on the checking side.
 */

const utf8 = new TextEncoder();

/** §2.2.3: 7 bits per byte, least significant group first, high bit = "more bytes follow". */
export const encodeRemainingLength = (length: number): number[] => {
  if (!Number.isInteger(length) || length < 0 || length > 268_435_455) {
    throw new Error(`remaining length ${length} cannot be encoded`);
  }
  const out: number[] = [];
  let rest = length;
  do {
    const low = rest & 0x7f;
    rest >>>= 7;
    out.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return out;
};

/** §1.5.3: a two-byte big-endian length, then the UTF-8 bytes. */
const utf8String = (text: string): number[] => {
  const bytes = [...utf8.encode(text)];
  if (bytes.length > 0xffff) throw new Error("string longer than 65535 bytes");
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};

const packet = (firstByte: number, body: readonly number[], payload: Uint8Array): Uint8Array => {
  const head = [firstByte, ...encodeRemainingLength(body.length + payload.length), ...body];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
};

/** The bytes of a PUBLISH (§3.3): type 3, QoS in bits 1–2, topic, packet id when QoS > 0, payload. */
export const encodePublish = (
  topic: string,
  payload: string | Uint8Array,
  qos: 0 | 1 | 2,
  packetId = 1,
): Uint8Array => {
  const body = utf8String(topic);
  if (qos > 0) body.push(packetId >> 8, packetId & 0xff);
  const bytes = typeof payload === "string" ? utf8.encode(payload) : payload;
  return packet(0x30 | (qos << 1), body, bytes);
};

/** Size in bytes of the PUBLISH carrying `payload` on `topic`, by encoding it. */
export const publishSize = (topic: string, payload: string, qos: 0 | 1 | 2): number =>
  encodePublish(topic, payload, qos).length;

/** A clean-session CONNECT (§3.1) with a client id and no credentials, keep-alive 60 s. */
export const encodeConnect = (clientId: string): Uint8Array => {
  const body = [...utf8String("MQTT"), 4, 0x02, 0, 60, ...utf8String(clientId)];
  return packet(0x10, body, new Uint8Array(0));
};

/** A SUBSCRIBE (§3.8) of one topic filter at QoS 0. */
export const encodeSubscribe = (topic: string, packetId = 1): Uint8Array =>
  packet(0x82, [packetId >> 8, packetId & 0xff, ...utf8String(topic), 0], new Uint8Array(0));

/**
 * The payload (ASCII filler) whose PUBLISH on `topic` is exactly `size` bytes, found by
 * encoding rather than by arithmetic; undefined when no payload gives that size (a size
 * skipped where the Remaining Length grows a byte).
 */
export const payloadForPacketSize = (topic: string, qos: 0 | 1 | 2, size: number): string | undefined => {
  for (let n = Math.max(0, size - 4 - 2 - utf8.encode(topic).length - 2 - 1); n <= size; n++) {
    const got = publishSize(topic, "x".repeat(n), qos);
    if (got === size) return "x".repeat(n);
    if (got > size) return undefined;
  }
  return undefined;
};
