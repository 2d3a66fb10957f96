import type { LogMatch, LogRule } from './rule.js';
import { PrefixScan, scanPrefix, timeOf } from './syslog.js';

/** A rule prepared for the hot path. @internal */
interface CompiledRule {
  readonly rule: LogRule;
  /** Literal text the message must start with, derived from a `^literal…` pattern. */
  readonly anchor: string | undefined;
  /** Char codes (< 128) a match can start with; undefined: any. */
  readonly first: ReadonlySet<number> | undefined;
  /** Literals that must all occur in the message. */
  readonly literals: readonly string[];
  readonly regex: RegExp;
  /** Capture index of each named group, in `regex` (which has the names stripped). */
  readonly groups: readonly (readonly [index: number, name: string])[];
}

/** Candidate rules by the message's first character: ASCII codes, then one list for the rest. */
type Dispatch = readonly (readonly CompiledRule[])[];

const REPEATED = 'message repeated ';

function dispatch(rules: readonly CompiledRule[]): Dispatch {
  const table: CompiledRule[][] = [];
  for (let c = 0; c <= 128; c++) table.push(rules.filter((r) => r.first === undefined || (c < 128 && r.first.has(c))));
  return table;
}

/**
 * Matches lines against a rule list: one prefix scan per line, rules picked by program
 * and by the message's first character, then literal anchors and prefilters, and only
 * then a regular expression.
 *
 * @internal
 */
export class LineMatcher {
  readonly #byProgram = new Map<string, Dispatch>();
  /** Rules without a `programs` list: for lines whose program no rule names. */
  readonly #anyProgram: Dispatch;
  /** Every rule: for lines without a recognisable program. */
  readonly #all: Dispatch;
  readonly #scan = new PrefixScan();
  readonly #now: () => number;
  readonly #year: number | undefined;
  #lastProgram = '';
  #lastDispatch: Dispatch;
  /** Epoch ms of the last matched line, set by {@link match}. */
  time = 0;

  constructor(rules: readonly LogRule[], now: () => number, year?: number) {
    const compiled = rules.map(compile);
    this.#all = dispatch(compiled);
    this.#anyProgram = dispatch(compiled.filter((c) => c.rule.programs === undefined));
    const names = new Set(rules.flatMap((r) => r.programs ?? []));
    for (const name of names) {
      this.#byProgram.set(name, dispatch(compiled.filter((c) => c.rule.programs === undefined || c.rule.programs.includes(name))));
    }
    this.#lastDispatch = this.#anyProgram;
    this.#now = now;
    this.#year = year;
  }

