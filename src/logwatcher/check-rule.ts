// Proves, by measurement, that a rule's regular expression runs in time linear in the line
// length. V8's regex engine backtracks: a pattern like `.*? USER=… .*? COMMAND=…$` is cubic,
// and any local user can write a 64 KiB line with `logger`, so one bad rule stalls the
// service. The check builds lines that stress the pattern (its own literal words repeated,
// with and without the separators between them) and times them at growing lengths; it
// judges by growth ratios, not absolute times, so a loaded machine does not fail it.
import { monotonicClock } from '../core/clock.js';
import type { LogRule } from './rule.js';

/** Options of {@link checkRule}. */
export interface CheckRuleOptions {
  /**
   * More stress lines, as builders of a line of about `n` characters (e.g. a line from your
   * own log with one field repeated).
   */
  readonly inputs?: readonly ((n: number) => string)[];
  /**
   * A single match taking longer than this at 8 KiB or less is super-linear by itself
   * (a linear pattern takes well under a millisecond there).
   *
   * @defaultValue 200
   */
  readonly budgetMs?: number;
  /**
   * Try every stress line even after one proved the pattern super-linear.
   *
   * @defaultValue `false`
   */
  readonly all?: boolean;
}

/** What {@link checkRule} measured for one stress line family. */
export interface RuleCheckTiming {
  /** What the stress line repeats (shortened). */
  readonly input: string;
  /** Milliseconds for one match at 1, 8 and 64 KiB (absent when it was stopped earlier). */
  readonly ms: readonly number[];
}

/** The verdict of {@link checkRule}. */
export interface RuleCheck {
  /** The checked rule's id. */
  readonly rule: string;
  /** True when no stress line grew super-linearly. */
  readonly linear: boolean;
  /** One sentence per stress line that grew super-linearly. */
  readonly problems: readonly string[];
  /** What was measured, one entry per stress line family. */
  readonly timings: readonly RuleCheckTiming[];
}

const SIZES = [1024, 8192, 65_536] as const;
/** Growth from 8 to 64 KiB above this is super-linear (linear: 8, quadratic: 64). */
const MAX_RATIO = 20;
/** Below this, a time is too small to tell growth from noise: linear by any reading. */
const NOISE_MS = 1;

/**
 * Times `rule.pattern` on lines built to stress it at 1, 8 and 64 KiB and reports any line
 * family whose time grew super-linearly (64 KiB taking more than 20× the 8 KiB time, or a
 * single match over `budgetMs` at 8 KiB). Blocks for up to a few seconds on a bad pattern.
 *
 * @example
 * const check = checkRule(myRule);
 * if (!check.linear) throw new Error(check.problems.join('\n'));
 */
export function checkRule(rule: LogRule, options: CheckRuleOptions = {}): RuleCheck {
  const budget = options.budgetMs ?? 200;
  const regex = new RegExp(rule.pattern.source, rule.pattern.flags.replace(/[gy]/g, ''));
  const families = [...stressInputs(rule.pattern.source), ...(options.inputs ?? [])];
  const problems: string[] = [];
  const timings: RuleCheckTiming[] = [];
  for (const build of families) {
    const label = shorten(build(48));
    // Exponential patterns blow up within tens of characters: grow slowly there first.
    let blown = false;
    for (let n = 8; n <= 64 && !blown; n += 2) blown = timeOnce(regex, build(n)) > budget;
    if (blown) {
      problems.push(`exponential: a line of under 64 characters repeating ${label} takes over ${budget} ms`);
      timings.push({ input: label, ms: [] });
      if (options.all !== true) break;
      continue;
    }
    // A busy machine can stall one measurement: a verdict of super-linear must hold on
    // three separate measurements.
    let verdict: { ms: number[]; problem: string | undefined } = measure(regex, build, budget, label);
    for (let retry = 0; retry < 2 && verdict.problem !== undefined; retry++) verdict = measure(regex, build, budget, label);
    timings.push({ input: label, ms: verdict.ms });
    if (verdict.problem !== undefined) {
      problems.push(verdict.problem);
      // One confirmed super-linear input is the verdict; the rest would only take long.
      if (options.all !== true) break;
    }
  }
  return Object.freeze({ rule: rule.id, linear: problems.length === 0, problems: Object.freeze(problems), timings: Object.freeze(timings) });
}

function measure(regex: RegExp, build: (n: number) => string, budget: number, label: string): { ms: number[]; problem: string | undefined } {
  const [s1, s8, s64] = SIZES;
  const t1 = best(regex, build(s1));
  const t8 = best(regex, build(s8));
  if (t8 > budget) return { ms: [t1, t8], problem: `super-linear: ${t8.toFixed(1)} ms for 8 KiB repeating ${label} (1 KiB: ${t1.toFixed(2)} ms)` };
  // Already super-linear from 1 to 8 KiB: 64 KiB would take 64x (quadratic) to 512x (cubic)
  // longer again, seconds of blocked event loop, for nothing.
  if (t8 >= NOISE_MS && t8 / Math.max(t1, NOISE_MS / 8) > MAX_RATIO) {
    return { ms: [t1, t8], problem: `super-linear: ${t1.toFixed(2)} ms for 1 KiB, ${t8.toFixed(1)} ms for 8 KiB repeating ${label}` };
  }
  const t64 = best(regex, build(s64));
  const ms = [t1, t8, t64];
  if (t64 >= NOISE_MS && t64 / Math.max(t8, NOISE_MS / 8) > MAX_RATIO) {
    return { ms, problem: `super-linear: ${t8.toFixed(2)} ms for 8 KiB, ${t64.toFixed(1)} ms for 64 KiB repeating ${label}` };
  }
  return { ms, problem: undefined };
}

