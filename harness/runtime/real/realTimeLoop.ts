/**
 * The part a world on real time shares, whether its nodes live in this process (RealWorld) or in
 * their own (ProcessWorld): timers on the event loop that `close` clears all at once, the first
 * failure that ends `run`, and sleeps that never settle once the world is closed. One copy, so
 * both worlds stop and fail the same way.
 */

/** A promise that never settles: what a sleep or a disk operation returns in a closed world. */
export const never = <T>(): Promise<T> => new Promise<T>(() => {});

export class RealTimeLoop {
  private readonly timers = new Set<NodeJS.Timeout>();
  private failure: { error: unknown } | undefined;
  private failureListeners: ((error: unknown) => void)[] = [];
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  /** The world's first failure ends `run` with it; later ones are dropped. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = { error };
    for (const listener of this.failureListeners) listener(error);
    this.failureListeners = [];
  }

  /**
   * Calls `callback` after `durationNs` of real time unless the world closes first (a throw fails
   * the world); the function returned cancels it.
   */
  setTimer(durationNs: number, callback: () => void): () => void {
    if (this.isClosed) return () => {};
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        try {
          callback();
        } catch (error) {
          this.fail(error);
        }
      },
      Math.max(0, durationNs) / 1e6,
    );
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  sleep(durationNs: number): Promise<void> {
    if (this.isClosed) return never();
    return new Promise((resolve) => this.setTimer(durationNs, resolve));
  }

  /** Runs `main` until it settles or the world fails, whichever comes first. */
  async run<T>(main: () => Promise<T>): Promise<T> {
    if (this.failure !== undefined) throw this.failure.error;
    const failed = new Promise<never>((_resolve, reject) => this.failureListeners.push(reject));
    return await Promise.race([main(), failed]);
  }

  /** Closes the loop and clears every timer; false when it was closed already. */
  close(): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    return true;
  }
}
