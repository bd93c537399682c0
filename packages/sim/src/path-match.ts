/** Route matching shared by the admin API and the REST routes: literal segments and `:param`s. */

/**
 * The decoded params of `parts` when they fit `pattern`, else null; a param that is not valid
 * percent-encoding is thrown as `malformed(message)` (each caller answers it in its own shape).
 */
export const matchPath = (
  pattern: readonly string[],
  parts: readonly string[],
  malformed: (message: string) => Error,
): string[] | null => {
  if (pattern.length !== parts.length) return null;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? "";
    const part = parts[i] ?? "";
    if (!p.startsWith(":")) {
      if (p !== part) return null;
      continue;
    }
    try {
      params.push(decodeURIComponent(part));
    } catch {
      throw malformed(`malformed percent-encoding in path segment "${part}"`);
    }
  }
  return params;
};
