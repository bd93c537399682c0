/**
 * The interpreter's only source of time. The core never reads a clock: every event carries
 * `nowMs` from here, and timer deadlines (`timer-set.atMs`) are points on this same scale.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (never decreases). */
  nowMs(): number;
}

/**
 * The default clock: `performance.timeOrigin + performance.now()`, floored to whole
 * milliseconds. Monotonic (it does not jump with wall-clock adjustments) while still reading
 * roughly like epoch milliseconds in event logs.
 */
export const monotonicClock: Clock = {
  nowMs: () => Math.floor(performance.timeOrigin + performance.now()),
};
