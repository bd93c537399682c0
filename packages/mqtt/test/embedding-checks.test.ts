/**
 * Issue 9: the embedding API catches mistakes as early as possible. A misspelt or mistyped
 * option in a config literal fails to compile (`npm run typecheck` checks the
 * `@ts-expect-error` lines below: each must still be an error) and is refused at run time
 * too; TLS material that can never work is refused by `createEngine`, not retried.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { createEngine, type EngineConfigInput, type EngineOptions } from "../src/index.js";

const auth = { mode: "password", tenant: "t1", user: "u", password: "p" } as const;

describe("EngineOptions.config is typed", () => {
  it("refuses a misspelt option at compile time and at run time", () => {
    const make = () =>
      createEngine({
        config: {
          deviceId: "d1",
          auth,
          // @ts-expect-error -- the option is keepAliveSeconds
          keepAlive: 30,
        },
        url: "mqtt://127.0.0.1:1",
      });
    expect(make).toThrow(/keepAlive: unknown key "keepAlive": did you mean "keepAliveSeconds"\?/);
  });

  it("refuses a mistyped value and an unknown auth mode at compile time", () => {
    const wrongType = () =>
      createEngine({
        config: {
          deviceId: "d1",
          auth,
          // @ts-expect-error -- a number, not a string
          keepAliveSeconds: "60",
        },
        url: "mqtt://127.0.0.1:1",
      });
    expect(wrongType).toThrow(/keepAliveSeconds: must be an integer in \[10, 1200\] \(got "60"\)/);
    const wrongMode = () =>
      createEngine({
        // @ts-expect-error -- there is no "token" auth mode
        config: { deviceId: "d1", auth: { mode: "token" } },
        url: "mqtt://127.0.0.1:1",
      });
    expect(wrongMode).toThrow(/unknown auth mode "token"/);
    const nested = () =>
      createEngine({
        config: {
          deviceId: "d1",
          auth,
          // @ts-expect-error -- the key is floorMs
          backoff: { floorMz: 100 },
        },
        url: "mqtt://127.0.0.1:1",
      });
    expect(nested).toThrow(/backoff.floorMz: unknown key "floorMz": did you mean "floorMs"\?/);
  });

  it("is the codec's type, not unknown", () => {
    expectTypeOf<EngineOptions["config"]>().toEqualTypeOf<EngineConfigInput>();
    expectTypeOf<EngineConfigInput>().not.toBeUnknown();
    expectTypeOf<EngineConfigInput["keepAliveSeconds"]>().toEqualTypeOf<number | undefined>();
  });
});

describe("createEngine refuses TLS material that cannot work", () => {
  const config: EngineConfigInput = { deviceId: "d1", auth: { mode: "certificate" } };
  const certificate = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";

  it("a client certificate on a plain mqtt:// URL", () => {
    expect(() =>
      createEngine({ config, url: "mqtt://127.0.0.1:1883", tls: { cert: "x", key: "y" } }),
    ).toThrow(
      /tls.cert, tls.key: mqtt:\/\/127.0.0.1:1883 is not encrypted, so TLS material is never used: use mqtts:\/\//,
    );
  });

  it("text that is not PEM, a certificate that does not parse, a half pair", () => {
    const message = (() => {
      try {
        createEngine({ config, url: "mqtts://127.0.0.1:8883", tls: { ca: "hello", cert: certificate } });
        return "";
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    })();
    expect(message).toContain("tls.ca: is not PEM");
    expect(message).toContain("tls.cert: certificate 1 cannot be parsed");
    expect(message).toContain("tls.cert, tls.key: certificate authentication needs both");
  });
});
