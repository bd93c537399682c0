/**
 * SIM-ONLY `/http-faults` over real HTTP: each fault kind is observable by a client (a cut body
 * shorter than Content-Length and a socket error, another status, a body whose SHA-256 differs
 * from the Digest), applies to `times` downloads, and is admin only.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Fixture } from "./support.js";
import { binaryBytes, restWorld, sha256b64, DEV1, type RestWorld } from "./rest-support.js";

interface RawDownload {
  readonly status: number;
  readonly contentLength: number;
  readonly digest: string;
  readonly bytes: Buffer;
  /** The error that ended the body, if it did not complete. */
  readonly error: string | null;
}

/** A download with node:http, which reports a cut body (fetch would only throw). */
const rawDownload = (w: RestWorld, path: string): Promise<RawDownload> =>
  new Promise((resolve, reject) => {
    const req = request(
      new URL(`${w.tenant.adminUrl}${path}`),
      { headers: { authorization: DEV1 } },
      (res) => {
        const chunks: Buffer[] = [];
        let error: string | null = null;
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            contentLength: Number(res.headers["content-length"]),
            digest: String(res.headers.digest ?? ""),
            bytes: Buffer.concat(chunks),
            error,
          });
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("aborted", () => (error ??= "aborted"));
        res.on("error", (e) => (error ??= e.message));
        res.on("close", done);
      },
    );
    req.on("error", reject);
    req.end();
  });

describe("REST: SIM-ONLY HTTP faults on binary downloads", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  const withBinary = async () => {
    const w = await restWorld(fx);
    const data = binaryBytes(40_000);
    const up = await w.admin("/inventory/binaries?name=fw.bin", { method: "POST", body: data });
    const id = ((await up.json()) as { id: string }).id;
    return { w, data, path: `/inventory/binaries/${id}` };
  };
  const arm = (w: RestWorld, body: unknown) =>
    w.admin("/http-faults", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("cuts the body after N bytes (shorter than Content-Length, socket error), then serves normally", async () => {
    const { w, data, path } = await withBinary();
    expect((await arm(w, { cutAfterBytes: 1000, times: 2 })).status).toBe(201);
    expect(await (await w.admin("/http-faults")).json()).toEqual({
      armed: { cutAfterBytes: 1000, remaining: 2 },
    });
    for (let i = 0; i < 2; i++) {
      const got = await rawDownload(w, path);
      expect(got.status).toBe(200);
      expect(got.contentLength).toBe(data.length);
      expect(got.bytes.length).toBeLessThan(data.length);
      expect(got.bytes.length).toBeLessThanOrEqual(1000);
      expect(got.error).not.toBeNull();
      expect(data.subarray(0, got.bytes.length).equals(got.bytes)).toBe(true);
    }
    const whole = await rawDownload(w, path);
    expect({ error: whole.error, equal: whole.bytes.equals(data) }).toEqual({ error: null, equal: true });
    expect(await (await w.admin("/http-faults")).json()).toEqual({ armed: null });
  });

  it("answers the armed status instead, for `times` downloads", async () => {
    const { w, data, path } = await withBinary();
    await arm(w, { status: 503, times: 2 });
    // A HEAD (size probe) answers the headers and does not use the fault up.
    const head = await w.call(path, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, String(data.length)]);
    expect((await w.call(path)).status).toBe(503);
    expect((await w.call(path)).status).toBe(503);
    const ok = await w.call(path);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(data)).toBe(true);
  });

  it("corrupts one byte and keeps the true Digest and length", async () => {
    const { w, data, path } = await withBinary();
    await arm(w, { corrupt: true });
    const res = await w.call(path);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(data.length);
    expect(res.headers.get("digest")).toBe(`sha-256=${sha256b64(data)}`);
    expect(`sha-256=${sha256b64(bytes)}`).not.toBe(res.headers.get("digest"));
    const next = Buffer.from(await (await w.call(path)).arrayBuffer());
    expect(next.equals(data)).toBe(true);
  });

  it("disarms with DELETE, validates the body naming the field, and is admin only", async () => {
    const { w, data, path } = await withBinary();
    await arm(w, { status: 500, times: 5 });
    expect((await w.admin("/http-faults", { method: "DELETE" })).status).toBe(204);
    expect(Buffer.from(await (await w.call(path)).arrayBuffer()).equals(data)).toBe(true);
    for (const [body, field] of [
      [{}, /at least one/],
      [{ status: 200 }, /status/],
      [{ cutAfterBytes: -1 }, /cutAfterBytes/],
      [{ corrupt: true, times: 0 }, /times/],
    ] as const) {
      const res = await arm(w, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(((await res.json()) as { message: string }).message).toMatch(field);
    }
    expect(
      (
        await w.call("/http-faults", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"status":503}',
        })
      ).status,
    ).toBe(403);
  });
});
