/**
 * Tests that need an outside tool (mosquitto, openssl, later a browser): run when the tool is
 * there; when it is missing, FAIL on CI (`CI` set, as the CI runner does) and skip with a
 * warning elsewhere. A CI run must never go green by silently skipping what it could not run.
 */
import { describe, it } from "vitest";

export type Requirement = "run" | "fail" | "skip";

/** Whether `env` is a CI environment: `CI` set to anything but "", "0" or "false". */
export const isCI = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "0" && ci !== "false";
};

export const requirement = (available: boolean, env: NodeJS.ProcessEnv = process.env): Requirement =>
  available ? "run" : isCI(env) ? "fail" : "skip";

const missingText = (tool: string, hint: string): string => `${tool} not found: required on CI (${hint})`;

/** `describe` that needs `tool`: see the file header. */
export const describeRequiring = (
  tool: string,
  available: boolean,
  hint: string,
  name: string,
  body: () => void,
): void => {
  switch (requirement(available)) {
    case "run":
      describe(name, body);
      return;
    case "fail":
      describe(name, () => {
        it(`needs ${tool}`, () => {
          throw new Error(missingText(tool, hint));
        });
      });
      return;
    case "skip":
      console.warn(`[c8ylink] ${tool} not found: skipping "${name}" (${hint})`);
      describe.skip(name, body);
      return;
  }
};

/** `it` that needs `tool`: see the file header. */
export const itRequiring = (
  tool: string,
  available: boolean,
  hint: string,
): ((name: string, fn: () => Promise<void> | void, timeoutMs?: number) => void) => {
  return (name, fn, timeoutMs) => {
    switch (requirement(available)) {
      case "run":
        it(name, fn, timeoutMs);
        return;
      case "fail":
        it(name, () => {
          throw new Error(missingText(tool, hint));
        });
        return;
      case "skip":
        console.warn(`[c8ylink] ${tool} not found: skipping "${name}" (${hint})`);
        it.skip(name, fn, timeoutMs);
        return;
    }
  };
};
