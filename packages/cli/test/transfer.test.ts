/**
 * The REST file transfer against a tiny HTTP server in the test (127.0.0.1, a free port): what
 * the server sees (Range, Authorization, multipart) and what the transfer makes of cuts,
 * errors and wrong bytes.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpTransfer, type HttpTransferOptions } from "../src/transfer/http-transfer.js";
import { tmp } from "./process-support.js";

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
  readonly chunks: number;
}

interface TestServer {
  readonly url: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tempDir = (): string => {
  const dir = tmp();
  dirs.push(dir);
  return dir;
};

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen, index: number) => void;

const serve = async (handler: Handler): Promise<TestServer> => {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
        chunks: chunks.length,
      };
      seen.push(entry);
      handler(req, res, entry, seen.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const digest = (data: Buffer): string => `sha-256=${createHash("sha256").update(data).digest("base64")}`;

const CREDENTIALS = { kind: "basic", tenant: "t1", user: "device_d1", password: "secret" } as const;
const BASIC = `Basic ${Buffer.from("t1/device_d1:secret").toString("base64")}`;

const transferFor = (tenantUrl: string, options: Partial<HttpTransferOptions> = {}) =>
  createHttpTransfer({
    tenantUrl,
    credentials: () => CREDENTIALS,
    attempts: 3,
    backoffMs: () => 0,
    idleTimeoutMs: 5_000,
    ...options,
  });

/** Serves `data` whole (200) or from a `Range: bytes=N-` (206), with Digest and ETag. */
const sendFile = (req: IncomingMessage, res: ServerResponse, data: Buffer, honourRange = true): void => {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const common = { digest: digest(data), etag: '"v1"', "content-type": "application/octet-stream" };
  if (range !== null && honourRange) {
    const start = Number(range[1]);
    res.writeHead(206, {
      ...common,
      "content-length": data.length - start,
      "content-range": `bytes ${start}-${data.length - 1}/${data.length}`,
    });
    res.end(data.subarray(start));
    return;
  }
  res.writeHead(200, { ...common, "content-length": data.length });
  res.end(data);
};

/**
 * Sends the headers of the whole file and `bytes` of its body, then destroys the socket. The
 * pause lets the client read what arrived: a fetch body stream drops chunks not yet read when
 * the connection fails.
 */
const cutAfter = (res: ServerResponse, data: Buffer, bytes: number): void => {
  res.writeHead(200, { digest: digest(data), etag: '"v1"', "content-length": data.length });
  res.write(data.subarray(0, bytes), () => setTimeout(() => res.socket?.destroy(), 500));
};