function timeOnce(regex: RegExp, line: string): number {
  const start = monotonicClock();
  regex.exec(line);
  return monotonicClock() - start;
}

/** The least of a few runs: preemption and GC only ever add time. */
function best(regex: RegExp, line: string): number {
  let least = timeOnce(regex, line);
  for (let i = 0; i < 4 && least < 50; i++) least = Math.min(least, timeOnce(regex, line));
  return least;
}

function shorten(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Line builders that stress a pattern: its literal words (what its quantifiers must scan
 * past) repeated, joined by nothing, by a space, and by a filler character, after the
 * pattern's own start, and ended by a character that makes the match fail late.
 *
 * @internal
 */
export function stressInputs(source: string): ((n: number) => string)[] {
  const words = literals(source);
  const head = source.startsWith('^') ? (literals(source, true)[0] ?? '') : '';
  const families = new Map<string, [start: string, unit: string]>();
  const add = (start: string, unit: string): void => {
    if (unit.length > 0) families.set(`${start}\0${unit}`, [start, unit]);
  };
  // Reach k words into the pattern, then repeat the rest: the quantifiers between the
  // later words are the ones a long line makes backtrack.
  for (const filler of ['', 'x', ' ', 'x ', '1 ']) {
    for (let k = 0; k < words.length; k++) {
      const reach = words.slice(0, k).join(filler) + (k > 0 ? filler : '');
      // What comes before the first word (a user name, a timestamp) is one token here.
      for (const start of new Set([reach, `x${reach}`, `${head}${filler}${reach}`])) {
        add(start, words.slice(k).join(filler) + filler);
        for (let len = 1; len <= 3 && k + len <= words.length; len++) add(start, words.slice(k, k + len).join(filler) + filler);
      }
    }
  }
  for (const filler of [' ', 'a', 'a ', '1.1.1.1 ', ': ', ' ; ', '\t']) {
    add(head, filler);
    add(`${head}x `, filler);
  }
  return [...families.values()].map(([start, unit]) => (n: number): string => {
    const body = unit.repeat(Math.max(1, Math.ceil((n - start.length) / unit.length)));
    return `${start}${body}`.slice(0, n - 1) + '\u0001';
  });
}

/**
 * The runs of literal text in a pattern source, at least two characters long (escapes such
 * as `\.` resolved). With `leading`, only the run the pattern starts with (after `^`).
 */
function literals(source: string, leading = false): string[] {
  const out: string[] = [];
  let run = '';
  const flush = (): void => {
    if (run.length >= 2) out.push(run);
    run = '';
  };
  let i = source.startsWith('^') ? 1 : 0;
  // Group depth, and the depth at which an alternative is being skipped (only the first
  // alternative's words can follow each other in one line).
  let depth = 0;
  let skipFrom = Number.POSITIVE_INFINITY;
  for (; i < source.length; i++) {
    const ch = source[i] as string;
    if (depth >= skipFrom && ch !== '(' && ch !== ')' && ch !== '\\' && ch !== '[') continue;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      i++;
      // A class escape stands for one sample character of its class.
      const sample = SAMPLES[next];
      if (sample !== undefined && !leading) run += sample;
      else if (/[dDwWsSbBnrtfv0-9kpPux]/.test(next)) {
        flush();
        if (leading) break;
      } else run += next;
      continue;
    }
    if (ch === '[') {
      if (leading) break;
      const open = i;
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      // The class stands for one character it matches.
      const sample = classSample(source.slice(open, i + 1));
      if (sample === undefined) flush();
      else run += sample;
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') {
      if (depth === skipFrom) skipFrom = Number.POSITIVE_INFINITY;
      depth--;
    }
    if (ch === '|') {
      flush();
      skipFrom = Math.min(skipFrom, depth);
      continue;
    }
    if (depth >= skipFrom) {
      if (ch === '\\') i++;
      else if (ch === '[') for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (!leading && (ch === '(' || (ch === ')' && !'?*{'.includes(source[i + 1] ?? '')))) {
      // Groups do not end a run: `(?<n>\d+) incorrect` is one run, `1 incorrect`.
      if (ch === '(' && source[i + 1] === '?') i = groupEnd(source, i);
      continue;
    }
    if (ch === '+') continue;
    if ('()|?*+{}.^$'.includes(ch)) {
      // `?`, `*` and `{0,…}` may leave the previous character out: it ends the run.
      if ('?*{'.includes(ch) && source[i - 1] !== ')' && run.length > 0) run = run.slice(0, -1);
      flush();
      if (leading && !(ch === '(' && source[i + 1] === '?' && source[i + 2] === ':')) break;
      if (ch === '(' && source[i + 1] === '?') i = groupEnd(source, i);
      continue;
    }
    run += ch;
  }
  flush();
  return leading ? out.slice(0, 1) : out;
}

/** One character each class escape can match, for building lines. */
const SAMPLES: Readonly<Record<string, string>> = { d: '1', w: 'x', S: 'x', s: ' ', D: 'x', W: ' ' };

/** The index of the last character of a group's opening (`(?:`, `(?<name>`, `(?=`, …). */
function groupEnd(source: string, i: number): number {
  if (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') return source.indexOf('>', i);
  return i + (source[i + 2] === '<' ? 3 : 2);
}

function classSample(cls: string): string | undefined {
  try {
    const re = new RegExp(cls);
    return ['x', '1', 'a', '.', '-', ' ', ':'].find((c) => re.test(c));
  } catch {
    return undefined;
  }
}
