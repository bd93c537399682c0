/**
 * Text policy for values that leave the device.
 *
 * Decision (spec §5 leaves encoding open): c8ylink sends UTF-8 only and refuses, rather
 * than silently strips, what the platform cannot store faithfully:
 * - lone UTF-16 surrogates (they have no UTF-8 encoding; a lossy encoder would turn them into U+FFFD);
 * - C0 control characters other than TAB, LF and CR, and DEL (thin-edge strips these; we
 *   refuse them so the application learns about the problem instead of losing data quietly).
 * TAB, LF and CR are legal and get quoted by the CSV writer.
 */

/** Why `value` is not acceptable text, or `undefined` when it is. */
export const invalidTextReason = (value: string): string | undefined => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      return `control character U+${hex4(c)} at index ${i}`;
    }
    if (c === 0x7f) return `control character U+007F at index ${i}`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return `lone surrogate U+${hex4(c)} at index ${i}`;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return `lone surrogate U+${hex4(c)} at index ${i}`;
    }
  }
  return undefined;
};

const hex4 = (c: number): string => c.toString(16).toUpperCase().padStart(4, "0");

/** Number of bytes `value` takes in UTF-8 (lone surrogates count as the 3 bytes of U+FFFD). */
export const utf8ByteLength = (value: string): number => {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
};
