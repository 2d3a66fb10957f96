/**
 * How long a ban lasts, by how often the same network was banned before: fail2ban's
 * `bantime.increment` (factor, multipliers or a formula), capped by `maxBanTime`.
 */
import { InvalidOptionError } from '../core/errors.js';
import { expectNumber } from '../core/validate.js';
import { durationOption, rejectUnknownKeys } from '../core/options.js';

/** Options of repeat-offender escalation (the `escalation` option of {@link BanManager}). */
export interface EscalationOptions {
  /**
   * Each repeat ban lasts `factor` times the one before: `banTime × factor^(count−1)`.
   * Ignored when `multipliers` or `formula` is given.
   * @defaultValue `2`
   */
  readonly factor?: number;
  /**
   * fail2ban's `bantime.multipliers`: the n-th ban lasts `banTime × multipliers[n−1]`
   * (the last one repeats), e.g. `[1, 2, 4, 8, 16, 32, 64]`.
   */
  readonly multipliers?: readonly number[];
  /** Your own rule: the duration (ms) of ban number `count` (1 for the first). */
  readonly formula?: (count: number, banTime: number) => number;
  /**
   * How long after its last ban ended an offender is forgotten, so the next ban counts
   * from 1 again (ms or text like `'7d'`). Remembered across restarts in the state file.
   * @defaultValue 7 days
   */
  readonly forgetAfter?: number | string;
}

/** The resolved escalation. @internal */
export interface Escalation {
  readonly duration: (count: number, banTime: number, maxBanTime: number) => number;
  readonly forgetAfter: number;
}

const WEEK = 7 * 86_400_000;

/** Validates `escalation` (or `false` for none) into a duration function. @internal */
export function resolveEscalation(value: EscalationOptions | false | undefined): Escalation {
  if (value === false) return { duration: (_count, banTime, max) => Math.min(banTime, max), forgetAfter: WEEK };
  const options = value ?? {};
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('escalation', value, 'an object or false');
  rejectUnknownKeys('BanManager escalation', options, ['factor', 'multipliers', 'formula', 'forgetAfter']);
  const forgetAfter = durationOption('escalation.forgetAfter', options.forgetAfter ?? WEEK, { max: 10 * 365 * 86_400_000 });
  let raw: (count: number, banTime: number) => number;
  if (options.formula !== undefined) {
    if (typeof options.formula !== 'function') throw new InvalidOptionError('escalation.formula', options.formula, 'a function (count, banTime) => ms');
    raw = options.formula;
  } else if (options.multipliers !== undefined) {
    const list = options.multipliers;
    if (!Array.isArray(list) || list.length === 0 || list.some((m) => typeof m !== 'number' || !Number.isFinite(m) || m <= 0)) {
      throw new InvalidOptionError('escalation.multipliers', list, 'a non-empty array of numbers > 0');
    }
    raw = (count, banTime) => banTime * (list[Math.min(count, list.length) - 1] as number);
  } else {
    const factor = expectNumber('escalation.factor', options.factor ?? 2, { min: 1, max: 1000 });
    raw = (count, banTime) => banTime * factor ** Math.min(count - 1, 64);
  }
  return {
    forgetAfter,
    duration(count, banTime, max) {
      const ms = raw(count, banTime);
      // A formula that returns nonsense must not unban anyone early: fall back to banTime.
      const usable = typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : banTime;
      return Math.min(Math.max(usable, 1000), max);
    },
  };
}
