/**
 * How urgent an {@link Alert} or a finding is, from least to most.
 * The order matters: channels and the quarantine compare against a minimum.
 */
export type Severity = 'info' | 'warning' | 'critical';

/** Every {@link Severity}, least urgent first. */
export const SEVERITIES: readonly Severity[] = Object.freeze(['info', 'warning', 'critical']);

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/**
 * Whether a value is one of the three severities (for validating untyped input).
 *
 * @example
 * isSeverity('critical'); // true
 * isSeverity('fatal');    // false
 */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/**
 * Orders two severities: negative when `a` is less urgent than `b`, 0 when equal,
 * positive when more urgent. Usable as an `Array.prototype.sort` comparator.
 *
 * @example
 * ['critical', 'info'].sort(compareSeverity); // ['info', 'critical']
 */
export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[a] - RANK[b];
}

/**
 * Whether `severity` is at least `minimum`, the test every channel and the
 * scanner's quarantine threshold apply.
 *
 * @example
 * isAtLeast('warning', 'warning'); // true
 * isAtLeast('info', 'warning');    // false
 */
export function isAtLeast(severity: Severity, minimum: Severity): boolean {
  return RANK[severity] >= RANK[minimum];
}

/**
 * The more urgent of two severities.
 *
 * @example
 * maxSeverity('info', 'critical'); // 'critical'
 */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}
