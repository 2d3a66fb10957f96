// One rendering of durations and byte counts for every message, and one parser for the
// durations operators write in configs and flags.

import type { MAX_DELAY_MS } from './clock.js';

const UNITS: readonly (readonly [size: number, unit: string])[] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1000, 's'],
];

/**
 * Formats milliseconds compactly and exactly enough to act on: `850ms`, `1.5s`, `42s`,
 * `1m30s`, `10m`, `1h30m`, `7d`, `1d2h3m4s`. From a minute up, the value is rounded to
 * whole seconds and zero units are left out; the output parses back with
 * {@link parseDuration}.
 *
 * @example
 * formatDuration(90_000); // '1m30s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? 'forever' : String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) {
    const s = Math.round(ms / 100) / 10;
    if (s < 60) return `${s}s`;
  }
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [size, unit] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * Formats a byte count in binary units with one decimal: `512 B`, `1.5 KiB`, `3.2 GiB`.
 *
 * @example
 * formatBytes(1536); // '1.5 KiB'
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${sign}${value} B` : `${sign}${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

const PARSE_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
// Sticky, anchored at each step: linear in the input, which is bounded below as well.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/**
 * Parses a duration the way operators write it: a number of milliseconds (`500`, or the
 * number itself), or units `ms s m h d w` in sequence (`'90s'`, `'10m'`, `'1h30m'`, `'7d'`,
 * `'1.5h'`). Returns `undefined` for anything else (negative, empty, `'10 minutes'`), so
 * the caller can say where the bad value came from. It accepts any length of time; use
 * `durationOption` in ./options.ts for a value that becomes a timer delay (it rejects
 * more than {@link MAX_DELAY_MS}).
 *
 * @example
 * parseDuration('1h30m'); // 5_400_000
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.length === 0 || text.length > 64) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * (PARSE_UNITS[m[2] ?? 'ms'] ?? 1);
    at = PART.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}
