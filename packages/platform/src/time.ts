/**
 * Server time without `Date`: the model's clock is the `nowMs` of each input, and timestamps it
 * writes (default `time` of measurements, events, alarms) are derived from it arithmetically.
 */

/** `nowMs` as `YYYY-MM-DDThh:mm:ss.sssZ` (UTC); non-finite or negative values read as 0. */
export const isoFromMs = (nowMs: number): string => {
  const ms = Number.isFinite(nowMs) && nowMs > 0 ? Math.floor(Math.min(nowMs, 253402300799999)) : 0;
  const days = Math.floor(ms / 86_400_000);
  const inDay = ms - days * 86_400_000;
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, proleptic Gregorian).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const h = Math.floor(inDay / 3_600_000);
  const m = Math.floor((inDay % 3_600_000) / 60_000);
  const s = Math.floor((inDay % 60_000) / 1000);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(m)}:${pad(s)}.${pad(inDay % 1000, 3)}Z`;
};

/**
 * SmartREST DATE values (custom templates) follow the same grammar the core's upstream
 * encoder enforces for static templates: one checker for both sides.
 */
export { isIsoTimestamp } from "@c8ylink/core";

/** The inverse of `isoFromMs` for its own format (`…Z` with milliseconds); others → undefined. */
export const msFromIso = (iso: string): number | undefined => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/.exec(iso);
  if (m === null) return undefined;
  const [year, month, day, h, min, s, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Days since 1970-01-01 from a civil date (H. Hinnant's algorithm, the inverse of the above).
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return days * 86_400_000 + h * 3_600_000 + min * 60_000 + s * 1000 + ms;
};
