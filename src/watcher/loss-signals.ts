import type { ReconcileReason } from './reconciler.js';

/** @internal */
export interface LossSignalOptions {
  readonly clock: () => number;
  /** Events within any one second above which inotify's queue may have overflowed. */
  readonly burstThreshold: number;
  /** A timer tick later than this (ms) means the event loop stalled. */
  readonly stallThreshold: number;
  /** How often {@link LossSignals.tick} is called (ms). */
  readonly tickMs: number;
  /** Events may have been lost; the watcher crawls. */
  readonly onLoss: (reason: Extract<ReconcileReason, 'burst' | 'stall'>, message: string) => void;
}

const WINDOW_MS = 1000;

/**
 * The burst threshold implied by inotify's queue length (`max_queued_events`, read when the
 * inotify instance is created). The kernel drops events only once its queue holds that many,
 * and the reader thread then receives all of them within moments; parcel merges the events of
 * one path, and writing a file takes two (create, modify). So an overflow shows as at least
 * a quarter of the queue length in distinct events within a second, with a margin of two.
 * No floor: with a tiny queue, a tiny burst is already a possible overflow.
 *
 * @internal
 */
export function burstThresholdFor(maxQueuedEvents: number | undefined): number {
  return Math.max(1, Math.floor((maxQueuedEvents ?? 16_384) / 4));
}

/**
 * The two signs that kernel events may have been lost without anyone saying so: a burst
 * big enough to overflow inotify's queue (the kernel then drops events, and parcel ignores
 * `IN_Q_OVERFLOW`), and a stalled event loop (a late timer: the process, or the machine,
 * did not run for a while).
 *
 * Bursts are counted over a sliding second, so a burst that straddles the edge of a fixed
 * window is still seen whole.
 *
 * @internal
 */
export class LossSignals {
  readonly #options: LossSignalOptions;
  /** Batches of the last second: arrival times and counts, oldest first. */
  readonly #times: number[] = [];
  readonly #counts: number[] = [];
  #head = 0;
  #inWindow = 0;
  #lastTick: number;

  constructor(options: LossSignalOptions) {
    this.#options = options;
    this.#lastTick = options.clock();
  }

  /** A batch of `count` raw events arrived. */
  countEvents(count: number): void {
    const now = this.#options.clock();
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= now - WINDOW_MS) {
      this.#inWindow -= this.#counts[this.#head] as number;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#counts.splice(0, this.#head);
      this.#head = 0;
    }
    this.#times.push(now);
    this.#counts.push(count);
    this.#inWindow += count;
    if (this.#inWindow > this.#options.burstThreshold) {
      const seen = this.#inWindow;
      // Counted once: the crawl this triggers covers everything up to now.
      this.#times.length = 0;
      this.#counts.length = 0;
      this.#head = 0;
      this.#inWindow = 0;
      this.#options.onLoss(
        'burst',
        `inotify queue overflow suspected: ${seen} events within a second, more than the ${this.#options.burstThreshold} that a full queue implies (burstThreshold)`,
      );
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
