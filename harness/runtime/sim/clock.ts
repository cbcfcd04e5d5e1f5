/**
 * A simulated hardware clock: true virtual time seen through an offset and a drift. The
 * monotonic reading runs at the drifted rate and ignores the offset; the wall reading adds the
 * offset. Changing the drift re-anchors the monotonic reading so it never jumps; changing the
 * offset moves only the wall reading (it may jump backwards: that is what clock nemeses do).
 */
import type { ClockSetting } from "../types.ts";

/** Elapsed true time as a drifted clock counts it (written so whole ppm of whole ns stay exact). */
function drifted(elapsedNs: number, driftPpm: number): number {
  return elapsedNs + (elapsedNs * driftPpm) / 1e6;
}

/** Everything a clock is, as plain JSON: process mode sends it to a node's process. */
export interface ClockSnapshot {
  readonly offsetNs: number;
  readonly driftPpm: number;
  readonly anchorTrueNs: number;
  readonly anchorMonotonicNs: number;
}

export class SimClockState {
  offsetNs = 0;
  driftPpm = 0;
  private anchorTrueNs = 0;
  private anchorMonotonicNs = 0;

  snapshot(): ClockSnapshot {
    return {
      offsetNs: this.offsetNs,
      driftPpm: this.driftPpm,
      anchorTrueNs: this.anchorTrueNs,
      anchorMonotonicNs: this.anchorMonotonicNs,
    };
  }

  static restore(snapshot: ClockSnapshot): SimClockState {
    const clock = new SimClockState();
    clock.offsetNs = snapshot.offsetNs;
    clock.driftPpm = snapshot.driftPpm;
    clock.anchorTrueNs = snapshot.anchorTrueNs;
    clock.anchorMonotonicNs = snapshot.anchorMonotonicNs;
    return clock;
  }

  monotonicNs(trueNs: number): number {
    return Math.floor(this.anchorMonotonicNs + drifted(trueNs - this.anchorTrueNs, this.driftPpm));
  }

  wallNs(trueNs: number): number {
    return this.monotonicNs(trueNs) + this.offsetNs;
  }

  set(trueNs: number, setting: ClockSetting): void {
    if (setting.driftPpm !== undefined) {
      if (!Number.isFinite(setting.driftPpm) || setting.driftPpm <= -1e6) {
        throw new RangeError(`driftPpm must be a finite number above -1e6, got ${setting.driftPpm}`);
      }
      this.anchorMonotonicNs += drifted(trueNs - this.anchorTrueNs, this.driftPpm);
      this.anchorTrueNs = trueNs;
      this.driftPpm = setting.driftPpm;
    }
    if (setting.offsetNs !== undefined) {
      if (!Number.isFinite(setting.offsetNs))
        throw new RangeError(`offsetNs must be finite, got ${setting.offsetNs}`);
      this.offsetNs = Math.round(setting.offsetNs);
    }
  }
}
