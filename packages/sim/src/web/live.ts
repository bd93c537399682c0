/**
 * The web page's live feed: server-sent events on `GET /live`. After every step of the hub the
 * feed notes that something changed; a short timer later (so a burst of steps is one message) it
 * compares the platform state with the one it last described and sends one `change` message:
 * which collections changed (the page fetches those from the JSON API), the new measurements
 * themselves (they are what the charts draw, so they come in the message), the last message of
 * every device that sent one, and the new timeline lines. A page that (re)connects gets `hello`
 * with the last messages and the recent timeline, then fetches everything.
 *
 * Bounded: at most `maxClients` streams; a client that does not read (more than
 * `maxBufferedBytes` waiting) is dropped; the timeline keeps `timelineLength` lines.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Measurement, PlatformState } from "@c8ylink/platform";
import { formatLogEntry, type SimLogEntry } from "../log.js";

/** Parts of the state the page fetches again when they change. */
export type LiveCollection =
  "devices" | "measurements" | "events" | "alarms" | "operations" | "registrations" | "sessions" | "errors";

/** The last MQTT message a device sent (directly, or its agent on its behalf). */
export interface LastMessage {
  readonly atMs: number;
  readonly clientId: string;
  readonly topic: string;
  /** Shortened to `MAX_PAYLOAD_CHARS`. */
  readonly payload: string;
}

export interface LiveHello {
  readonly seq: number;
  readonly lastMessages: Readonly<Record<string, LastMessage>>;
  readonly timeline: readonly string[];
}

export interface LiveChange {
  readonly seq: number;
  readonly changed: readonly LiveCollection[];
  /** Measurements stored since the previous message, oldest first. */
  readonly measurements: readonly Measurement[];
  /** True when measurements were removed (a device deleted): the page fetches them all again. */
  readonly measurementsReset: boolean;
  /** Devices whose last message changed (external id → message). */
  readonly lastMessages: Readonly<Record<string, LastMessage>>;
  readonly timeline: readonly string[];
}

export interface LiveFeedOptions {
  readonly state: () => PlatformState;
  /** Delay that merges a burst of steps into one message. Default 50 ms. */
  readonly flushDelayMs?: number;
  /** Comment line sent this often so proxies and the browser keep the stream. Default 15 s. */
  readonly heartbeatMs?: number;
  readonly maxClients?: number;
  readonly maxBufferedBytes?: number;
  readonly timelineLength?: number;
}

const MAX_PAYLOAD_CHARS = 300;

/** Topics on which an agent speaks for a child: `s/us/<child>`, `t/us/<child>`, `q/us/<child>`, `c/us/<child>`. */
const CHILD_TOPIC = /^[stqc]\/us\/(.+)$/;

const shorten = (text: string): string =>
  text.length > MAX_PAYLOAD_CHARS ? `${text.slice(0, MAX_PAYLOAD_CHARS)}…` : text;

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly timeline: string[] = [];
  private pendingTimeline: string[] = [];
  private readonly lastMessages = new Map<string, LastMessage>();
  private readonly pendingLast = new Map<string, LastMessage>();
  private described: PlatformState;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  private readonly flushDelayMs: number;
  private readonly maxClients: number;
  private readonly maxBufferedBytes: number;
  private readonly timelineLength: number;

  constructor(private readonly options: LiveFeedOptions) {
    this.described = options.state();
    this.flushDelayMs = options.flushDelayMs ?? 50;
    this.maxClients = options.maxClients ?? 32;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.timelineLength = options.timelineLength ?? 300;
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) this.write(res, ": keep-alive\n\n");
    }, options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** Number of open streams. */
  size(): number {
    return this.clients.size;
  }

  /** Serves one `GET /live` (the access guard has already let it through). */
  attach(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.clients.size >= this.maxClients) {
      const text = `${JSON.stringify({ error: `too many live streams open (at most ${this.maxClients}); close other tabs of this page` })}\n`;
      res.writeHead(503, { "content-type": "application/json; charset=utf-8", "retry-after": "5" });
      res.end(text);
      return;
    }
    // What is waiting goes to the other pages first, so `hello` holds it and nothing arrives twice.
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flush();
    }
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
      "cross-origin-resource-policy": "same-origin",
      "referrer-policy": "no-referrer",
    });
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    const hello: LiveHello = {
      seq: this.seq,
      lastMessages: Object.fromEntries(this.lastMessages),
      timeline: [...this.timeline],
    };
    this.write(res, `retry: 1000\nevent: hello\ndata: ${JSON.stringify(hello)}\n\n`);
  }

  /** Called after every step of the hub. */
  stepped(): void {
    this.schedule();
  }

  /** Called with every timeline entry of the tenant. */
  logged(entry: SimLogEntry): void {
    if (this.closed) return;
    this.pendingTimeline.push(formatLogEntry(entry));
    if (entry.kind === "publish-in") {
      const session = this.options.state().sessions.get(entry.clientKey);
      const child = CHILD_TOPIC.exec(entry.topic)?.[1];
      const deviceId = child ?? session?.deviceId ?? entry.clientId;
      const message: LastMessage = {
        atMs: entry.atMs,
        clientId: entry.clientId,
        topic: entry.topic,
        payload: shorten(entry.payload),
      };
      this.lastMessages.set(deviceId, message);
      this.pendingLast.set(deviceId, message);
    }
    this.schedule();
  }

  /** Ends every stream and stops the timers. Idempotent. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.flushDelayMs);
    this.timer.unref();
  }

  private flush(): void {
    const before = this.described;
    const now = this.options.state();
    this.described = now;
    const changed: LiveCollection[] = [];
    if (before.managedObjects !== now.managedObjects) changed.push("devices");
    if (before.measurements !== now.measurements) changed.push("measurements");
    if (before.events !== now.events) changed.push("events");
    if (before.alarms !== now.alarms) changed.push("alarms");
    if (before.operations !== now.operations) changed.push("operations");
    if (before.registrations !== now.registrations) changed.push("registrations");
    if (before.sessions !== now.sessions || before.liveSessions !== now.liveSessions)
      changed.push("sessions");
    if (before.errors !== now.errors) changed.push("errors");
    // Measurements are only ever appended, except when a device is deleted.
    const appended =
      now.measurements.length >= before.measurements.length &&
      (before.measurements.length === 0 ||
        now.measurements.get(before.measurements.length - 1) === before.measurements.at(-1));
    const timeline = this.pendingTimeline;
    this.pendingTimeline = [];
    this.timeline.push(...timeline);
    this.timeline.splice(0, Math.max(0, this.timeline.length - this.timelineLength));
    if (changed.length === 0 && timeline.length === 0 && this.pendingLast.size === 0) return;
    this.seq += 1;
    const change: LiveChange = {
      seq: this.seq,
      changed,
      measurements: appended ? now.measurements.slice(before.measurements.length) : [],
      measurementsReset: !appended,
      lastMessages: Object.fromEntries(this.pendingLast),
      timeline,
    };
    this.pendingLast.clear();
    const text = `event: change\ndata: ${JSON.stringify(change)}\n\n`;
    for (const res of this.clients) this.write(res, text);
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > this.maxBufferedBytes) {
      // This page stopped reading; it reconnects and starts afresh if it is still there.
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}
