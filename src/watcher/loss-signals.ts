import type { ReconcileReason } from './reconciler.js';

/** @internal */
export interface LossSignalOptions {
  readonly clock: () => number;
  /** Events within one second above which inotify's queue may have overflowed. */
  readonly burstThreshold: number;
  /** A timer tick later than this (ms) means the event loop stalled. */
  readonly stallThreshold: number;
  /** How often {@link LossSignals.tick} is called (ms). */
  readonly tickMs: number;
  /** Events may have been lost; the watcher crawls. */
  readonly onLoss: (reason: Extract<ReconcileReason, 'burst' | 'stall'>, message: string) => void;
}

/**
 * The two signs that kernel events may have been lost without anyone saying so: a burst
 * big enough to overflow inotify's queue (the kernel then drops events, and parcel ignores
 * `IN_Q_OVERFLOW`), and a stalled event loop (a late timer: the process, or the machine,
 * did not run for a while).
 *
 * @internal
 */
export class LossSignals {
  readonly #options: LossSignalOptions;
  #window = 0;
  #count = 0;
  #lastTick: number;

  constructor(options: LossSignalOptions) {
    this.#options = options;
    this.#lastTick = options.clock();
  }

  /** A batch of `count` raw events arrived. */
  countEvents(count: number): void {
    const now = this.#options.clock();
    if (now - this.#window >= 1000) {
      this.#window = now;
      this.#count = 0;
    }
    this.#count += count;
    if (this.#count > this.#options.burstThreshold) {
      this.#options.onLoss('burst', `event burst: more than ${this.#options.burstThreshold} events in a second may have overflowed inotify's queue`);
    }
  }

  /** Called every `tickMs`: a late call is a stall. */
  tick(): void {
    const now = this.#options.clock();
    const late = now - this.#lastTick - this.#options.tickMs;
    this.#lastTick = now;
    if (late > this.#options.stallThreshold) this.#options.onLoss('stall', `the event loop stalled for ${Math.round(late)} ms`);
  }
}
