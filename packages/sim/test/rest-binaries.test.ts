/**
 * Event and inventory binaries over real HTTP: byte-exact round trips (non-UTF-8 bytes, a
 * multipart body built by hand, one built by FormData + fetch, a raw body), the event's
 * `c8y_IsBinary`, Range resume, Digest/ETag, 409 on a second binary, 403/404/413/416.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { findEvent } from "@c8ylink/platform";
import { Fixture } from "./support.js";
import {
  binaryBytes,
  createEvent,
  DEV2,
  restWorld,
  sha256,
  sha256b64,
  type RestWorld,
} from "./rest-support.js";

const handMultipart = (
  boundary: string,
  parts: { name: string; filename?: string; type?: string; data: Buffer }[],
): Buffer =>
  Buffer.concat([
    ...parts.flatMap((p) => [
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? "" : `; filename="${p.filename}"`}\r\n` +
          `${p.type === undefined ? "" : `Content-Type: ${p.type}\r\n`}\r\n`,
      ),
      p.data,
      Buffer.from("\r\n"),
    ]),
    Buffer.from(`--${boundary}--\r\n`),
  ]);

const bytesOf = async (res: Response): Promise<Buffer> => Buffer.from(await res.arrayBuffer());

describe("REST: binaries", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  const download = async (w: RestWorld, path: string, headers: Record<string, string> = {}) => {
    const res = await w.call(path, { headers });
    return { res, bytes: await bytesOf(res) };
  };

  it("round-trips an event binary from a hand-built multipart body, byte-exact, with Digest, ETag and c8y_IsBinary", async () => {
    const w = await restWorld(fx);
    const id = await createEvent(w, w.ids.child);
    const data = binaryBytes(10_000);
    const boundary = "----sim-test-boundary";
    const body = handMultipart(boundary, [
      { name: "file", filename: "app.log", type: "application/octet-stream", data },
    ]);
    const up = await w.call(`/event/events/${id}/binaries`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(up.status).toBe(201);
    const url = `${w.tenant.adminUrl}/event/events/${id}/binaries`;
    expect(await up.json()).toMatchObject({
      self: url,
      name: "app.log",
      type: "application/octet-stream",
      length: 10_000,
    });
    expect(findEvent(w.tenant.state(), id)?.fragments.c8y_IsBinary).toEqual({
      name: "app.log",
      type: "application/octet-stream",
      length: 10_000,
    });
    const { res, bytes } = await download(w, `/event/events/${id}/binaries`);
    expect(res.status).toBe(200);
    expect(bytes.equals(data)).toBe(true);
    expect(res.headers.get("content-length")).toBe("10000");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toMatch(/filename="app\.log"/);
    expect(res.headers.get("digest")).toBe(`sha-256=${sha256b64(data)}`);
    expect(res.headers.get("etag")).toBe(`"${sha256(data)}"`);
    // Another device may read every binary of the tenant.
    expect(
      (await download(w, `/event/events/${id}/binaries`, { authorization: DEV2 })).bytes.equals(data),
    ).toBe(true);
  });

  it("accepts FormData + fetch and raw bodies; a second POST is 409, PUT replaces, DELETE removes", async () => {
    const w = await restWorld(fx);
    const id = await createEvent(w, w.ids.dev1);
    const first = binaryBytes(3000);
    const form = new FormData();
    form.append("file", new Blob([first], { type: "text/plain" }), "config.ini");
    const up = await w.call(`/event/events/${id}/binaries`, { method: "POST", body: form });
    expect(up.status).toBe(201);
    expect((await download(w, `/event/events/${id}/binaries`)).bytes.equals(first)).toBe(true);

    const again = await w.call(`/event/events/${id}/binaries`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/already has a binary/);

    const second = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc0, 0x41]);
    const put = await w.call(`/event/events/${id}/binaries`, {
      method: "PUT",
      headers: {
        "content-type": "application/x-thing",
        "content-disposition": 'attachment; filename="raw.bin"',
      },
      body: second,
    });
    expect(put.status).toBe(200);
    const { res, bytes } = await download(w, `/event/events/${id}/binaries`);
    expect(bytes.equals(second)).toBe(true);
    expect(res.headers.get("content-type")).toBe("application/x-thing");
    expect(res.headers.get("content-disposition")).toMatch(/filename="raw\.bin"/);
    expect(findEvent(w.tenant.state(), id)?.fragments.c8y_IsBinary).toEqual({
      name: "raw.bin",
      type: "application/x-thing",
      length: 6,
    });

    expect((await w.call(`/event/events/${id}/binaries`, { method: "DELETE" })).status).toBe(204);
    expect((await w.call(`/event/events/${id}/binaries`)).status).toBe(404);
    expect(findEvent(w.tenant.state(), id)?.fragments.c8y_IsBinary).toBeUndefined();
  });

  it("refuses another device's event (403), unknown events (404) and multipart without a file part (400)", async () => {
    const w = await restWorld(fx);
    const id = await createEvent(w, w.ids.dev1);
    const forbidden = await w.call(`/event/events/${id}/binaries`, { method: "POST", auth: DEV2, body: "x" });
    expect(forbidden.status).toBe(403);
    expect((await w.call(`/event/events/424242/binaries`, { method: "POST", body: "x" })).status).toBe(404);
    expect((await w.call(`/event/events/424242/binaries`)).status).toBe(404);
    expect((await w.call(`/event/events/${id}/binaries`)).status).toBe(404);
    const noFile = await w.call(`/event/events/${id}/binaries`, {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=b" },
      body: handMultipart("b", [{ name: "other", data: Buffer.from("x") }]),
    });
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as { message: string }).message).toMatch(/"file"/);
  });

  it("resumes with Range: bytes=N- (206 + Content-Range), answers 416 for unsatisfiable ranges", async () => {
    const w = await restWorld(fx);
    const id = await createEvent(w, w.ids.dev1);
    const data = binaryBytes(50_000);
    await w.call(`/event/events/${id}/binaries`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: data,
    });
    const path = `/event/events/${id}/binaries`;
    const n = 12_345;
    const head = await download(w, path, { range: `bytes=0-${n - 1}` });
    expect(head.res.status).toBe(206);
    expect(head.bytes.length).toBe(n);
    const tail = await download(w, path, { range: `bytes=${n}-` });
    expect(tail.res.status).toBe(206);
    expect(tail.res.headers.get("content-range")).toBe(`bytes ${n}-${data.length - 1}/${data.length}`);
    expect(tail.res.headers.get("digest")).toBe(`sha-256=${sha256b64(data)}`);
    expect(Buffer.concat([head.bytes, tail.bytes]).equals(data)).toBe(true);
    for (const range of [`bytes=${data.length}-`, "bytes=99999999-", "bytes=x-", "items=0-"]) {
      const res = await w.call(path, { headers: { range } });
      expect({ range, status: res.status }).toEqual({ range, status: 416 });
      expect(res.headers.get("content-range")).toBe(`bytes */${data.length}`);
    }
  });

  it("uploads, lists, downloads and deletes inventory binaries (multipart object+file, FormData, raw ?name=)", async () => {
    const w = await restWorld(fx);
    const data = binaryBytes(7777);
    const body = handMultipart("xyz", [
      {
        name: "object",
        data: Buffer.from(JSON.stringify({ name: "fw-1.2.bin", type: "application/octet-stream" })),
      },
      { name: "file", filename: "ignored.bin", type: "application/x-other", data },
    ]);
    const up = await w.admin("/inventory/binaries", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=xyz" },
      body,
    });
    expect(up.status).toBe(201);
    const created = (await up.json()) as { id: string; self: string };
    expect(created).toMatchObject({
      name: "fw-1.2.bin",
      type: "application/octet-stream",
      length: 7777,
      c8y_IsBinary: {},
    });
    expect(created.self).toBe(`${w.tenant.adminUrl}/inventory/binaries/${created.id}`);

    const form = new FormData();
    form.append("object", JSON.stringify({ name: "sw.deb", type: "application/vnd.debian.binary-package" }));
    form.append("file", new Blob([Buffer.from("debian")]), "sw.deb");
    const viaForm = await w.call("/inventory/binaries", { method: "POST", body: form });
    expect(viaForm.status).toBe(201);
    const raw = await w.admin("/inventory/binaries?name=raw.txt&type=text/plain", {
      method: "POST",
      body: "raw text",
    });
    expect(raw.status).toBe(201);
    const rawId = ((await raw.json()) as { id: string }).id;

    const list = (await (await w.call("/inventory/binaries")).json()) as {
      managedObjects: { name: string }[];
    };
    expect(list.managedObjects.map((m) => m.name)).toEqual(["fw-1.2.bin", "sw.deb", "raw.txt"]);
    const got = await download(w, `/inventory/binaries/${created.id}`, { authorization: DEV2 });
    expect(got.bytes.equals(data)).toBe(true);
    expect(got.res.headers.get("digest")).toBe(`sha-256=${sha256b64(data)}`);
    expect((await download(w, `/inventory/binaries/${rawId}`)).bytes.toString()).toBe("raw text");

    // dev-2 did not upload it; the admin may delete anything.
    expect((await w.call(`/inventory/binaries/${created.id}`, { method: "DELETE", auth: DEV2 })).status).toBe(
      403,
    );
    expect((await w.admin(`/inventory/binaries/${created.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await w.call(`/inventory/binaries/${created.id}`)).status).toBe(404);
    expect((await w.admin(`/inventory/binaries/${created.id}`, { method: "DELETE" })).status).toBe(404);
    const noName = await w.admin("/inventory/binaries", { method: "POST", body: "x" });
    expect(noName.status).toBe(400);
  });

  it("refuses files over the per-file and total limits with 413 naming the limit, and keeps serving", async () => {
    const w = await restWorld(fx, { binaries: { maxFileBytes: 1000, maxTotalBytes: 1500 } });
    const over = await w.admin("/inventory/binaries?name=big", { method: "POST", body: Buffer.alloc(1001) });
    expect(over.status).toBe(413);
    expect(((await over.json()) as { message: string }).message).toMatch(/1000 bytes/);
    // Without Content-Length (chunked): reading stops at the limit.
    const chunked = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${w.tenant.adminUrl}/inventory/binaries?name=big`);
      const req = request(
        url,
        { method: "POST", headers: { authorization: `Bearer ${w.tenant.adminToken}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(500));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(
      (await w.admin("/inventory/binaries?name=a", { method: "POST", body: Buffer.alloc(1000) })).status,
    ).toBe(201);
    const total = await w.admin("/inventory/binaries?name=b", { method: "POST", body: Buffer.alloc(600) });
    expect(total.status).toBe(413);
    expect(((await total.json()) as { message: string }).message).toMatch(/total binary limit of 1500 bytes/);
    const id = await createEvent(w, w.ids.dev1);
    const multipartOver = new FormData();
    multipartOver.append("file", new Blob([Buffer.alloc(1001)]), "x");
    expect(
      (await w.call(`/event/events/${id}/binaries`, { method: "POST", body: multipartOver })).status,
    ).toBe(413);
    expect((await w.call("/inventory/binaries")).status).toBe(200);
  });
});
