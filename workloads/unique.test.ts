import { describe, expect, it } from "vitest";
import { fakeContext } from "../harness/generator/simulate.ts";
import { uniqueSource } from "./unique.ts";

describe("uniqueSource", () => {
  it("proposes the same id when asked twice, and the next id only from the generator it returns", () => {
    const gen = uniqueSource((_c, id) => ({ f: "add", value: id }), 10);
    const context = fakeContext({ clientThreads: 2 });
    const first = gen.op(context);
    const again = gen.op(context);
    expect(first.kind === "op" && first.op.value).toBe(10);
    expect(again.kind === "op" && again.op.value).toBe(10);
    const second = first.kind === "op" ? first.next.op(context) : first;
    expect(second.kind === "op" && second.op.value).toBe(11);
  });

  it("counts down with a negative step, waits when no thread is free, and ends on undefined", () => {
    const down = uniqueSource((_c, id) => ({ f: "w", value: id }), -1, -1);
    const ctx = fakeContext({ clientThreads: 1 });
    const a = down.op(ctx);
    const b = a.kind === "op" ? a.next.op(ctx) : a;
    expect([a.kind === "op" && a.op.value, b.kind === "op" && b.op.value]).toEqual([-1, -2]);
    expect(down.op(fakeContext({ clientThreads: 1, busy: [0] })).kind).toBe("pending");
    expect(uniqueSource(() => undefined).op(ctx).kind).toBe("exhausted");
    expect(() => uniqueSource(() => undefined, 0, 0)).toThrow(/non-zero step/);
  });
});
