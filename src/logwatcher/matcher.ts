import type { LogMatch, LogRule } from './rule.js';
import { PrefixScan, scanPrefix, timeOf } from './syslog.js';

/** A rule prepared for the hot path. @internal */
interface CompiledRule {
  readonly rule: LogRule;
  /** Literal text the message must start with, derived from a `^literal…` pattern. */
  readonly anchor: string | undefined;
  /** Literals that must all occur in the message. */
  readonly literals: readonly string[];
  readonly regex: RegExp;
}

/** Where a line came from, for {@link LogMatch}. @internal */
export interface LineInfo {
  readonly file: string;
  readonly lineNumber: number;
  readonly truncated?: boolean | undefined;
}

const REPEATED = 'message repeated ';

/**
 * Matches lines against a rule list: one prefix scan per line, rules picked by program,
 * then anchors and literal prefilters before any regular expression runs.
 *
 * @internal
 */
export class LineMatcher {
  readonly #byProgram = new Map<string, readonly CompiledRule[]>();
  /** Rules without a `programs` list: for lines whose program no rule names. */
  readonly #anyProgram: readonly CompiledRule[];
  /** Every rule: for lines without a recognisable program. */
  readonly #all: readonly CompiledRule[];
  readonly #scan = new PrefixScan();
  readonly #now: () => number;
  readonly #year: number | undefined;
  #lastProgram = '';
  #lastCandidates: readonly CompiledRule[] = [];
  /** Epoch ms of the last matched line, set by {@link match}. */
  time = 0;

  constructor(rules: readonly LogRule[], now: () => number, year?: number) {
    const compiled = rules.map(compile);
    this.#all = compiled;
    this.#anyProgram = compiled.filter((c) => c.rule.programs === undefined);
    const names = new Set(rules.flatMap((r) => r.programs ?? []));
    for (const name of names) {
      this.#byProgram.set(name, compiled.filter((c) => c.rule.programs === undefined || c.rule.programs.includes(name)));
    }
    this.#now = now;
    this.#year = year;
  }

  /**
   * Appends the matches of `line` to `out` and returns how many were added.
   * When any matched, {@link time} holds the line's time (its own, else now).
   */
  match(line: string, info: LineInfo, out: LogMatch[]): number {
    const s = this.#scan;
    scanPrefix(line, s);
    let candidates: readonly CompiledRule[];
    if (s.progStart < 0) candidates = this.#all;
    else {
      const len = s.progEnd - s.progStart;
      // Consecutive lines mostly come from the same program: compare in place, no slice.
      if (this.#lastProgram.length === len && line.startsWith(this.#lastProgram, s.progStart)) candidates = this.#lastCandidates;
      else {
        const program = line.slice(s.progStart, s.progEnd);
        candidates = this.#byProgram.get(program) ?? this.#anyProgram;
        this.#lastProgram = program;
        this.#lastCandidates = candidates;
      }
    }
    if (candidates.length === 0) return 0;

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
      const groups = m.groups;
      if (groups !== undefined) {
        for (const name in groups) {
          const value = groups[name];
          if (value !== undefined && value.length > 0) fields[name] = detach(value);
        }
      }
      const result: LogMatch = { rule: c.rule, line: detach(line), file: info.file, lineNumber: info.lineNumber, time: new Date(this.time), fields };
      if (s.progStart >= 0) result.program = line.slice(s.progStart, s.progEnd);
      if (s.pid >= 0) result.pid = s.pid;
      if (repeated > 1) result.repeated = repeated;
      if (info.truncated === true) result.truncated = true;
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
  return { rule, anchor: literalAnchor(rule.pattern), literals, regex: new RegExp(rule.pattern.source, flags) };
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
