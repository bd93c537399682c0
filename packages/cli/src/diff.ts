/** A readable list of differences between two JSON values, as `path: before → after` lines. */
export const diffJson = (before: unknown, after: unknown, limit = 40): string[] => {
  const out: string[] = [];
  const show = (v: unknown): string => {
    const text = JSON.stringify(v) ?? "undefined";
    return text.length > 100 ? `${text.slice(0, 97)}...` : text;
  };
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= limit) return;
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const bothObjects = a !== null && b !== null && typeof a === "object" && typeof b === "object";
    if (!bothObjects || Array.isArray(a) !== Array.isArray(b)) {
      out.push(`${path || "(root)"}: ${show(a)} → ${show(b)}`);
      return;
    }
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      walk(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path === "" ? k : `${path}.${k}`,
      );
    }
  };
  walk(before, after, "");
  if (out.length >= limit) out.push("… (more differences)");
  return out;
};
