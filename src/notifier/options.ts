import type { Alert } from '../core/alert.js';
import { InvalidOptionError } from '../core/errors.js';
import type { ComponentOptions } from '../core/lifecycle.js';
import { MAX_DELAY_MS, systemClock } from '../core/clock.js';
import { SHARED_OPTION_KEYS, checkSharedOptions, durationOption, rejectUnknownKeys } from '../core/options.js';
import { expectArray, expectNumber, expectString } from '../core/validate.js';
import type { Channel, RateLimit } from './channel.js';
import type { OutboxOptions } from './outbox.js';

/** Retry policy for retryable delivery failures (429, 5xx, timeouts, network errors). */
export interface RetryOptions {
  /**
   * Attempts per notification and channel, the first included, when there is no outbox.
   * With an outbox, `outbox.maxAttempts` applies instead.
   * @defaultValue `6`
   */
  readonly maxAttempts?: number;
  /**
   * Delay before the first retry, in ms; doubled (by `factor`) each time, with full jitter.
   * @defaultValue `1000`
   */
  readonly initialDelay?: number;
  /**
   * Longest delay between attempts, in ms (a peer's Retry-After may ask for longer and is honoured).
   * @defaultValue `60_000`
   */
  readonly maxDelay?: number;
  /**
   * Growth of the delay per attempt.
   * @defaultValue `2`
   */
  readonly factor?: number;
}

/** Options of {@link Notifier}. */
export interface NotifierOptions extends ComponentOptions {
  /** Where alerts go; names must be unique. */
  readonly channels: readonly Channel[];
  /** Persist accepted alerts so they survive an outage and a restart (at-least-once). */
  readonly outbox?: OutboxOptions;
  /**
   * How long to wait for more alerts of the same group before sending one digest, in ms.
   * `flush()` and `stop()` send open groups at once.
   * @defaultValue `5000`
   */
  readonly groupWait?: number;
  /**
   * What makes alerts one digest.
   * @defaultValue `` alert => `${alert.source}:${alert.rule}` ``
   */
  readonly groupBy?: (alert: Alert) => string;
  /**
   * Largest digest; a group that reaches it is sent at once and a new one starts.
   * @defaultValue `100`
   */
  readonly maxGroupSize?: number;
  /**
   * A firing alert is announced once per this interval (per key and channel) while it keeps firing, in ms.
   * @defaultValue `14_400_000` (4 h)
   */
  readonly repeatInterval?: number;
  /**
   * Extra routing: return false to keep an alert away from a channel (after `minSeverity`).
   * @defaultValue every alert goes to every channel whose `minSeverity` it meets
   */
  readonly route?: (alert: Alert, channel: Channel) => boolean;
  /** Retry policy for retryable failures. */
  readonly retry?: RetryOptions;
  /**
   * Rate limit of channels that declare none.
   * @defaultValue `{ perSecond: 1, burst: 3 }`
   */
  readonly rateLimit?: RateLimit;
  /** Per-channel rate limits by channel name; they win over the channel's own `rateLimit`. */
  readonly rateLimits?: Readonly<Record<string, RateLimit>>;
  /**
   * Notifications waiting per channel. Without an outbox, beyond it new ones are dropped
   * with a `'suppressed'` event (`reason: 'rate-limit'`); with one, they wait in the
   * outbox and are queued as the channel catches up.
   * @defaultValue `1000`
   */
  readonly maxQueue?: number;
  /**
   * Keys whose dedup state is remembered; the least recently seen is forgotten first.
   * @defaultValue `10_000`
   */
  readonly maxKeys?: number;
  /**
   * How long a key's dedup state is kept after it was last seen, in ms (a resolved
   * notice after that goes nowhere). At least `repeatInterval`.
   * @defaultValue `86_400_000` (24 h)
   */
  readonly stateTtl?: number;
  /**
   * Deadline of one `send()` attempt, in ms; its `signal` aborts then and the attempt counts as a timeout.
   * @defaultValue `30_000`
   */
  readonly sendTimeout?: number;
  /**
   * How long `stop()` keeps delivering before it gives up and persists what is left, in ms.
   * @defaultValue `10_000`
   */
  readonly stopTimeout?: number;
  /**
   * Source of jitter in [0, 1).
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
}

/** @internal */
export interface ResolvedNotifierOptions {
  readonly channels: readonly Channel[];
  readonly outbox: Required<OutboxOptions> | undefined;
  readonly groupWait: number;
  readonly groupBy: (alert: Alert) => string;
  readonly maxGroupSize: number;
  readonly repeatInterval: number;
  readonly route: ((alert: Alert, channel: Channel) => boolean) | undefined;
  readonly retry: Required<RetryOptions>;
  readonly rateLimitFor: (channel: Channel) => RateLimit;
  readonly maxQueue: number;
  readonly maxKeys: number;
  readonly stateTtl: number;
  readonly sendTimeout: number;
  readonly stopTimeout: number;
  readonly clock: () => number;
  readonly random: () => number;
}

const HOUR = 3_600_000;

const NOTIFIER_KEYS = [
  ...SHARED_OPTION_KEYS,
  'channels',
  'outbox',
  'groupWait',
  'groupBy',
  'maxGroupSize',
  'repeatInterval',
  'route',
  'retry',
  'rateLimit',
  'rateLimits',
  'maxQueue',
  'maxKeys',
  'stateTtl',
  'sendTimeout',
  'stopTimeout',
  'random',
] as const;

/** Validates the options once and freezes the result. @internal */
export function resolveNotifierOptions(options: NotifierOptions): ResolvedNotifierOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('Notifier', options, NOTIFIER_KEYS);
  checkSharedOptions(options);
  const channels = expectArray('channels', options.channels, { nonEmpty: true }) as readonly Channel[];
  const names = new Set<string>();
  channels.forEach((channel, i) => {
    if (typeof channel !== 'object' || channel === null || typeof channel.send !== 'function') {
      throw new InvalidOptionError(`channels[${i}]`, channel, 'a Channel (an object with name, minSeverity and send())');
    }
    expectString(`channels[${i}].name`, channel.name);
    if (names.has(channel.name)) throw new InvalidOptionError(`channels[${i}].name`, channel.name, 'a name no other channel has');
    names.add(channel.name);
    if (channel.rateLimit !== undefined) checkRateLimit(`channels[${i}].rateLimit`, channel.rateLimit);
  });
  const fn = <T>(name: string, value: T | undefined): T | undefined => {
    if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(name, value, 'a function');
    return value;
  };
  const num = (name: string, value: number | undefined, fallback: number, min: number, integer = false): number =>
    value === undefined ? fallback : expectNumber(name, value, { min, integer });
  // Durations become timer delays: milliseconds or text ('90s', '4h'), at most ~24.8 days.
  const ms = (name: string, value: number | string | undefined, fallback: number, min = 0, max = MAX_DELAY_MS): number =>
    value === undefined ? fallback : durationOption(name, value, { min, max });

