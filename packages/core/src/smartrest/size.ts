/**
 * The size law (spec §1.7): Cumulocity's core MQTT broker refuses any message larger than 16184
 * bytes, fixed header included. Sizes here are exact MQTT 3.1.1 PUBLISH encodings and are always
 * measured on the serialized (escaped) CSV text — measuring before escaping is how thin-edge #3171
 * produced oversized messages. Rows are never truncated: a row that cannot fit alone is an error.
 */
import { type Either, left, right } from "fp-ts/lib/Either.js";
import { serializeRow } from "./csv.js";
import { utf8ByteLength } from "./text.js";
import type { Row } from "./types.js";

/** Largest whole MQTT message (fixed header + variable header + payload) Cumulocity accepts. */
export const MAX_PUBLISH_BYTES = 16184;

/** Largest value the MQTT Remaining Length varint can carry (4 bytes). */
const MAX_REMAINING_LENGTH = 268_435_455;

/** One MQTT publish produced by `packRows`: rows joined by LF, no trailing newline. */
export interface Publish {
  readonly topic: string;
  readonly payload: string;
  readonly rowCount: number;
}

/** A single row is too big for one message even on its own; nothing was sent. */
export interface RowTooLarge {
  readonly kind: "row-too-large";
  readonly templateId: string;
  /** Index of the row in the input. */
  readonly rowIndex: number;
  /** Size of the PUBLISH packet carrying that row alone. */
  readonly bytes: number;
  readonly limit: number;
}

/** Bytes of the Remaining Length varint for `n` (7 bits per byte). */
const varintBytes = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);

/** Remaining Length of a PUBLISH with an empty payload: topic length prefix, topic, packet id. */
const headerRemaining = (topic: string, qos: 0 | 1 | 2): number =>
  2 + utf8ByteLength(topic) + (qos > 0 ? 2 : 0);

/**
 * Exact size of an MQTT 3.1.1 PUBLISH: 1 fixed-header byte + Remaining Length varint + 2-byte
 * topic length + UTF-8 topic + 2-byte packet id when qos > 0 + payload. `Infinity` when the
 * remaining length exceeds what MQTT can encode (so every limit check fails).
 */
export const publishPacketBytes = (topic: string, payloadBytes: number, qos: 0 | 1 | 2): number => {
  const remaining = headerRemaining(topic, qos) + payloadBytes;
  if (remaining > MAX_REMAINING_LENGTH) return Number.POSITIVE_INFINITY;
  return 1 + varintBytes(remaining) + remaining;
};

/**
 * Largest payload (bytes) whose PUBLISH on `topic` fits in `limit`; -1 when not even an empty
 * payload fits. The packet size is strictly increasing in the payload size, so we start from the
 * bound that assumes a 1-byte varint and step down at most three times as the varint grows.
 */
export const maxPayloadBytes = (topic: string, qos: 0 | 1 | 2, limit: number = MAX_PUBLISH_BYTES): number => {
  // Also never exceed what the Remaining Length varint can express.
  let p = Math.min(
    limit - publishPacketBytes(topic, 0, qos),
    MAX_REMAINING_LENGTH - headerRemaining(topic, qos),
  );
  if (!(p >= 0)) return -1;
  while (p >= 0 && publishPacketBytes(topic, p, qos) > limit) p--;
  return p;
};

/** Size of the PUBLISH that would carry `row` alone on `topic`. */
export const rowPacketBytes = (topic: string, row: Row, qos: 0 | 1 | 2): number =>
  publishPacketBytes(topic, utf8ByteLength(serializeRow(row)), qos);

/**
 * Splits `rows` (in order) into the fewest publishes on `topic` that each fit in `limit`.
 *
 * Greedy is optimal: a publish's size grows with its payload, and dropping rows from either end
 * of a contiguous group only shortens the payload, so any sub-range of a group that fits also
 * fits. Let greedy's groups end after rows g1 < g2 < …, and any other valid split's after
 * o1 < o2 < …. By induction gk ≥ ok: for k = 1 greedy takes the longest fitting prefix; if
 * g(k-1) ≥ o(k-1), rows g(k-1)+1..ok are a sub-range of the other split's k-th group, so they
 * fit and greedy extends its k-th group at least to ok. Hence greedy reaches the last row no
 * later than any other split, i.e. with the fewest publishes.
 *
 * Rows must have at least one field (the template id): a row with no fields serializes to an empty
 * line, which the reader skips.
 */
export const packRows = (
  topic: string,
  rows: readonly Row[],
  qos: 0 | 1 | 2,
  limit: number = MAX_PUBLISH_BYTES,
): Either<RowTooLarge, Publish[]> => {
  const budget = maxPayloadBytes(topic, qos, limit);
  const publishes: Publish[] = [];
  let lines: string[] = [];
  let bytes = 0; // payload bytes of `lines` joined by LF
  const flush = (): void => {
    if (lines.length > 0) publishes.push({ topic, payload: lines.join("\n"), rowCount: lines.length });
    lines = [];
    bytes = 0;
  };
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] ?? [];
    const line = serializeRow(row);
    const lineBytes = utf8ByteLength(line);
    if (lineBytes > budget) {
      return left({
        kind: "row-too-large",
        templateId: row[0] ?? "",
        rowIndex: index,
        bytes: publishPacketBytes(topic, lineBytes, qos),
        limit,
      });
    }
    const grown = lines.length === 0 ? lineBytes : bytes + 1 + lineBytes;
    if (grown > budget) {
      flush();
      lines.push(line);
      bytes = lineBytes;
    } else {
      lines.push(line);
      bytes = grown;
    }
  }
  flush();
  return right(publishes);
};
