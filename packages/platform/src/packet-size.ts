/**
 * The platform's own measure of an incoming PUBLISH, for the size law (spec §1.7: the broker
 * refuses a message larger than 16184 bytes, fixed header included). Deliberately not the
 * device core's `publishPacketBytes`: the model of the tenant is the referee of the engine, and
 * a referee that shares the player's arithmetic would share its mistakes.
 */

/** The largest whole PUBLISH packet the tenant accepts, in bytes. */
export const PLATFORM_MAX_MESSAGE_BYTES = 16_184;

/** Bytes of the MQTT Remaining Length field for `length`; Infinity beyond its 4-byte range. */
const remainingLengthFieldBytes = (length: number): number => {
  let bytes = 1;
  for (let capacity = 128; length >= capacity; capacity *= 128) {
    bytes++;
    if (bytes > 4) return Number.POSITIVE_INFINITY;
  }
  return bytes;
};

/**
 * Whole size of the PUBLISH as it arrived: packet type byte, Remaining Length field, topic
 * length prefix (2) and topic, packet identifier (2, only for QoS 1 and 2), payload.
 */
export const incomingPublishBytes = (topicBytes: number, payloadBytes: number, qos: 0 | 1 | 2): number => {
  const remaining = 2 + topicBytes + (qos === 0 ? 0 : 2) + payloadBytes;
  return 1 + remainingLengthFieldBytes(remaining) + remaining;
};
