/**
 * The REST plumbing without a server: the multipart reader keeps every part's bytes exactly
 * (whatever they contain besides the boundary), refuses malformed bodies with a 400, and byte
 * ranges resolve as RFC 9110 says for one range.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { parseRange } from "../src/rest/download.js";
import { RestError } from "../src/rest/http.js";
import { multipartBoundary, parseMultipart } from "../src/rest/multipart.js";

const BOUNDARY = "----c8ylink-test-7f3a";

const build = (parts: readonly { name: string; filename?: string | undefined; data: Uint8Array }[]): Buffer =>
  Buffer.concat([
    ...parts.flatMap((p) => [
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"` +
          `${p.filename === undefined ? "" : `; filename="${p.filename}"`}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      Buffer.from(p.data),
      Buffer.from("\r\n"),
    ]),
    Buffer.from(`--${BOUNDARY}--\r\n`),
  ]);

/** Bytes rich in CR, LF, dashes and pieces of the boundary, but never the whole delimiter. */
const tricky = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom("\r\n", "--", "\r\n--", BOUNDARY.slice(0, 10), "\r\n\r\n").map((s) => Buffer.from(s)),
    ),
    { maxLength: 12 },
  )
  .map((chunks) => Buffer.concat(chunks.map((c) => Buffer.from(c))))
  .filter((b) => !b.includes(`\r\n--${BOUNDARY}`) && !b.includes(`--${BOUNDARY}`));

const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);

describe("multipart reader", () => {
  test.prop([
    fc.array(fc.record({ name, data: tricky, filename: fc.option(name, { nil: undefined }) }), {
      minLength: 1,
      maxLength: 4,
    }),
  ])("parses back every part's name, filename and exact bytes", (parts) => {
    const parsed = parseMultipart(build(parts), BOUNDARY);
    expect(parsed.map((p) => [p.name, p.filename, Buffer.from(p.data).toString("hex")])).toEqual(
      parts.map((p) => [p.name, p.filename, Buffer.from(p.data).toString("hex")]),
    );
  });

  test.prop([fc.uint8Array({ maxLength: 200 })])(
    "never throws anything but a 400 on arbitrary bodies",
    (bytes) => {
      try {
        parseMultipart(Buffer.from(bytes), BOUNDARY);
      } catch (e) {
        expect(e).toBeInstanceOf(RestError);
        expect((e as RestError).status).toBe(400);
      }
    },
  );

  it("finds the boundary parameter, quoted or not", () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`)).toBe(BOUNDARY);
    expect(multipartBoundary(`Multipart/Form-Data; charset=utf-8; boundary="${BOUNDARY}"`)).toBe(BOUNDARY);
    expect(multipartBoundary("application/octet-stream")).toBeUndefined();
    expect(() => multipartBoundary("multipart/form-data")).toThrow(/boundary/);
  });
});

describe("byte ranges", () => {
  test.prop([fc.integer({ min: 1, max: 10_000 }), fc.nat(20_000)])(
    "bytes=N- is the rest of the file, or unsatisfiable at the end",
    (size, n) => {
      expect(parseRange(`bytes=${n}-`, size)).toEqual(
        n < size ? { start: n, end: size - 1 } : "unsatisfiable",
      );
    },
  );

  test.prop([fc.integer({ min: 1, max: 10_000 }), fc.nat(20_000), fc.nat(20_000)])(
    "bytes=N-M is clipped to the file and never empty",
    (size, a, b) => {
      const span = parseRange(`bytes=${a}-${b}`, size);
      if (a >= size || b < a) expect(span).toBe("unsatisfiable");
      else expect(span).toEqual({ start: a, end: Math.min(b, size - 1) });
    },
  );

  test.prop([fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 20_000 })])(
    "bytes=-N is the last N bytes",
    (size, n) => {
      expect(parseRange(`bytes=-${n}`, size)).toEqual({ start: Math.max(0, size - n), end: size - 1 });
    },
  );

  test.prop([fc.constantFrom("bytes=", "bytes=-", "bytes=-0", "items=0-", "bytes=0-1,3-4", "bytes=a-b")])(
    "refuses what it does not understand",
    (header) => {
      expect(parseRange(header, 100)).toBe("unsatisfiable");
    },
  );
});
