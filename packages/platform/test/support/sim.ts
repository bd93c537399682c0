/**
 * Test driver for the platform model: keeps the state, advances a virtual clock by one second
 * per input and offers short helpers for the common inputs and output filters.
 */
import {
  initialPlatform,
  platformStep,
  type PlatformInput,
  type PlatformOptions,
  type PlatformOutput,
  type PlatformState,
  type ProvisionedUser,
} from "../../src/index.js";

/** An input without its clock (the driver adds it). */
export type Move = PlatformInput extends infer I ? (I extends unknown ? Omit<I, "nowMs"> : never) : never;

export const TENANT = "t100";
export const BOOTSTRAP_PASSWORD = "bs-secret";

export class Sim {
  state: PlatformState;
  now = Date.UTC(2025, 0, 1);

  constructor(options: PlatformOptions = {}) {
    this.state = initialPlatform({ tenantId: TENANT, bootstrapPassword: BOOTSTRAP_PASSWORD, ...options });
  }

  step(input: Move): PlatformOutput[] {
    this.now += 1000;
    const result = platformStep(this.state, { ...input, nowMs: this.now } as PlatformInput);
    this.state = result.state;
    return [...result.outputs];
  }

  connect(
    clientKey: string,
    clientId: string,
    username: string | null,
    password: string | null,
    certificateCn: string | null = null,
  ): PlatformOutput[] {
    return this.step({ type: "client-connect", clientKey, clientId, username, password, certificateCn });
  }

  /** Connects `clientKey` as device `id` with a provisioned user (see `deviceUsers`). */
  device(clientKey: string, id: string, ...topics: string[]): PlatformOutput[] {
    const out = this.connect(clientKey, `d:${id}`, `${TENANT}/device_${id}`, `pw-${id}`);
    return topics.length === 0 ? out : [...out, ...this.subscribe(clientKey, ...topics)];
  }

  subscribe(clientKey: string, ...topics: string[]): PlatformOutput[] {
    return this.step({
      type: "client-subscribe",
      clientKey,
      topics: topics.map((topic) => ({ topic, qos: 1 })),
    });
  }

  publish(clientKey: string, topic: string, payload: string, qos = 1): PlatformOutput[] {
    return this.step({ type: "client-publish", clientKey, topic, payload, qos });
  }

  operation(deviceId: string, fragments: Record<string, unknown>, description?: string): PlatformOutput[] {
    return this.step({
      type: "admin-create-operation",
      deviceId,
      fragments,
      ...(description === undefined ? {} : { description }),
    });
  }
}

/** Provisioned users `device_<id>` / `pw-<id>` for `ids`. */
export const deviceUsers = (...ids: string[]): readonly ProvisionedUser[] =>
  ids.map((id) => ({ username: `device_${id}`, password: `pw-${id}` }));

/** Payloads delivered on `topic` (to `clientKey`, if given). */
export const delivered = (outputs: readonly PlatformOutput[], topic: string, clientKey?: string): string[] =>
  outputs.flatMap((o) =>
    o.type === "deliver" && o.topic === topic && (clientKey === undefined || o.clientKey === clientKey)
      ? [o.payload]
      : [],
  );

export const ofType = <K extends PlatformOutput["type"]>(
  outputs: readonly PlatformOutput[],
  type: K,
): Extract<PlatformOutput, { type: K }>[] =>
  outputs.filter((o): o is Extract<PlatformOutput, { type: K }> => o.type === type);

export const connackCode = (outputs: readonly PlatformOutput[]): number | undefined =>
  ofType(outputs, "connack")[0]?.code;
