/**
 * The `"http"` section of the `c8ylink run` config: where the tenant's REST API is and how
 * often a transfer is tried.
 */
import * as t from "io-ts";
import { refine, strictObject } from "@c8ylink/core";

const HttpUrl = refine(t.string, "HttpUrl", (s) => {
  try {
    const url = new URL(s);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return `must be an http:// or https:// URL (got ${url.protocol})`;
    if (url.username !== "" || url.password !== "")
      return "must not contain credentials (the device's own are used)";
    return undefined;
  } catch {
    return `not a valid URL: ${JSON.stringify(s)}`;
  }
});

const Attempts = refine(t.number, "Attempts", (n) =>
  Number.isInteger(n) && n >= 1 && n <= 100 ? undefined : "must be a whole number in [1, 100]",
);

export const HttpConfigCodec = strictObject("Http", {}, { url: HttpUrl, attempts: Attempts });
export type HttpConfig = t.TypeOf<typeof HttpConfigCodec>;

/**
 * The tenant's HTTP URL: `http.url`, else `https://<broker host>` for an encrypted broker URL
 * (Cumulocity serves both on one domain); a string naming what to set when neither works.
 */
export const tenantHttpUrl = (
  http: HttpConfig | undefined,
  brokerUrl: string,
): { url: string } | { problem: string } => {
  if (http?.url !== undefined) return { url: http.url };
  try {
    const broker = new URL(brokerUrl);
    if (["mqtts:", "wss:", "ssl:", "tls:"].includes(broker.protocol))
      return { url: `https://${broker.hostname}` };
  } catch {
    // the engine reports a malformed broker URL
  }
  return {
    problem: `file transfers need the tenant's HTTP URL: set "http": { "url": "https://<your tenant's domain>" } in the config file (the simulated tenant prints its HTTP URL at start); it is only guessed (https://<broker host>) for mqtts:// and wss:// broker URLs`,
  };
};
