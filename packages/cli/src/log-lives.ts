/**
 * An event log file may hold several lives: `c8ylink run --record` appends each start's log
 * (its own header, then its steps) after the earlier ones, so a crash never erases the log of
 * the life that went wrong. Each life replays on its own, from its own header.
 */
import { parseLog, type ParsedLog } from "@c8ylink/core";

export interface Life extends ParsedLog {
  /** 1-based position in the file. */
  readonly index: number;
  /** Line of the file where the life begins (its header). */
  readonly firstLine: number;
}

const isHeaderLine = (raw: string): boolean => {
  // Cheap test first: only a line naming the header kind can start a life.
  if (!raw.includes('"header"')) return false;
  try {
    const json = JSON.parse(raw) as { kind?: unknown } | null;
    return typeof json === "object" && json !== null && json.kind === "header";
  } catch {
    return false;
  }
};

/** Splits a log text at its header lines and parses each life; line numbers are the file's. */
export const splitLives = (text: string): Life[] => {
  const lines = text.split("\n");
  const starts = [0];
  lines.forEach((raw, index) => {
    if (index > 0 && isHeaderLine(raw)) starts.push(index);
  });
  return starts.map((start, i) => {
    const end = starts[i + 1] ?? lines.length;
    const parsed = parseLog(lines.slice(start, end).join("\n"));
    return {
      ...parsed,
      problems: parsed.problems.map((p) => ({ ...p, line: p.line + start })),
      index: i + 1,
      firstLine: start + 1,
    };
  });
};