  /**
   * Appends the matches of `line` to `out` and returns how many were added.
   * When any matched, {@link time} holds the line's time (its own, else now).
   */
  match(line: string, file: string, lineNumber: number, truncated: boolean, out: LogMatch[]): number {
    const s = this.#scan;
    scanPrefix(line, s);
    let table: Dispatch;
    if (s.progStart < 0) table = this.#all;
    else {
      const len = s.progEnd - s.progStart;
      // Consecutive lines mostly come from the same program: compare in place, no slice.
      if (this.#lastProgram.length === len && line.startsWith(this.#lastProgram, s.progStart)) table = this.#lastDispatch;
      else {
        const program = line.slice(s.progStart, s.progEnd);
        table = this.#byProgram.get(program) ?? this.#anyProgram;
        this.#lastProgram = program;
        this.#lastDispatch = table;
      }
    }

    let start = s.msgStart;
    let end = line.length;
    let repeated = 0;
    if (line.startsWith(REPEATED, start)) {
      const inner = this.#unwrapRepeated(line, start);
      if (inner > 0) {
        repeated = this.#repeatCount;
        start = inner;
        end = line.charCodeAt(end - 1) === 93 ? end - 1 : end;
      }
    }
    const c = line.charCodeAt(start);
    const candidates = (c < 128 ? table[c] : table[128]) as readonly CompiledRule[];
    if (candidates.length === 0) return 0;

    let message: string | undefined;
    let added = 0;
    outer: for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as CompiledRule;
      if (c.anchor !== undefined && !line.startsWith(c.anchor, start)) continue;
      for (let j = 0; j < c.literals.length; j++) if (line.indexOf(c.literals[j] as string, start) < 0) continue outer;
      message ??= line.slice(start, end);
      const m = c.regex.exec(message);
      if (m === null) continue;
      if (added === 0) {
        const t = timeOf(s, line, this.#now(), this.#year);
        this.time = Number.isNaN(t) ? this.#now() : t;
      }
      const fields: Record<string, string> = {};
      for (let k = 0; k < c.groups.length; k++) {
        const [index, name] = c.groups[k] as readonly [number, string];
        const value = m[index];
        if (value !== undefined && value.length > 0) fields[name] = detach(value);
      }
      const result: LogMatch = { rule: c.rule, line: detach(line), file, lineNumber, time: new Date(this.time), fields };
      if (s.progStart >= 0) result.program = line.slice(s.progStart, s.progEnd);
      if (s.pid >= 0) result.pid = s.pid;
      if (repeated > 1) result.repeated = repeated;
      if (truncated) result.truncated = true;
      out.push(result);
      added++;
    }
    return added;
  }

  #repeatCount = 0;

  /**
   * rsyslog folds identical lines into `message repeated N times: [ inner]`; the inner
   * message is what rules must see, and it stands for N lines. Returns the offset of
   * `inner` (count in #repeatCount), or -1.
   */
  #unwrapRepeated(line: string, start: number): number {
  let p = start + REPEATED.length;
  let n = 0;
  const d = p;
  while (p - d < 9) {
    const c = line.charCodeAt(p);
    if (c < 48 || c > 57) break;
    n = n * 10 + c - 48;
    p++;
  }
  if (p === d || !line.startsWith(' times: [', p)) return -1;
  p += 9;
  if (line.charCodeAt(p) === 32) p++;
  this.#repeatCount = n;
  return p;
  }
}

/**
 * A copy of `s` that does not keep a larger string alive. V8 represents slices of
 * 13+ characters as views into their parent (here, a whole 1 MiB read chunk), so a
 * kept match would otherwise pin its chunk.
 */
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function compile(rule: LogRule): CompiledRule {
  const literals = rule.prefilter === undefined ? [] : typeof rule.prefilter === 'string' ? [rule.prefilter] : [...rule.prefilter];
  const flags = rule.pattern.flags.replace(/[gyd]/g, '');
  const numbered = numberGroups(rule.pattern.source);
  return {
    rule,
    anchor: literalAnchor(rule.pattern),
    first: firstChars(rule.pattern),
    literals,
    regex: new RegExp(numbered.source, flags),
    groups: numbered.groups,
  };
}

/**
 * Rewrites `(?<name>…)` groups as plain `(…)` and says which capture index each name
 * got. With named groups V8 builds a `groups` object per match; reading indexes is
 * cheaper. Patterns using `\k<name>` back-references keep their names.
 *
 * @internal
 */
export function numberGroups(src: string): { source: string; groups: [number, string][] } {
  const groups: [number, string][] = [];
  let out = '';
  let index = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i] as string;
    if (ch === '\\') {
      out += src.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') {
      if (src[i + 1] !== '?') index++;
      else if (src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
        const close = src.indexOf('>', i);
        groups.push([++index, src.slice(i + 3, close)]);
        out += '(';
        i = close;
        continue;
      }
    }
    out += ch;
  }
  if (src.includes('\\k<')) {
    // Keep the names for back-references; capture indexes are unchanged by naming.
    return { source: src, groups };
  }
  return { source: out, groups };
}

const META = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);
const QUANTIFIERS = new Set(['?', '*', '+', '{']);

/**
 * The literal text a `^…` pattern's match must begin with, or undefined. Only plain
 * characters and escaped punctuation count; the scan stops at anything else, and the
 * whole anchor is dropped when the pattern has a top-level alternation or the `i`/`m` flag.
 *
 * @internal
 */
