/**
 * The platform's CSV writer (spec §5): downstream lines quote a field exactly when needed and
 * escape `"` inside quotes as `\"`, as the real platform does (thin-edge #1831 capture:
 * `511,<id>,"echo \"hello\""`). The core's writer uses RFC 4180 `""` (what devices send); the
 * core's reader accepts both, so `parseRows(serializePlatformRow(row))` gives `row` back.
 *
 * Backslashes: the reader treats a run of k backslashes before a quote as floor(k/2) literal
 * backslashes (odd k: the quote is literal). So a backslash run that ends right before an
 * escaped quote or before the closing quote is doubled here; other backslashes are literal.
 */
import { needsQuoting, type Row } from "@c8ylink/core";

export const serializePlatformField = (value: string): string => {
  if (!needsQuoting(value)) return value;
  // One linear pass (a regex over long backslash runs would backtrack quadratically).
  let body = "";
  let run = 0; // backslashes seen but not yet written
  for (const ch of value) {
    if (ch === "\\") {
      run += 1;
      continue;
    }
    body += ch === '"' ? "\\".repeat(2 * run) + '\\"' : "\\".repeat(run) + ch;
    run = 0;
  }
  return `"${body}${"\\".repeat(2 * run)}"`;
};

/** One downstream line; a row whose only field is empty is written `""` so it is not a blank line. */
export const serializePlatformRow = (row: Row): string =>
  row.length === 1 && row[0] === "" ? '""' : row.map(serializePlatformField).join(",");

/** Lines joined by LF without a trailing newline, as the platform sends them. */
export const serializePlatformRows = (rows: readonly Row[]): string =>
  rows.map(serializePlatformRow).join("\n");
