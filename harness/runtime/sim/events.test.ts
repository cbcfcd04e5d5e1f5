import { describe, expect, it } from "vitest";
import { SeededRandom } from "../random.ts";
import { EventQueue, type SimEvent } from "./events.ts";

function event(timeNs: number, seq: number): SimEvent {
  return { timeNs, seq, owner: undefined, action: () => undefined, cancelled: false, heapIndex: -1 };
}

const earlier = (a: SimEvent, b: SimEvent): number => a.timeNs - b.timeNs || a.seq - b.seq;

describe("EventQueue", () => {
  it("pops in (time, seq) order whatever was pushed, removed and popped before", () => {
    const random = new SeededRandom(5, "event-queue");
    for (let round = 0; round < 200; round++) {
      const queue = new EventQueue();
      let model: SimEvent[] = [];
      let seq = 0;
      for (let step = 0; step < 300; step++) {
        const roll = random.float();
        if (roll < 0.5) {
          // Few distinct times, so ties on time are common and seq decides.
          const e = event(random.int(20), seq++);
          queue.push(e);
          model.push(e);
        } else if (roll < 0.75 && model.length > 0) {
          const e = model[random.int(model.length)]!;
          queue.remove(e);
          queue.remove(e); // twice: the second does nothing
          model = model.filter((m) => m !== e);
        } else {
          model.sort(earlier);
          const expected = model.shift();
          expect(queue.pop()).toBe(expected);
        }
        expect(queue.size).toBe(model.length);
      }
      model.sort(earlier);
      for (const expected of model) expect(queue.pop()).toBe(expected);
      expect(queue.pop()).toBeUndefined();
    }
  });

  it("ignores the removal of an event that already left", () => {
    const queue = new EventQueue();
    const a = event(1, 0);
    const b = event(2, 1);
    queue.push(a);
    queue.push(b);
    expect(queue.pop()).toBe(a);
    queue.remove(a);
    expect(queue.size).toBe(1);
    expect(queue.pop()).toBe(b);
  });
});
