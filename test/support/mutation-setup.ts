/**
 * Setup for `npm run mutate` only: fewer fast-check runs per property, so that thousands of
 * mutant runs fit on a small machine. Mutants that only a rare generated case would kill
 * may survive here and still be caught by the full `npm test`; the score is a lower bound.
 */
import fc from "fast-check";
import { capPropertyRuns } from "./property.js";

// A fixed seed: every mutant meets the same cases, and a seed that fails on the unmutated
// code (see docs/testing.md) cannot fail the initial run by chance.
fc.configureGlobal({ numRuns: 25, seed: 20_261_129 });
// Also the properties that ask for more runs (150–300 for the engine's lifecycle).
capPropertyRuns(25);
