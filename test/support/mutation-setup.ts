/**
 * Setup for `npm run mutate` only: fewer fast-check runs per property, so that thousands of
 * mutant runs fit on a small machine. Mutants that only a rare generated case would kill
 * may survive here and still be caught by the full `npm test`; the score is a lower bound.
 */
import { fc } from "@fast-check/vitest";

fc.configureGlobal({ numRuns: 25 });
