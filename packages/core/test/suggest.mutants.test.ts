/**
 * "Did you mean": the edit distance against an independent, recursive definition of the
 * optimal-string-alignment distance, and the choice of the nearest name at each of its limits.
 * (Written for mutation testing: the config tests reach it through a few typos only.)
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { editDistance, nearestName, unknownKeyMessage } from "../src/engine/suggest.js";

/** The textbook recursion, memoised: insert, delete, substitute, swap two adjacent letters. */
const oracleDistance = (a: string, b: string): number => {
  const memo = new Map<string, number>();
  const d = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let best = Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
    if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
      best = Math.min(best, d(i - 2, j - 2) + 1);
    memo.set(key, best);
    return best;
  };
  return d(a.length, b.length);
};

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["", "abc", 3],
    ["abc", "", 3],
    ["abc", "abc", 0],
    ["abc", "abd", 1],
    ["abc", "acb", 1],
    ["ab", "ba", 1],
    ["abc", "ab", 1],
    ["ab", "abc", 1],
    ["kitten", "sitting", 3],
    ["ca", "abc", 3],
    ["stateDri", "stateDir", 1],
  ])("%j → %j is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  test.prop([
    fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 7 }),
    fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 7 }),
  ])("agrees with the recursive definition", (a, b) => {
    expect(editDistance(a, b)).toBe(oracleDistance(a, b));
  });
});

describe("nearestName", () => {
  it("allows one edit per three letters, at least one", () => {
    // 2 letters: limit 1.
    expect(nearestName("ab", ["xb"])).toBe("xb");
    expect(nearestName("ab", ["xy"])).toBeUndefined();
    // 5 letters: limit 1; 6 letters: limit 2.
    expect(nearestName("abcde", ["abxye"])).toBeUndefined();
    expect(nearestName("abcdef", ["abxyef"])).toBe("abxyef");
    expect(nearestName("abcdef", ["axyzef"])).toBeUndefined();
  });

  it("ignores case, and prefers the nearest; on a tie the first", () => {
    expect(nearestName("STATEDIR", ["stateDir"])).toBe("stateDir");
    expect(nearestName("abcdef", ["abxyef", "abcxef"])).toBe("abcxef");
    expect(nearestName("abcdef", ["abcdeX", "abcdeY"])).toBe("abcdeX");
    expect(nearestName("abcdef", ["abcdef", "abcdeY"])).toBe("abcdef");
    expect(nearestName("abcdef", ["abcdeY", "abcdef"])).toBe("abcdef");
  });

  it("falls back to a shared prefix of at least four letters, either way round", () => {
    expect(nearestName("keepAlive", ["stateDir", "keepAliveSeconds"])).toBe("keepAliveSeconds");
    expect(nearestName("KEEP", ["keepAliveSeconds"])).toBe("keepAliveSeconds");
    expect(nearestName("abcdefghij", ["abcd"])).toBe("abcd");
    expect(nearestName("abcdefghij", ["abc"])).toBeUndefined();
    expect(nearestName("kee", ["keepAliveSeconds"])).toBeUndefined();
    expect(nearestName("keepX", ["stateDir"])).toBeUndefined();
    expect(nearestName("abcdxyzuvw", ["zzabcd"])).toBeUndefined();
  });

  it("finds nothing among no candidates", () => {
    expect(nearestName("anything", [])).toBeUndefined();
  });
});

describe("unknownKeyMessage", () => {
  it("names the nearest key, or lists every key", () => {
    expect(unknownKeyMessage("stateDri", ["stateDir", "seed"])).toBe(
      'unknown key "stateDri": did you mean "stateDir"?',
    );
    expect(unknownKeyMessage("zzz", ["stateDir", "seed"])).toBe(
      'unknown key "zzz" (valid keys: stateDir, seed)',
    );
  });
});
