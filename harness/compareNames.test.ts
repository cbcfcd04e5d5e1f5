import { describe, expect, it } from "vitest";
import { compareNames } from "./compareNames.ts";
import { SeededRandom } from "./runtime/random.ts";

/** Characters of the fast path and, past it, some whose ICU order differs from code-unit order. */
const plain = "abcz09-";
const others = "AZ_. éÉ";

function randomName(random: SeededRandom, alphabet: string): string {
  let name = "";
  const length = random.int(7);
  for (let i = 0; i < length; i++) name += alphabet[random.int(alphabet.length)];
  return name;
}

describe("compareNames", () => {
  it("orders names as localeCompare does, plain or not", () => {
    const random = new SeededRandom(17, "compareNames");
    for (let i = 0; i < 20_000; i++) {
      const alphabet = i % 2 === 0 ? plain : plain + others;
      const a = randomName(random, alphabet);
      const b = randomName(random, alphabet);
      expect([a, b, Math.sign(compareNames(a, b))]).toEqual([a, b, Math.sign(a.localeCompare(b))]);
    }
  });

  it("sorts a list of checker names as localeCompare does", () => {
    const names = ["stats", "node-errors", "elle", "Run", "linear", "run", "g2-item", "G1c", "g_1"];
    expect([...names].sort(compareNames)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });
});
