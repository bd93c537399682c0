/**
 * SIM-ONLY fault injection for binary downloads (admin token only): arm a fault for the next
 * `times` downloads — cut the body after N bytes, answer another status, or flip one byte while
 * keeping the true `Digest` and length — so clients' resume, retry and checksum paths can be
 * exercised over real HTTP. The real platform has nothing like it.
 */
import * as t from "io-ts";
import { refine } from "@c8ylink/core";

const NonNegativeInt = refine(t.number, "NonNegativeInteger", (n) =>
  Number.isInteger(n) && n >= 0 ? undefined : "must be an integer ≥ 0",
);
const PositiveInt = refine(t.number, "PositiveInteger", (n) =>
  Number.isInteger(n) && n >= 1 && n <= 1_000_000 ? undefined : "must be an integer from 1 to 1000000",
);
const ErrorStatus = refine(t.number, "HttpErrorStatus", (n) =>
  Number.isInteger(n) && n >= 400 && n <= 599 ? undefined : "must be an HTTP error status 400–599",
);

export const FaultBody = refine(
  t.exact(
    t.partial({
      cutAfterBytes: NonNegativeInt,
      status: ErrorStatus,
      corrupt: t.boolean,
      times: PositiveInt,
    }),
  ),
  "HttpFault",
  (f) =>
    f.cutAfterBytes === undefined && f.status === undefined && f.corrupt !== true
      ? "give at least one of cutAfterBytes, status, corrupt: true"
      : undefined,
);
export type FaultBody = t.TypeOf<typeof FaultBody>;

export interface DownloadFault {
  readonly cutAfterBytes?: number;
  readonly status?: number;
  readonly corrupt?: boolean;
}

export interface ArmedFault extends DownloadFault {
  /** Downloads it still applies to. */
  readonly remaining: number;
}

export class HttpFaults {
  private armed: ArmedFault | undefined;

  arm(body: FaultBody): ArmedFault {
    this.armed = {
      ...(body.cutAfterBytes === undefined ? {} : { cutAfterBytes: body.cutAfterBytes }),
      ...(body.status === undefined ? {} : { status: body.status }),
      ...(body.corrupt === true ? { corrupt: true } : {}),
      remaining: body.times ?? 1,
    };
    return this.armed;
  }

  current(): ArmedFault | null {
    return this.armed ?? null;
  }

  disarm(): void {
    this.armed = undefined;
  }

  /** The fault for the download starting now (counts it), or undefined. */
  take(): DownloadFault | undefined {
    const armed = this.armed;
    if (armed === undefined) return undefined;
    this.armed = armed.remaining > 1 ? { ...armed, remaining: armed.remaining - 1 } : undefined;
    const { remaining: _remaining, ...fault } = armed;
    return fault;
  }
}
