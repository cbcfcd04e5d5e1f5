/**
 * The configuration cache against a plain set: a configuration (key words, state) is new exactly
 * when no configuration with the same words and an equal state was added before, whatever ids
 * the equal states carry (the search gives a kv history's states new ids without looking them
 * up) and however the hashes collide.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigurationCache } from "./cache.ts";

/** Adds `words` in state `stateId` (whose key is `stateKey`) as the search does: written in place. */
function add(
  cache: ConfigurationCache,
  bitsHash: number,
  stateKey: number,
  stateId: number,
  words: readonly number[],
): boolean {
  const pool = cache.keySpace(words.length);
  const at = cache.keyAt;
  words.forEach((w, k) => (pool[at + k] = w));
  return cache.add(bitsHash, stateKey, stateId, words.length);
}

describe("ConfigurationCache", () => {
  it("takes another id of an equal state as the same configuration, and an unequal one as new", () => {
    // ids 1 and 2 are equal states, id 3 is another state with the same key (a hash collision).
    const sameState = (a: number, b: number): boolean => a === b || (a !== 3 && b !== 3);
    const cache = new ConfigurationCache({ same: sameState });
    expect(add(cache, 7, 42, 1, [0, 5, 0b1011])).toBe(true);
    expect(add(cache, 7, 42, 2, [0, 5, 0b1011])).toBe(false);
    expect(add(cache, 7, 42, 3, [0, 5, 0b1011])).toBe(true);
    expect(add(cache, 7, 42, 1, [0, 5, 0b1111])).toBe(true);
    expect(add(cache, 7, 42, 1, [0, 5])).toBe(true);
    expect(cache.size).toBe(4);
  });

  it("answers as a set of (words, state class) does, through growth and colliding hashes", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            words: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
            stateId: fc.integer({ min: 0, max: 11 }),
          }),
          { maxLength: 3000 },
        ),
        (adds) => {
          // States 0..11 in four classes of equal states (id % 4). The key of half the classes is
          // one colliding constant, and the set's hash (a function of the words, as the search's
          // Zobrist hash is) takes only four values: equality, not a hash, must decide.
          const classOf = (id: number): number => id % 4;
          const keyOf = (id: number): number => (classOf(id) < 2 ? 99 : classOf(id));
          const cache = new ConfigurationCache({ same: (a, b) => classOf(a) === classOf(b) }, 16, 64);
          const seen = new Set<string>();
          for (const { words, stateId } of adds) {
            const bitsHash = words.reduce((h, w) => h + w, 0) % 4;
            const name = `${words.join(",")}|${classOf(stateId)}`;
            expect(add(cache, bitsHash, keyOf(stateId), stateId, words)).toBe(!seen.has(name));
            seen.add(name);
          }
          expect(cache.size).toBe(seen.size);
        },
      ),
      { seed: 17, numRuns: 60 },
    );
  });
});
