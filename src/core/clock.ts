// The one place hostwarden reads the wall clock and arms timers. Everything time-based
// takes a `Clock`, so tests drive time with node:test's mock timers (which replace
// `Date.now` and `setTimeout` at call time) and no class mixes two notions of "now".

import { AbortedError } from './errors.js';

/**
 * A source of the current time in milliseconds since the Unix epoch. Every hostwarden
 * class takes one as its `clock` option; the default is {@link systemClock}.
 *
 * @example
 * let t = Date.parse('2026-01-01T00:00:00Z');
 * const monitor = new ResourceMonitor({ clock: () => t });
 */
export type Clock = () => number;

/**
 * The real clock. It reads `Date.now()` on every call (not a bound reference), so
 * `mock.timers.enable({ apis: ['Date', 'setTimeout'] })` moves it too.
 */
export const systemClock: Clock = () => Date.now();

/**
 * A monotonic clock in milliseconds from an arbitrary origin (`performance.now()`), for
 * windows and elapsed times only — never a time of day. It does not jump when NTP or an
 * administrator sets the wall clock, so a CPU window cannot come out negative or huge.
 * The samplers' `clock` option defaults to it; only differences of its values mean anything.
 * @internal
 */
export const monotonicClock: Clock = () => performance.now();

/**
 * The longest delay a Node timer honours: 2^31 − 1 ms (about 24.8 days). Node turns a
 * longer delay into 1 ms with only a warning, so a 25-day interval would fire at once
 * and spin; the internal `schedule` chains instead, and options reject longer durations.
 */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Options of {@link schedule} and {@link sleep}. */
export interface ScheduleOptions {
  /**
   * Keep the process alive while the timer is pending. By default timers are
   * `unref()`ed, so a monitor never holds a finished process open.
   * @defaultValue `false`
   */
  readonly persistent?: boolean;
}

/** Cancels a timer made by {@link schedule}; calling it again, or after it fired, does nothing. */
export type CancelTimer = () => void;

/**
 * Runs `callback` once after `delayMs` milliseconds: the library's one timer seam.
 *
 * - `unref()`ed unless `persistent`;
 * - a delay above {@link MAX_DELAY_MS} is chained through several timers, never clamped
 *   to 1 ms; `Infinity` never fires;
 * - a negative delay fires as soon as possible; `NaN` is a programming error and throws.
 *
 * @returns a function that cancels the timer.
 * @example
 * const cancel = schedule(() => rescan(), 30 * 86_400_000); // 30 days, really
 * cancel();
 */
export function schedule(callback: () => void, delayMs: number, options: ScheduleOptions = {}): CancelTimer {
  if (typeof delayMs !== 'number' || Number.isNaN(delayMs)) {
    throw new TypeError(`schedule: expected a delay in milliseconds, got ${String(delayMs)}`);
  }
  const persistent = options.persistent ?? false;
  let remaining = Math.max(0, delayMs);
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;

  const arm = (): void => {
    const step = Math.min(remaining, MAX_DELAY_MS);
    remaining -= step;
    timer = setTimeout(() => {
      timer = undefined;
      if (cancelled) return;
      if (remaining > 0) arm();
      else {
        cancelled = true;
        callback();
      }
    }, step);
    if (!persistent) timer.unref();
  };
  arm();

  return () => {
    cancelled = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
}

/**
 * Runs `callback` every `intervalMs` milliseconds through {@link schedule} (so intervals
 * above {@link MAX_DELAY_MS} chain instead of spinning). The next run is armed before the
 * callback runs, so a throwing callback does not end the series; the throw propagates as
 * from any timer. Components use `Component.setRepeating`, which also catches throws.
 *
 * @returns a function that cancels every future run.
 * @example
 * const cancel = repeat(() => void scan(), 6 * 3_600_000);
 */
export function repeat(callback: () => void, intervalMs: number, options: ScheduleOptions = {}): CancelTimer {
  let cancelCurrent: CancelTimer = () => {};
  let active = true;
  const arm = (): void => {
    cancelCurrent = schedule(
      () => {
        if (!active) return;
        arm();
        callback();
      },
      intervalMs,
      options,
    );
  };
  arm();
  return () => {
    active = false;
    cancelCurrent();
  };
}

/** Options of {@link sleep}. */
export interface SleepOptions extends ScheduleOptions {
  /** Rejects the sleep with an {@link AbortedError} (its `cause` is the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds (through {@link schedule}, so long delays chain and the
 * timer is `unref()`ed unless `persistent`). Rejects at once with an {@link AbortedError}
 * when `signal` aborts.
 *
 * Note: an un-persistent sleep does not keep the process alive; await it only where
 * something else does (a server, a persistent component), or pass `persistent: true`.
 *
 * @example
 * await sleep(backoffMs, { signal, persistent: true });
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, persistent = false } = options;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('The wait was aborted', { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(new AbortedError('The wait was aborted', { cause: signal?.reason }));
    };
    const cancel = schedule(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      { persistent },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
