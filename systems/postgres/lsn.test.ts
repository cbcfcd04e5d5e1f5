import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatLsn, parseLsn } from "./lsn.ts";

describe("LSNs", () => {
  it("parses and orders PostgreSQL's printed positions", () => {
    expect(parseLsn("0/3000060")).toBe(0x3000060n);
    expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn("1/0")! > parseLsn("0/FFFFFFFF")!).toBe(true);
    for (const bad of [null, undefined, "", "0/", "x/1", "1/2/3", "123456789/0"])
      expect(parseLsn(bad)).toBeUndefined();
  });

  it("property: format then parse is the identity", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (lsn) => {
        expect(parseLsn(formatLsn(lsn))).toBe(lsn);
      }),
    );
  });
});
