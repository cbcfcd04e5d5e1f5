/**
 * The simulation's event queue: a binary min-heap of events ordered by virtual time, then by the
 * sequence number they were scheduled with. Two events at the same instant therefore always run
 * in the order they were scheduled, which is what makes a run a pure function of its seed.
 *
 * A cancelled timer leaves the heap at once (`remove`): every client operation's timeout is
 * cancelled when the answer comes, and left in place those made the heap ten times the size of
 * the events that will run (a 5 s timeout at 100 operations a second) and were each popped in
 * their turn only to be skipped. Removing an event does not change the order of the others.
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
  /** Where the event sits in the queue's heap; -1 when it is not in it. */
  heapIndex: number;
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
    this.heap.push(event);
    this.siftUp(this.heap.length - 1, event);
  }

  peek(): SimEvent | undefined {
    return this.heap[0];
  }

  pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return top;
    top.heapIndex = -1;
    if (heap.length > 0) this.siftDown(0, last);
    return top;
  }

  /** Takes `event` out of the queue, if it is still in it. */
  remove(event: SimEvent): void {
    const i = event.heapIndex;
    const heap = this.heap;
    if (i < 0 || heap[i] !== event) return;
    event.heapIndex = -1;
    const last = heap.pop()!;
    if (i === heap.length) return;
    // `last` takes the hole: up if it comes before the hole's parent, else down.
    if (i > 0 && before(last, heap[(i - 1) >> 1]!)) this.siftUp(i, last);
    else this.siftDown(i, last);
  }

  /** Puts `event` at hole `i` or above it, moving later parents down. */
  private siftUp(i: number, event: SimEvent): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (!before(event, above)) break;
      heap[i] = above;
      above.heapIndex = i;
      i = parent;
    }
    heap[i] = event;
    event.heapIndex = i;
  }

  /** Puts `event` at hole `i` or below it, moving earlier children up. */
  private siftDown(i: number, event: SimEvent): void {
    const heap = this.heap;
    const n = heap.length;
    while (true) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      const below = heap[child]!;
      if (!before(below, event)) break;
      heap[i] = below;
      below.heapIndex = i;
      i = child;
    }
    heap[i] = event;
    event.heapIndex = i;
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