export function literalAnchor(pattern: RegExp): string | undefined {
  const src = pattern.source;
  if (!src.startsWith('^') || pattern.ignoreCase || pattern.multiline || hasTopLevelAlternation(src)) return undefined;
  let out = '';
  let i = 1;
  while (i < src.length) {
    const ch = src[i] as string;
    let lit: string;
    let next: number;
    if (ch === '\\') {
      const e = src[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) break;
      lit = e;
      next = i + 2;
    } else if (META.has(ch)) break;
    else {
      lit = ch;
      next = i + 1;
    }
    // A quantified character is optional or repeated: it cannot be part of the anchor.
    if (QUANTIFIERS.has(src[next] ?? '')) break;
    out += lit;
    i = next;
  }
  return out.length > 0 ? out : undefined;
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * The ASCII characters a `^…` pattern's match can start with, or undefined when that
 * cannot be told (no `^`, a class, a dot, `\\s`, lookaround, the `i` or `m` flag…).
 * Understands literals, escaped punctuation, groups with alternatives, and optional
 * leading items such as `^(?:error: )?maximum`.
 *
 * @internal
 */
export function firstChars(pattern: RegExp): ReadonlySet<number> | undefined {
  const src = pattern.source;
  if (!src.startsWith('^') || pattern.ignoreCase || pattern.multiline || hasTopLevelAlternation(src)) return undefined;
  const r = firstOf(src, 1, src.length);
  return r === undefined || r.nullable ? undefined : r.chars;
}

interface First {
  readonly chars: Set<number>;
  readonly nullable: boolean;
}

/** First characters of the sequence src[i, end). */
function firstOf(src: string, i: number, end: number): First | undefined {
  const chars = new Set<number>();
  while (i < end) {
    const ch = src[i] as string;
    let item: First | undefined;
    let next: number;
    if (ch === '(') {
      const close = closingParen(src, i);
      if (close < 0) return undefined;
      let body = i + 1;
      if (src.startsWith('?:', body)) body += 2;
      else if (src.startsWith('?<', body) && src[body + 2] !== '=' && src[body + 2] !== '!') body = src.indexOf('>', body) + 1;
      else if (src[body] === '?') return undefined;
      item = alternatives(src, body, close);
      next = close + 1;
    } else if (ch === '\\') {
      const e = src[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) return undefined;
      item = { chars: new Set([e.charCodeAt(0)]), nullable: false };
      next = i + 2;
    } else if ('.[$^|)?*+{}'.includes(ch)) return undefined;
    else {
      item = { chars: new Set([ch.charCodeAt(0)]), nullable: false };
      next = i + 1;
    }
    if (item === undefined) return undefined;
    const q = src[next];
    let nullable = item.nullable;
    if (q === '?' || q === '*') {
      nullable = true;
      next++;
    } else if (q === '+') next++;
    else if (q === '{') return undefined;
    if (src[next] === '?') next++;
    for (const c of item.chars) if (c >= 128) return undefined;
    for (const c of item.chars) chars.add(c);
    if (!nullable) return { chars, nullable: false };
    i = next;
  }
  return { chars, nullable: true };
}

function alternatives(src: string, start: number, end: number): First | undefined {
  const chars = new Set<number>();
  let nullable = false;
  let from = start;
  let depth = 0;
  let inClass = false;
  for (let i = start; i <= end; i++) {
    const ch = src[i];
    if (i < end) {
      if (ch === '\\') {
        i++;
        continue;
      }
      if (inClass) {
        inClass = ch !== ']';
        continue;
      }
      if (ch === '[') inClass = true;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    if (i === end || (ch === '|' && depth === 0)) {
      const alt = firstOf(src, from, i);
      if (alt === undefined) return undefined;
      for (const c of alt.chars) chars.add(c);
      nullable ||= alt.nullable;
      from = i + 1;
    }
  }
  return { chars, nullable };
}

function closingParen(src: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}
