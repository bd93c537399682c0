/**
 * Which lines of a log answer a `c8y_LogfileRequest`: those in the time range (where a line
 * starts with a timestamp this module recognises), containing the search text, the last
 * `maximumLines` of them.
 *
 * Recognised at the start of a line (after an optional `[`):
 * - ISO 8601 / RFC 3339: `2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.123+02:00`, `…+0200`,
 *   minutes-only `2024-05-01T12:00`; without an offset the device's local time;
 * - syslog (RFC 3164): `May  1 12:00:00`, local time, in the year that puts it closest before
 *   `now` (a log has no future lines).
 * Lines without a recognised timestamp are kept (they are never filtered out by the range).
 */

const ISO = /^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?/;
const SYSLOG = /^\[?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ \d]\d) (\d{2}):(\d{2}):(\d{2})/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `+0200` → `+02:00`, `+02` → `+02:00` (the platform may send offsets without the colon). */
const normaliseOffset = (offset: string): string =>
  offset === "Z"
    ? "Z"
    : offset.length === 3
      ? `${offset}:00`
      : offset.includes(":")
        ? offset
        : `${offset.slice(0, 3)}:${offset.slice(3)}`;

/** Milliseconds since the epoch of the timestamp a line starts with, if it has one. */
export const lineTime = (line: string, nowMs: number): number | undefined => {
  const iso = ISO.exec(line);
  if (iso !== null) {
    const [, date, time, offset] = iso;
    const ms = Date.parse(
      `${date}T${(time ?? "").replace(",", ".")}${offset === undefined ? "" : normaliseOffset(offset)}`,
    );
    return Number.isNaN(ms) ? undefined : ms;
  }
  const sys = SYSLOG.exec(line);
  if (sys !== null) {
    const [, mon, day, h, m, s] = sys;
    const month = MONTHS.indexOf(mon ?? "");
    const at = (year: number) =>
      new Date(year, month, Number(day), Number(h), Number(m), Number(s)).getTime();
    const year = new Date(nowMs).getFullYear();
    // A day of slack for clocks; later than that it was last year's line.
    return at(year) > nowMs + 86_400_000 ? at(year - 1) : at(year);
  }
  return undefined;
};

/** A request date (ISO 8601, the offset possibly without its colon); undefined when empty or unreadable. */
export const requestTime = (text: string): number | undefined => {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const m = /^(.*?)([+-]\d{2}:?\d{2}|[+-]\d{2}|Z)$/.exec(trimmed);
  const ms = Date.parse(m === null ? trimmed : `${m[1] ?? ""}${normaliseOffset(m[2] ?? "Z")}`);
  return Number.isNaN(ms) ? undefined : ms;
};

export interface LogRequest {
  readonly fromMs: number | undefined;
  readonly toMs: number | undefined;
  readonly searchText: string;
  /** Lines kept at most (the last ones); 0 or less, or more than `MAX_LOG_LINES`: `MAX_LOG_LINES`. */
  readonly maximumLines: number;
  readonly nowMs: number;
}

/** The most lines a request keeps, whatever it asks: a log answer is held in memory. */
export const MAX_LOG_LINES = 100_000;

/** Collects matching lines one at a time, keeping only the last `maximumLines`. */
export class LogSelection {
  private readonly kept: string[] = [];
  private head = 0;
  private readonly maximumLines: number;

  constructor(private readonly request: LogRequest) {
    const asked = request.maximumLines;
    this.maximumLines = asked > 0 && asked < MAX_LOG_LINES ? Math.floor(asked) : MAX_LOG_LINES;
  }

  add(line: string): void {
    const { fromMs, toMs, searchText, nowMs } = this.request;
    const maximumLines = this.maximumLines;
    if (searchText !== "" && !line.includes(searchText)) return;
    if (fromMs !== undefined || toMs !== undefined) {
      const at = lineTime(line, nowMs);
      if (at !== undefined && ((fromMs !== undefined && at < fromMs) || (toMs !== undefined && at > toMs)))
        return;
    }
    this.kept.push(line);
    // Drop from the front in batches: the array stays within twice the limit.
    if (this.kept.length - this.head > maximumLines) {
      this.head++;
      if (this.head >= maximumLines) {
        this.kept.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  lines(): string[] {
    return this.kept.slice(this.head);
  }
}
