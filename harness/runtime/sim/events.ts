/**
 * The simulation's event queue: a binary min-heap of events ordered by virtual time, then by the
 * sequence number they were scheduled with. Two events at the same instant therefore always run
 * in the order they were scheduled, which is what makes a run a pure function of its seed.
 */

/** The tasks of one run of one endpoint's program; a crash ends it, a restart makes a new one. */
export interface Owner {
  readonly endpoint: string;
  readonly incarnation: number;
  alive: boolean;
  paused: boolean;
  /** Actions that came due while paused, in due order; they run on resume. */
  held: (() => void)[];
}

export interface SimEvent {
  readonly timeNs: number;
  readonly seq: number;
  /** The endpoint incarnation the event belongs to; undefined for the network and the harness. */
  readonly owner: Owner | undefined;
  readonly action: () => void;
  cancelled: boolean;
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.timeNs < b.timeNs || (a.timeNs === b.timeNs && a.seq < b.seq);
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      const swap = heap[i]!;
      heap[i] = heap[parent]!;
      heap[parent] = swap;
      i = parent;
    }
  }

  peek(): SimEvent | undefined {
    return this.heap[0];
  }

  pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    const n = heap.length;
    while (true) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < n && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      const swap = heap[i]!;
      heap[i] = heap[smallest]!;
      heap[smallest] = swap;
      i = smallest;
    }
    return top;
  }
}

/** The event or virtual-time budget ran out: a runaway simulation, stopped. */
export class SimulationBudgetError extends Error {
  override readonly name = "SimulationBudgetError";
}

/** No event is left to run while the main task is still pending: it waits for something that cannot happen. */
export class SimulationDeadlockError extends Error {
  override readonly name = "SimulationDeadlockError";
}
