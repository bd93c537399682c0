/**
 * The web page's routes on the admin server, served only after the access guard let the request
 * through (Host, origin and token or cookie, exactly as for the JSON API):
 *
 * - `GET /` asked for by a browser (`Accept: text/html`): the page (scripts ask for JSON and get
 *   the route list, as before);
 * - `GET /ui/…`: its scripts and styles, and uPlot's;
 * - `GET /live`: server-sent events (`live.ts`).
 *
 * The page's responses carry a content security policy that allows exactly what it needs: its own
 * scripts and styles, fetches and the event stream to this origin, nothing inline, no frames.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAssetPath, loadAsset } from "./assets.js";
import type { LiveFeed } from "./live.js";

/** The page's policy: 'self' only, no inline script or style, nothing else. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Route lines for the API's index (`GET /`). */
export const WEB_ROUTE_LINES: readonly string[] = ["GET / (Accept: text/html: the web page)", "GET /live"];

const wantsHtml = (req: IncomingMessage): boolean => /\btext\/html\b/i.test(req.headers.accept ?? "");

const sendText = (res: ServerResponse, status: number, contentType: string, body: Buffer | string): void => {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(body)),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": PAGE_CSP,
    "cross-origin-resource-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
};

export type WebHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Serves a web request and answers true, or answers false for the JSON API to handle it. */
export const webHandler =
  (live: LiveFeed): WebHandler =>
  async (req, res, url) => {
    const path = url.pathname;
    const isPage = path === "/" && wantsHtml(req);
    const isWeb = isPage || path === "/live" || (path !== "/" && isAssetPath(path));
    if (!isWeb) return false;
    if (req.method !== "GET") {
      req.resume();
      const text = `${JSON.stringify({ error: `method ${req.method ?? "?"} not allowed on ${path} (allowed: GET)` })}\n`;
      res.writeHead(405, { "content-type": "application/json; charset=utf-8", allow: "GET" });
      res.end(text);
      return true;
    }
    if (path === "/live") {
      live.attach(req, res);
      return true;
    }
    try {
      const asset = await loadAsset(path);
      sendText(res, 200, asset.contentType, asset.body);
    } catch (e) {
      sendText(res, 500, "text/plain; charset=utf-8", e instanceof Error ? e.message : String(e));
    }
    return true;
  };
