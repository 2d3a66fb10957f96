// A small validator for the JSON config: it reports every problem at once, each named by
// its path (`config.notifier.channels[0].token`), which is what someone fixing a config
// file by hand needs. Secret fields are never echoed back.
import { MAX_DELAY_MS } from '../core/clock.js';
import { formatDuration, parseDuration } from '../core/format.js';

/** One problem in a config file. */
export interface ConfigIssue {
  /** Where: `config.scan.roots[1]`. */
  readonly path: string;
  /** What was expected, and what was found. */
  readonly message: string;
}

/** Validates one value; pushes issues and returns `undefined` when the value is bad. */
export interface Schema<T> {
  /** Human wording of what the schema accepts, used in messages. */
  readonly expected: string;
  /** Checks `value` found at `path`. */
  parse(value: unknown, path: string, issues: ConfigIssue[]): T | undefined;
}

const SECRET_KEYS = /(token|password|secret|pass)$/i;

/** Describes a found value briefly, without ever printing a secret. */
export function describeFound(value: unknown, path: string): string {
  if (SECRET_KEYS.test(path) && value !== undefined && value !== null && value !== '') return `${Array.isArray(value) ? 'an array' : `a ${typeof value}`} (hidden)`;
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return value.toString();
  return `${value as number | bigint | boolean}`;
}

function fail(issues: ConfigIssue[], path: string, expected: string, value: unknown): undefined {
  issues.push({ path, message: `expected ${expected}, got ${describeFound(value, path)}` });
  return undefined;
}

/** A string; non-empty unless `allowEmpty`. */
export function str(options: { allowEmpty?: boolean; pattern?: RegExp; patternText?: string } = {}): Schema<string> {
  const expected = options.patternText ?? (options.allowEmpty ? 'a string' : 'a non-empty string');
  return {
    expected,
    parse(value, path, issues) {
      if (typeof value !== 'string' || (!options.allowEmpty && value.length === 0)) return fail(issues, path, expected, value);
      if (options.pattern && !options.pattern.test(value)) return fail(issues, path, expected, value);
      return value;
    },
  };
}

/** A finite number within bounds. */
export function num(options: { min?: number; max?: number; integer?: boolean } = {}): Schema<number> {
  const parts = [options.integer ? 'an integer' : 'a number'];
  if (options.min !== undefined) parts.push(`>= ${options.min}`);
  if (options.max !== undefined) parts.push(`<= ${options.max}`);
  const expected = parts.join(' ');
  return {
    expected,
    parse(value, path, issues) {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!options.integer || Number.isInteger(value)) &&
        (options.min === undefined || value >= options.min) &&
        (options.max === undefined || value <= options.max);
      return ok ? value : fail(issues, path, expected, value);
    },
  };
}

/** `true` or `false`. */
export function bool(): Schema<boolean> {
  return { expected: 'true or false', parse: (value, path, issues) => (typeof value === 'boolean' ? value : fail(issues, path, 'true or false', value)) };
}

/**
 * A duration: milliseconds, or a string like `'30s'`, `'10m'`, `'1h'`; resolved to ms.
 * With `timer`, the value becomes a timer delay and must fit one Node timer (about 24.8
 * days): longer values are errors, never clamped (a `"25d"` scan interval used to run
 * back-to-back scans).
 */
export function duration(options: { min?: number; timer?: boolean } = {}): Schema<number> {
  const max = options.timer ? MAX_DELAY_MS : undefined;
  const range = [
    options.min !== undefined ? ` of at least ${formatDuration(options.min)}` : '',
    max !== undefined ? ` and at most ${formatDuration(max)} (the longest a timer can wait)` : '',
  ].join('');
  const expected = `a duration (milliseconds or a string like "30s", "10m", "1h")${range}`;
  return {
    expected,
    parse(value, path, issues) {
      const ms = parseDuration(value);
      if (ms === undefined || (options.min !== undefined && ms < options.min) || (max !== undefined && ms > max)) return fail(issues, path, expected, value);
      return ms;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(choices: readonly T[]): Schema<T> {
  const expected = `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
  return {
    expected,
    parse: (value, path, issues) => (typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as T) : fail(issues, path, expected, value)),
  };
}

/** An array whose every item passes `item`. */
export function arr<T>(item: Schema<T>, options: { min?: number } = {}): Schema<T[]> {
  const expected = `an array${options.min ? ` of at least ${options.min}` : ''} of ${item.expected}`;
  return {
    expected,
    parse(value, path, issues) {
      if (!Array.isArray(value) || (options.min !== undefined && value.length < options.min)) return fail(issues, path, expected, value);
      const out: T[] = [];
      let ok = true;
      value.forEach((v: unknown, i) => {
        const parsed = item.parse(v, `${path}[${i}]`, issues);
        if (parsed === undefined) ok = false;
        else out.push(parsed);
      });
      return ok ? out : undefined;
    },
  };
}

/** Either of two schemas (the first that accepts wins); messages use the combined wording. */
export function either<A, B>(a: Schema<A>, b: Schema<B>): Schema<A | B> {
  const expected = `${a.expected} or ${b.expected}`;
  return {
    expected,
    parse(value, path, issues) {
      const scratch: ConfigIssue[] = [];
      const first = a.parse(value, path, scratch);
      if (first !== undefined) return first;
      const second = b.parse(value, path, scratch);
      if (second !== undefined) return second;
      return fail(issues, path, expected, value);
    },
  };
}

/** A field of {@link obj}: its schema and whether it must be present. */
export interface Field {
  readonly schema: Schema<unknown>;
  readonly required: boolean;
}

/** A required field. */
export function required(schema: Schema<unknown>): Field {
  return { schema, required: true };
}

/** An optional field. */
export function optional(schema: Schema<unknown>): Field {
  return { schema, required: false };
}

/**
 * An object with known keys; an unknown key is an error (a typo such as `chanels` must not
 * silently disable a whole section), with a suggestion when one key is close.
 */
export function obj<T>(shape: Record<string, Field>, check?: (value: T, path: string, issues: ConfigIssue[]) => void): Schema<T> {
  const expected = 'an object';
  return {
    expected,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(issues, path, expected, value);
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      const before = issues.length;
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key)) {
          const hint = closest(key, Object.keys(shape));
          issues.push({ path: `${path}.${key}`, message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${Object.keys(shape).join(', ')}` });
        }
      }
      for (const [key, field] of Object.entries(shape)) {
        const v = input[key];
        if (v === undefined) {
          if (field.required) issues.push({ path: `${path}.${key}`, message: `is required: expected ${field.schema.expected}` });
          continue;
        }
        const parsed = field.schema.parse(v, `${path}.${key}`, issues);
        if (parsed !== undefined) out[key] = parsed;
      }
      if (issues.length > before) return undefined;
      check?.(out as T, path, issues);
      return issues.length > before ? undefined : (out as T);
    },
  };
}

/** A tagged union on a `type` key: `{ "type": "slack", … }`. */
export function tagged<T>(variants: Record<string, Schema<T>>): Schema<T> {
  const names = Object.keys(variants);
  const expected = `an object with "type" one of ${names.map((n) => JSON.stringify(n)).join(', ')}`;
  return {
    expected,
    parse(value, path, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(issues, path, expected, value);
      const { type, ...rest } = value as Record<string, unknown>;
      const variant = typeof type === 'string' ? variants[type] : undefined;
      if (variant === undefined) return fail(issues, `${path}.type`, `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`, type);
      const parsed = variant.parse(rest, path, issues);
      return parsed === undefined ? undefined : { type, ...parsed };
    },
  };
}

// Edit distance is enough for catching typos in a few dozen keys.
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
