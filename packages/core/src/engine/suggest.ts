/**
 * "Did you mean …?": the valid name nearest to a mistyped one, so a refusal of an unknown
 * key can point at the key that was meant (`stateDri` → `stateDir`, `keepAlive` →
 * `keepAliveSeconds`).
 */

/** Edit distance counting insertion, deletion, substitution and adjacent transposition as 1. */
export const editDistance = (a: string, b: string): number => {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
};

/**
 * The candidate `word` most likely stands for, or undefined when none is close: a small
 * edit distance (ignoring case; about one edit per three letters), or one name being a
 * prefix of the other (at least four letters shared).
 */
export const nearestName = (word: string, candidates: readonly string[]): string | undefined => {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance))
      best = { name: candidate, distance };
  }
  if (best !== undefined) return best.name;
  if (lower.length < 4) return undefined;
  return candidates.find((c) => {
    const other = c.toLowerCase();
    return other.length >= 4 && (other.startsWith(lower) || lower.startsWith(other));
  });
};

/** The refusal of an unknown key: names the nearest valid key, or lists them all. */
export const unknownKeyMessage = (key: string, valid: readonly string[]): string => {
  const near = nearestName(key, valid);
  return near === undefined
    ? `unknown key ${JSON.stringify(key)} (valid keys: ${valid.join(", ")})`
    : `unknown key ${JSON.stringify(key)}: did you mean ${JSON.stringify(near)}?`;
};
