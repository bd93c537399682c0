/**
 * The web page's files: hand-written HTML, CSS and ES modules in the package's `web/` folder,
 * and uPlot's distributed files from node_modules (found with `require.resolve`, so the page
 * works offline and nothing is built at run time). Read once, on first request.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** `web/` next to `src/` and `dist/` (this file is `src/web/assets.ts` or `dist/web/assets.js`). */
const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

const require = createRequire(import.meta.url);

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** URL path → where the file is and what it is. */
const FILES: Readonly<Record<string, { readonly file: () => string; readonly contentType: string }>> = {
  "/": { file: () => `${WEB_DIR}index.html`, contentType: "text/html; charset=utf-8" },
  "/ui/app.js": { file: () => `${WEB_DIR}app.js`, contentType: JS },
  "/ui/api.js": { file: () => `${WEB_DIR}api.js`, contentType: JS },
  "/ui/dom.js": { file: () => `${WEB_DIR}dom.js`, contentType: JS },
  "/ui/charts.js": { file: () => `${WEB_DIR}charts.js`, contentType: JS },
  "/ui/operations.js": { file: () => `${WEB_DIR}operations.js`, contentType: JS },
  "/ui/files.js": { file: () => `${WEB_DIR}files.js`, contentType: JS },
  "/ui/records.js": { file: () => `${WEB_DIR}records.js`, contentType: JS },
  "/ui/registrations.js": { file: () => `${WEB_DIR}registrations.js`, contentType: JS },
  "/ui/tree.js": { file: () => `${WEB_DIR}tree.js`, contentType: JS },
  "/ui/style.css": { file: () => `${WEB_DIR}style.css`, contentType: CSS },
  "/ui/icon.svg": { file: () => `${WEB_DIR}icon.svg`, contentType: "image/svg+xml" },
  "/ui/uplot.js": { file: () => require.resolve("uplot/dist/uPlot.esm.js"), contentType: JS },
  "/ui/uplot.css": { file: () => require.resolve("uplot/dist/uPlot.min.css"), contentType: CSS },
};

/** The paths the page is made of (for the route list). */
export const ASSET_PATHS: readonly string[] = Object.keys(FILES);

export const isAssetPath = (path: string): boolean => Object.hasOwn(FILES, path);

const cache = new Map<string, Promise<Asset>>();

/** The asset at `path`; rejects with a message naming the missing file if the package is incomplete. */
export const loadAsset = (path: string): Promise<Asset> => {
  const entry = FILES[path];
  if (entry === undefined) return Promise.reject(new Error(`no asset at ${path}`));
  let loading = cache.get(path);
  if (loading === undefined) {
    loading = (async () => {
      let file = "";
      try {
        file = entry.file();
        return { contentType: entry.contentType, body: await readFile(file) };
      } catch (e) {
        cache.delete(path);
        throw new Error(
          `the web page's file for ${path} is missing (${file || "unresolved"}): ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    })();
    cache.set(path, loading);
  }
  return loading;
};
