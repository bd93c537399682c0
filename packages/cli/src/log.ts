/**
 * Log lines of a long-running command on standard error: each with its time, as text for a
 * person (`2026-11-29T19:40:00.123Z info  message`) or as one JSON object per line for a log
 * collector (`{"time":…,"level":…,"msg":…,…fields}`).
 */
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type LogLevel = "info" | "warn" | "error";

export type Logger = Record<LogLevel, (message: string, fields?: Readonly<Record<string, unknown>>) => void>;

export const createLogger = (
  write: (line: string) => void,
  format: LogFormat,
  now: () => Date = () => new Date(),
): Logger => {
  const line =
    (level: LogLevel) =>
    (message: string, fields: Readonly<Record<string, unknown>> = {}): void => {
      const time = now().toISOString();
      switch (format) {
        case "text":
          return write(`${time} ${level.padEnd(5)} ${message}`);
        case "json":
          return write(JSON.stringify({ time, level, msg: message, ...fields }));
      }
    };
  return { info: line("info"), warn: line("warn"), error: line("error") };
};
