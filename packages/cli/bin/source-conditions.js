// Module-resolution hook (see c8ylink.js): adds the "source" export condition so the
// workspace packages resolve to their TypeScript sources (src/) instead of dist/.
export const resolve = (specifier, context, nextResolve) =>
  nextResolve(specifier, {
    ...context,
    conditions: context.conditions.includes("source")
      ? context.conditions
      : ["source", ...context.conditions],
  });
