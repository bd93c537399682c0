/**
 * `test.prop`: a fast-check property as one vitest test, named with the seed that reproduces
 * it, so a failing property prints its seed (the seed comes from the parameters, else from
 * `fc.configureGlobal`, else from the clock).
 *
 * In place of `@fast-check/vitest`, which offered the same call: its 0.5.0 with vitest 4.1
 * builds every chain of vitest's test modifiers on import, 1.9 s of CPU per module graph. That
 * was paid by each `npm test` worker and, worse, by each mutant run of `npm run mutate`
 * (2.2 s of a 2.5 s run for a file whose tests take 0.1 s; docs/testing.md, "Mutation speed").
 */
import fc from "fast-check";
import { test as vitestTest } from "vitest";

export { fc };

/** At most this many runs per property when set; see `capPropertyRuns`. */
let runsCap: number | undefined;

/**
 * Caps every property's runs, explicit `numRuns` included, for `npm run mutate`
 * (test/support/mutation-setup.ts): each surviving mutant reruns every test that covers it,
 * and the engine's 150–300-run lifecycle properties made that ~15 s per mutant.
 */
export const capPropertyRuns = (cap: number): void => {
  runsCap = cap;
};

type Arbitraries<Ts extends unknown[]> = { [K in keyof Ts]: fc.Arbitrary<Ts[K]> };
type Predicate<Ts extends unknown[]> = (...args: Ts) => boolean | void | Promise<boolean | void>;

function prop<Ts extends [unknown, ...unknown[]]>(
  arbitraries: Arbitraries<Ts>,
  params?: fc.Parameters<Ts>,
): (label: string, predicate: Predicate<Ts>, timeout?: number) => void {
  return (label, predicate, timeout) => {
    const seed =
      params?.seed ?? fc.readConfigureGlobal().seed ?? Date.now() ^ (Math.random() * 0x1_0000_0000);
    const property = fc.asyncProperty(
      ...(arbitraries as unknown as [fc.Arbitrary<unknown>]),
      async (...args: unknown[]) => predicate(...(args as Ts)),
    ) as unknown as fc.IAsyncProperty<Ts>;
    vitestTest(
      `${label} (with seed=${seed})`,
      async () => {
        const numRuns =
          runsCap === undefined ? params?.numRuns : Math.min(params?.numRuns ?? runsCap, runsCap);
        await fc.assert(property, {
          ...params,
          seed,
          ...(numRuns === undefined ? {} : { numRuns }),
        });
      },
      timeout,
    );
  };
}

export const test = { prop } as const;
