import { InvalidOptionError } from './errors.js';
import type { Logger } from './logger.js';
import { isSeverity, type Severity } from './severity.js';

/**
 * Option checks shared by the components. Each returns the value narrowed, or throws
 * an {@link InvalidOptionError} that names the option and the offending value, e.g.
 * ``Expected `interval` to be a finite number >= 100, got -1``.
 *
 * @internal
 */

/** Bounds for {@link expectNumber}. @internal */
export interface NumberBounds {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/** A finite number within bounds. @internal */
export function expectNumber(option: string, value: unknown, bounds: NumberBounds = {}): number {
  const { min, max, integer = false } = bounds;
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value)) && (min === undefined || value >= min) && (max === undefined || value <= max);
  if (!ok) {
    const parts = [integer ? 'an integer' : 'a finite number'];
    if (min !== undefined) parts.push(`>= ${min}`);
    if (max !== undefined) parts.push(`<= ${max}`);
    throw new InvalidOptionError(option, value, parts.join(' '));
  }
  return value;
}

/** A non-empty string. @internal */
export function expectString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(option, value, 'a non-empty string');
  return value;
}

/** A boolean. @internal */
export function expectBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'a boolean');
  return value;
}

/** One of a fixed set of strings. @internal */
export function expectOneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, value, `one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  }
  return value as T;
}

/** A {@link Severity}. @internal */
export function expectSeverity(option: string, value: unknown): Severity {
  if (!isSeverity(value)) throw new InvalidOptionError(option, value, "one of 'info', 'warning', 'critical'");
  return value;
}

/** An array (optionally non-empty). @internal */
export function expectArray(option: string, value: unknown, { nonEmpty = false } = {}): readonly unknown[] {
  if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
    throw new InvalidOptionError(option, value, nonEmpty ? 'a non-empty array' : 'an array');
  }
  return value;
}

/** An object with `debug`, `info`, `warn` and `error` methods. @internal */
export function expectLogger(option: string, value: unknown): Logger {
  const ok = typeof value === 'object' && value !== null && (['debug', 'info', 'warn', 'error'] as const).every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
  if (!ok) throw new InvalidOptionError(option, value, 'a logger with debug, info, warn and error methods');
  return value as Logger;
}

/** An `AbortSignal`. @internal */
export function expectSignal(option: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) throw new InvalidOptionError(option, value, 'an AbortSignal');
  return value;
}
