/**
 * Reports: what the engine tells the application (a `report` command). They never need
 * an answer; they exist so nothing the engine decides is silent: refusals, drops,
 * platform errors, state changes.
 */
import type { OutboxClass } from "./config.js";
import type { Row } from "../smartrest/types.js";

export type Report =
  | { readonly kind: "phase"; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly kind: "accepted"; readonly ref: number; readonly tag?: string }
  | { readonly kind: "rejected"; readonly tag?: string; readonly reason: string }
  /**
   * A `submit-batch`: row i has ref `firstRef + i`; every row not listed in `rejected` was
   * accepted (one report per batch instead of one `accepted` per row).
   */
  | {
      readonly kind: "batch";
      readonly firstRef: number;
      readonly rows: number;
      readonly accepted: number;
      readonly rejected: readonly {
        readonly index: number;
        readonly reason: string;
        readonly tag?: string;
      }[];
    }
  | { readonly kind: "delivered"; readonly refs: readonly number[] }
  | {
      readonly kind: "dropped";
      readonly ref: number;
      readonly class: OutboxClass;
      readonly reason: string;
      readonly tag?: string;
    }
  | {
      readonly kind: "platform-error";
      readonly code: number;
      readonly errorKind: string;
      readonly reference: string | null;
      readonly text: string;
      /** Refs of recently sent messages of the template the error names (most recent last). */
      readonly correlated: readonly number[];
    }
  | {
      readonly kind: "connect-refused";
      readonly code: number;
      readonly meaning: string;
      readonly retryInMs: number;
    }
  | { readonly kind: "connection-lost"; readonly cause: string; readonly retryInMs: number }
  | { readonly kind: "subscription-refused"; readonly topics: readonly string[]; readonly retryInMs: number }
  | { readonly kind: "credentials-received"; readonly tenant: string; readonly user: string }
  | { readonly kind: "credentials-discarded"; readonly reason: string }
  | { readonly kind: "token"; readonly token: string; readonly refreshInMs: number }
  | { readonly kind: "operation-ignored"; readonly reason: string; readonly raw: Row }
  | {
      readonly kind: "operation-failed";
      readonly key: string;
      readonly fragment: string;
      readonly reason: string;
    }
  | { readonly kind: "downstream"; readonly message: { readonly kind: string } & Record<string, unknown> }
  | { readonly kind: "invalid-input"; readonly source: string; readonly reason: string }
  | {
      readonly kind: "persist-failed";
      readonly ref: number;
      readonly message: string;
      readonly retryInMs: number | null;
    }
  | { readonly kind: "stopped"; readonly undelivered: number }
  /** Reading queued rows back from storage failed, or found fewer than it holds (`lost`). */
  | {
      readonly kind: "outbox-storage";
      readonly class: OutboxClass;
      readonly problem: string;
      readonly lost: number;
    }
  /** The operations channel of this session differs from the configured one, and why. */
  | { readonly kind: "operations-mode"; readonly mode: "by-id" | "static"; readonly reason: string };
