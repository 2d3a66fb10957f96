// One way to check the options every class shares, and to refuse the ones it does not
// know: `new ResourceMonitor({ now })` is a typo that must not silently do nothing.

import { MAX_DELAY_MS, type Clock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import { formatDuration, parseDuration } from './format.js';
import type { Logger } from './logger.js';
import { expectBoolean, expectLogger, expectSignal } from './validate.js';

/**
 * Throws an {@link InvalidOptionError} for the first key of `options` that is not in
 * `knownKeys`, suggesting the closest known key: "Unknown option `now` of ResourceMonitor
 * (did you mean `clock`?); known options: …". Keys whose value is `undefined` count too:
 * a typo is a typo.
 *
 * @param component - the class or function name, for the message.
 * @example
 * rejectUnknownKeys('ResourceMonitor', options, ['interval', 'rules', 'clock']);
 */
export function rejectUnknownKeys(component: string, options: object, knownKeys: Iterable<string>): void {
  if (typeof options !== 'object' || options === null) return;
  const known = [...knownKeys];
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = closestKey(key, known);
    const message = `Unknown option \`${key}\` of ${component}${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}; known options: ${known.join(', ')}`;
    throw new InvalidOptionError(key, (options as Record<string, unknown>)[key], 'a known option', { message });
  }
}

/**
 * The known key closest to `word` by edit distance, if it is close enough to be a typo.
 *
 * @example
 * closestKey('intervl', ['interval', 'rules']); // 'interval'
 */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  const synonyms: Readonly<Record<string, string>> = { now: 'clock' };
  const synonym = synonyms[word];
  if (synonym !== undefined && candidates.includes(synonym)) return synonym;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

// Keys are short (an attacker does not choose them), so the quadratic table is fine;
// still, cap the lengths so a pathological key cannot make construction slow.
function editDistance(a: string, b: string): number {
  const x = a.slice(0, 64);
  const y = b.slice(0, 64);
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[y.length] ?? 0;
}

/** The option names every component shares; add them to a class's known keys. */
export const SHARED_OPTION_KEYS = ['clock', 'logger', 'signal', 'persistent'] as const;

/** A {@link Clock}: a function returning ms since the epoch. Checked once by calling it. */
export function clockOption(option: string, value: unknown): Clock {
  if (typeof value !== 'function') throw new InvalidOptionError(option, value, 'a function returning milliseconds since the epoch');
  const sample: unknown = (value as () => unknown)();
  if (typeof sample !== 'number' || !Number.isFinite(sample)) {
    throw new InvalidOptionError(
      option,
      value,
      `a function returning milliseconds since the epoch (it returned ${typeof sample === 'object' && sample instanceof Date ? 'a Date; use () => date.getTime()' : String(sample)})`,
    );
  }
  return value as Clock;
}

/** A logger with `debug`, `info`, `warn` and `error` methods (winston, pino, console). */
export function loggerOption(option: string, value: unknown): Logger {
  return expectLogger(option, value);
}

/** An `AbortSignal`. */
export function signalOption(option: string, value: unknown): AbortSignal {
  return expectSignal(option, value);
}

/** A boolean (for `persistent`). */
export function persistentOption(option: string, value: unknown): boolean {
  return expectBoolean(option, value);
}

/** The shared options, checked; `undefined` where not given. */
export interface SharedOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly persistent?: boolean;
}

/**
 * Checks `clock`, `logger`, `signal` and `persistent` of an options object, each only
 * when present, and throws an {@link InvalidOptionError} naming the first bad one.
 *
 * @param prefix - prepended to option names in messages (`'outbox.'`).
 */
export function checkSharedOptions(options: SharedOptions, prefix = ''): void {
  if (options.clock !== undefined) clockOption(`${prefix}clock`, options.clock);
  if (options.logger !== undefined) loggerOption(`${prefix}logger`, options.logger);
  if (options.signal !== undefined) signalOption(`${prefix}signal`, options.signal);
  if (options.persistent !== undefined) persistentOption(`${prefix}persistent`, options.persistent);
}

/** Bounds of {@link durationOption}. */
export interface DurationBounds {
  /** @defaultValue `0` */
  readonly min?: number;
  /**
   * The longest accepted value. A duration that becomes a timer delay must fit in one
   * Node timer, so the default is {@link MAX_DELAY_MS} (about 24.8 days).
   * @defaultValue {@link MAX_DELAY_MS}
   */
  readonly max?: number;
}

/**
 * A duration option, as milliseconds or as text (`'90s'`, `'1h30m'`, see
 * {@link parseDuration}), between `min` and `max` (default {@link MAX_DELAY_MS}).
 * Throws an {@link InvalidOptionError} naming the option otherwise — never clamps, so
 * `scan.interval: '25d'` is an error instead of back-to-back scans.
 *
 * @example
 * const interval = durationOption('interval', options.interval ?? 5000, { min: 100 });
 */
export function durationOption(option: string, value: unknown, bounds: DurationBounds = {}): number {
  const { min = 0, max = MAX_DELAY_MS } = bounds;
  const ms = parseDuration(value);
  const range = `${formatDuration(min)} to ${formatDuration(max)}`;
  if (ms === undefined) {
    throw new InvalidOptionError(option, value, `a duration (milliseconds, or text like '90s', '10m', '1h30m', '7d') from ${range}`);
  }
  if (ms < min || ms > max) {
    const why = ms > max && max === MAX_DELAY_MS ? ' (the longest delay a timer can wait, about 24.8 days)' : '';
    throw new InvalidOptionError(option, value, `a duration from ${range}${why}`);
  }
  return ms;
}