  let outbox: Required<OutboxOptions> | undefined;
  if (options.outbox !== undefined) {
    if (typeof options.outbox !== 'object' || options.outbox === null) throw new InvalidOptionError('outbox', options.outbox, 'an object with a directory');
    rejectUnknownKeys('Notifier outbox', options.outbox, ['directory', 'ttl', 'maxAttempts', 'compactAfter']);
    outbox = Object.freeze({
      directory: expectString('outbox.directory', options.outbox.directory),
      ttl: ms('outbox.ttl', options.outbox.ttl, 24 * HOUR, 1),
      maxAttempts: num('outbox.maxAttempts', options.outbox.maxAttempts, 1000, 1, true),
      compactAfter: num('outbox.compactAfter', options.outbox.compactAfter, 1000, 1, true),
    });
  }
  const retryIn = options.retry ?? {};
  if (typeof retryIn !== 'object' || retryIn === null) throw new InvalidOptionError('retry', retryIn, 'an object like { maxAttempts, initialDelay, maxDelay, factor }');
  rejectUnknownKeys('Notifier retry', retryIn, ['maxAttempts', 'initialDelay', 'maxDelay', 'factor']);
  const retry = Object.freeze({
    maxAttempts: num('retry.maxAttempts', retryIn.maxAttempts, 6, 1, true),
    initialDelay: ms('retry.initialDelay', retryIn.initialDelay, 1000),
    maxDelay: ms('retry.maxDelay', retryIn.maxDelay, 60_000),
    factor: num('retry.factor', retryIn.factor, 2, 1),
  });
  const defaultLimit = options.rateLimit === undefined ? { perSecond: 1, burst: 3 } : checkRateLimit('rateLimit', options.rateLimit);
  const overrides = options.rateLimits ?? {};
  for (const [name, limit] of Object.entries(overrides)) {
    if (!names.has(name)) throw new InvalidOptionError(`rateLimits.${name}`, limit, 'the rate limit of a configured channel');
    checkRateLimit(`rateLimits.${name}`, limit);
  }
  // Compared with the clock, never waited on: allowed beyond a timer's range.
  const repeatInterval = ms('repeatInterval', options.repeatInterval, 4 * HOUR, 0, Number.MAX_SAFE_INTEGER);
  const stateTtl = ms('stateTtl', options.stateTtl, Math.max(24 * HOUR, repeatInterval), 0, Number.MAX_SAFE_INTEGER);
  if (stateTtl < repeatInterval) throw new InvalidOptionError('stateTtl', stateTtl, `>= repeatInterval (${repeatInterval})`);
  return Object.freeze({
    channels: Object.freeze([...channels]),
    outbox,
    groupWait: ms('groupWait', options.groupWait, 5000),
    groupBy: fn('groupBy', options.groupBy) ?? ((alert: Alert) => `${alert.source}:${alert.rule}`),
    maxGroupSize: num('maxGroupSize', options.maxGroupSize, 100, 1, true),
    repeatInterval,
    route: fn('route', options.route),
    retry,
    rateLimitFor: (channel: Channel) => overrides[channel.name] ?? channel.rateLimit ?? defaultLimit,
    maxQueue: num('maxQueue', options.maxQueue, 1000, 1, true),
    maxKeys: num('maxKeys', options.maxKeys, 10_000, 1, true),
    stateTtl,
    sendTimeout: ms('sendTimeout', options.sendTimeout, 30_000, 1),
    stopTimeout: ms('stopTimeout', options.stopTimeout, 10_000),
    clock: options.clock ?? systemClock,
    random: fn('random', options.random) ?? Math.random,
  });
}

function checkRateLimit(option: string, limit: RateLimit): RateLimit {
  if (typeof limit !== 'object' || limit === null) throw new InvalidOptionError(option, limit, 'an object like { perSecond: 1, burst: 3 }');
  rejectUnknownKeys(option, limit, ['perSecond', 'burst']);
  expectNumber(`${option}.perSecond`, limit.perSecond, { min: Number.MIN_VALUE });
  if (limit.burst !== undefined) expectNumber(`${option}.burst`, limit.burst, { min: 1, integer: true });
  return limit;
}