describe("download", () => {
  const DATA = randomBytes(200_000);

  it("resumes after a cut connection with Range and gets the whole file", async () => {
    const server = await serve((req, res, _seen, index) =>
      index === 0 ? cutAfter(res, DATA, 70_000) : sendFile(req, res, DATA),
    );
    const dest = join(tempDir(), "fw.bin");
    const result = await transferFor(server.url).download(`${server.url}/inventory/binaries/1`, dest, {});
    expect(result).toEqual({ ok: true, path: dest, bytes: DATA.length, sha256: sha256(DATA) });
    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0]?.headers.range).toBeUndefined();
    // The second request asks for the rest only, on condition that the file is the same.
    expect(server.seen[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(server.seen[1]?.headers.range ?? "")?.[0])).toBeGreaterThan(0);
    expect(server.seen[1]?.headers["if-range"]).toBe('"v1"');
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(existsSync(`${dest}.part.json`)).toBe(false);
  });

  it("falls back to a full download when the server answers a Range with 200", async () => {
    const server = await serve((req, res, _seen, index) =>
      index === 0 ? cutAfter(res, DATA, 50_000) : sendFile(req, res, DATA, false),
    );
    const dest = join(tempDir(), "fw.bin");
    const result = await transferFor(server.url).download(`${server.url}/f`, dest, { sha256: sha256(DATA) });
    expect(result.ok).toBe(true);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
    expect(server.seen[1]?.headers.range).toMatch(/^bytes=\d+-$/);
  });

  it("gives up after exactly the configured attempts when the server keeps answering 503", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(503, { "content-type": "text/plain" });
      res.end("maintenance");
    });
    const dest = join(tempDir(), "fw.bin");
    const result = await transferFor(server.url, { attempts: 4 }).download(`${server.url}/f`, dest, {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(true);
    expect(result.reason).toMatch(/HTTP 503.*maintenance.*gave up after 4 attempts/);
    expect(server.seen).toHaveLength(4);
    expect(existsSync(dest)).toBe(false);
  });

  it("does not retry a 404 and says which URL", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const result = await transferFor(server.url).download(`${server.url}/missing`, join(tempDir(), "x"), {});
    expect(result).toMatchObject({ ok: false, retryable: false });
    if (!result.ok) expect(result.reason).toContain(`HTTP 404 Not Found from ${server.url}/missing`);
    expect(server.seen).toHaveLength(1);
  });

  it("sends the device's credentials to the tenant only, never to another origin (nor through a redirect)", async () => {
    const foreign = await serve((req, res) => sendFile(req, res, DATA));
    const tenant = await serve((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(302, { location: `${foreign.url}/elsewhere` });
        res.end();
      } else sendFile(req, res, DATA);
    });
    const transfer = transferFor(tenant.url);
    const dir = tempDir();
    expect((await transfer.download(`${tenant.url}/inventory/binaries/1`, join(dir, "a"), {})).ok).toBe(true);
    expect((await transfer.download(`${foreign.url}/fw.bin`, join(dir, "b"), {})).ok).toBe(true);
    expect((await transfer.download(`${tenant.url}/redirect`, join(dir, "c"), {})).ok).toBe(true);
    expect(tenant.seen.map((s) => s.headers.authorization)).toEqual([BASIC, BASIC]);
    expect(foreign.seen.map((s) => s.url)).toEqual(["/fw.bin", "/elsewhere"]);
    expect(foreign.seen.map((s) => s.headers.authorization)).toEqual([undefined, undefined]);
    expect(readFileSync(join(dir, "c")).equals(DATA)).toBe(true);
  });

  it("sends a certificate device's JWT as Bearer to the tenant only, never to another origin", async () => {
    const foreign = await serve((req, res) => sendFile(req, res, DATA));
    const tenant = await serve((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(302, { location: `${foreign.url}/elsewhere` });
        res.end();
      } else sendFile(req, res, DATA);
    });
    const transfer = transferFor(tenant.url, { credentials: () => ({ kind: "bearer", token: "h.c.s" }) });
    const dir = tempDir();
    expect((await transfer.download(`${tenant.url}/inventory/binaries/1`, join(dir, "a"), {})).ok).toBe(true);
    expect((await transfer.download(`${tenant.url}/redirect`, join(dir, "b"), {})).ok).toBe(true);
    expect(tenant.seen.map((s) => s.headers.authorization)).toEqual(["Bearer h.c.s", "Bearer h.c.s"]);
    expect(foreign.seen.map((s) => s.headers.authorization)).toEqual([undefined]);
  });

  it("asks the tenant nothing without credentials (retryable), but fetches from another origin", async () => {
    const tenant = await serve((req, res) => sendFile(req, res, DATA));
    const foreign = await serve((req, res) => sendFile(req, res, DATA));
    const transfer = transferFor(tenant.url, { credentials: () => undefined, attempts: 2 });
    const dir = tempDir();
    const refused = await transfer.download(`${tenant.url}/inventory/binaries/1`, join(dir, "a"), {});
    expect(refused).toMatchObject({ ok: false, retryable: true });
    if (!refused.ok) expect(refused.reason).toMatch(/^no device credentials for the tenant's REST API/);
    expect(tenant.seen).toHaveLength(0);
    expect((await transfer.download(`${foreign.url}/fw`, join(dir, "b"), {})).ok).toBe(true);
  });

  it("fails, not retryably, when the bytes do not match the server's Digest", async () => {
    const server = await serve((_req, res) => {
      const corrupt = Buffer.from(DATA);
      corrupt[1000] = (corrupt[1000] ?? 0) ^ 0xff;
      res.writeHead(200, { digest: digest(DATA), "content-length": corrupt.length });
      res.end(corrupt);
    });
    const dest = join(tempDir(), "fw.bin");
    const result = await transferFor(server.url).download(`${server.url}/f`, dest, {});
    expect(result).toMatchObject({ ok: false, retryable: false });
    if (!result.ok)
      expect(result.reason).toMatch(
        new RegExp(`^checksum mismatch: expected ${sha256(DATA)} got [0-9a-f]{64}`),
      );
    expect(server.seen).toHaveLength(1);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it("checks the caller's size and SHA-256", async () => {
    const server = await serve((req, res) => sendFile(req, res, DATA));
    const transfer = transferFor(server.url);
    const dir = tempDir();
    const wrongSize = await transfer.download(`${server.url}/f`, join(dir, "a"), { size: DATA.length + 1 });
    expect(wrongSize).toEqual({
      ok: false,
      retryable: false,
      reason: `size mismatch: expected ${DATA.length + 1} bytes got ${DATA.length} (${server.url}/f)`,
    });
    const other = sha256(Buffer.from("other"));
    const wrongHash = await transfer.download(`${server.url}/f`, join(dir, "b"), { sha256: other });
    expect(wrongHash).toEqual({
      ok: false,
      retryable: false,
      reason: `checksum mismatch: expected ${other} got ${sha256(DATA)} (${server.url}/f)`,
    });
    expect(existsSync(join(dir, "a")) || existsSync(join(dir, "b"))).toBe(false);
  });

  it("retries a body shorter than its Content-Length", async () => {
    const server = await serve((req, res, _seen, index) => {
      if (index === 0) {
        res.writeHead(200, { "content-length": DATA.length });
        res.end(DATA.subarray(0, 1000)); // a server that ends early (the connection closes)
        res.socket?.destroy();
      } else sendFile(req, res, DATA);
    });
    const dest = join(tempDir(), "f");
    const result = await transferFor(server.url).download(`${server.url}/f`, dest, { size: DATA.length });
    expect(result.ok).toBe(true);
    expect(server.seen).toHaveLength(2);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it("retries a server that stalls (idle timeout) and resumes", async () => {
    const server = await serve((req, res, _seen, index) => {
      if (index === 0) {
        res.writeHead(200, { "content-length": DATA.length, etag: '"v1"' });
        res.write(DATA.subarray(0, 10_000)); // then nothing
      } else sendFile(req, res, DATA);
    });
    const dest = join(tempDir(), "f");
    const result = await transferFor(server.url, { idleTimeoutMs: 1_000 }).download(
      `${server.url}/f`,
      dest,
      {},
    );
    expect(result.ok).toBe(true);
    expect(server.seen[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(dest).equals(DATA)).toBe(true);
  });

  it("returns a disk error as a value, not retryable, without throwing", async () => {
    const server = await serve((req, res) => sendFile(req, res, DATA));
    const dir = tempDir();
    const notADir = join(dir, "file");
    writeFileSync(notADir, "x");
    const result = await transferFor(server.url).download(`${server.url}/f`, join(notADir, "fw.bin"), {});
    expect(result).toMatchObject({ ok: false, retryable: false });
    if (!result.ok) expect(result.reason).toMatch(/^cannot write .*fw\.bin\.part(\.json)?: .*ENOTDIR/);
    const missing = await transferFor(server.url).download(`${server.url}/f`, join(dir, "no", "fw.bin"), {});
    expect(missing).toMatchObject({ ok: false, retryable: false });
    if (!missing.ok) expect(missing.reason).toMatch(/ENOENT/);
  });

  it("refuses a URL that is not http(s)", async () => {
    const transfer = transferFor("http://127.0.0.1:1");
    expect(await transfer.download("$PROVIDED", join(tempDir(), "x"), {})).toMatchObject({
      ok: false,
      retryable: false,
    });
    expect(await transfer.download("file:///etc/passwd", join(tempDir(), "x"), {})).toMatchObject({
      ok: false,
      retryable: false,
    });
  });
});

describe("upload as an event binary", () => {
  /** The tenant's three routes, recording what they got; `binaryStatus` answers the binary POSTs in turn. */
  const tenantServer = (binaryStatus: number[] = []) => {
    let binaries = 0;
    return serve((req, res, seen) => {
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== BASIC) return json(401, { error: "unauthorized" });
      if (req.method === "GET" && req.url === "/identity/externalIds/c8y_Serial/d1")
        return json(200, { externalId: "d1", type: "c8y_Serial", managedObject: { id: "42" } });
      if (req.method === "POST" && req.url === "/event/events") {
        const event = JSON.parse(seen.body.toString()) as unknown;
        return json(201, { id: "7", ...(event as object) });
      }
      if (req.url === "/event/events/7/binaries") {
        const status = binaryStatus[binaries++] ?? 201;
        return json(status, status === 201 || status === 200 ? { name: "x" } : { error: `status ${status}` });
      }
      return json(404, { error: "not found" });
    });
  };

  const parseMultipart = async (seen: Seen) => {
    const form = await new Response(seen.body, {
      headers: { "content-type": seen.headers["content-type"] ?? "" },
    }).formData();
    const file = form.get("file");
    if (!(file instanceof Blob)) throw new Error("no file part");
    return { file, bytes: Buffer.from(await file.arrayBuffer()) };
  };

  it("resolves the device, creates the event and streams the file as multipart", async () => {
    const server = await tenantServer();
    const dir = tempDir();
    const path = join(dir, "syslog.txt");
    const content = randomBytes(3 * 1024 * 1024);
    writeFileSync(path, content);
    const result = await transferFor(server.url).uploadEventBinary({
      deviceId: "d1",
      eventType: "c8y_Logfile",
      text: "syslog",
      fileName: "syslog.log",
      contentType: "text/plain",
      path,
    });
    expect(result).toEqual({ ok: true, url: `${server.url}/event/events/7/binaries` });
    expect(server.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /identity/externalIds/c8y_Serial/d1",
      "POST /event/events",
      "POST /event/events/7/binaries",
    ]);
    const event = JSON.parse(server.seen[1]?.body.toString() ?? "{}") as Record<string, unknown>;
    expect(event).toMatchObject({ source: { id: "42" }, type: "c8y_Logfile", text: "syslog" });
    expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
    const upload = server.seen[2];
    if (upload === undefined) throw new Error("no upload");
    // Sent with its length, in many chunks (streamed from the file).
    expect(Number(upload.headers["content-length"])).toBe(upload.body.length);
    expect(upload.chunks).toBeGreaterThan(1);
    const { file, bytes } = await parseMultipart(upload);
    expect(file.type).toBe("text/plain");
    expect((file as File).name).toBe("syslog.log");
    expect(bytes.equals(content)).toBe(true);
  });

  it("resolves the managed object id once per device", async () => {
    const server = await tenantServer();
    const path = join(tempDir(), "c.conf");
    writeFileSync(path, "a=1\n");
    const transfer = transferFor(server.url);
    const upload = {
      deviceId: "d1",
      eventType: "c8y_ConfigurationDump",
      text: "c",
      fileName: "c.conf",
      contentType: "text/plain",
      path,
    };
    expect((await transfer.uploadEventBinary(upload)).ok).toBe(true);
    expect((await transfer.uploadEventBinary(upload)).ok).toBe(true);
    expect(server.seen.filter((s) => s.url.startsWith("/identity")).length).toBe(1);
  });

  it("retries a failing binary POST and replaces with PUT when the server already has one (409)", async () => {
    const server = await tenantServer([503, 409, 200]);
    const path = join(tempDir(), "c.conf");
    writeFileSync(path, "a=1\n");
    const result = await transferFor(server.url).uploadEventBinary({
      deviceId: "d1",
      eventType: "c8y_ConfigurationDump",
      text: "c",
      fileName: "c.conf",
      contentType: "text/plain",
      path,
    });
    expect(result.ok).toBe(true);
    expect(server.seen.filter((s) => s.url.endsWith("/binaries")).map((s) => s.method)).toEqual([
      "POST",
      "POST",
      "PUT",
    ]);
  });

  it("fails without retrying when the device is unknown, and when the file is missing", async () => {
    const server = await tenantServer();
    const dir = tempDir();
    mkdirSync(join(dir, "d"));
    const path = join(dir, "c.conf");
    writeFileSync(path, "x");
    const transfer = transferFor(server.url);
    const unknown = await transfer.uploadEventBinary({
      deviceId: "nobody",
      eventType: "c8y_Logfile",
      text: "t",
      fileName: "f",
      contentType: "text/plain",
      path,
    });
    expect(unknown).toMatchObject({ ok: false, retryable: false });
    if (!unknown.ok) expect(unknown.reason).toMatch(/HTTP 404 from GET .*c8y_Serial\/nobody/);
    const missing = await transfer.uploadEventBinary({
      deviceId: "d1",
      eventType: "c8y_Logfile",
      text: "t",
      fileName: "f",
      contentType: "text/plain",
      path: join(dir, "absent"),
    });
    expect(missing).toMatchObject({ ok: false, retryable: false });
    expect(server.seen.length).toBe(1);
  });

  it("waits for credentials: without them nothing is sent and the failure is retryable", async () => {
    const server = await tenantServer();
    const path = join(tempDir(), "c.conf");
    writeFileSync(path, "x");
    const result = await transferFor(server.url, {
      credentials: () => undefined,
      attempts: 2,
    }).uploadEventBinary({
      deviceId: "d1",
      eventType: "c8y_Logfile",
      text: "t",
      fileName: "f",
      contentType: "text/plain",
      path,
    });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(server.seen).toHaveLength(0);
  });
});
