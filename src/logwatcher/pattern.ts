// Static analysis of rule patterns, done once per rule so the per-line path can skip
// regular expressions: literal anchors, possible first characters, a sticky variant, and
// named groups turned into numbered ones.

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

/** `^body` → /body/y, when that means the same thing at a given lastIndex. @internal */
export function stickyVariant(source: string, flags: string): RegExp | undefined {
  if (!source.startsWith('^') || flags.includes('m') || source.includes('(?<=') || source.includes('(?<!') || hasTopLevelAlternation(source)) return undefined;
  const body = source.slice(1);
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '^') return undefined;
  }
  return new RegExp(body, `${flags}y`);
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
    if (ch === '(') {
      // A group holding plain text only, `(?<method>publickey)` or `(?:ROOT)`, is part of the anchor.
      const group = literalGroup(src, i);
      if (group === undefined) break;
      [lit, next] = group;
    } else if (ch === '\\') {
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

/** The text of a plain-text group opening at `open` and the offset after it, or undefined. */
function literalGroup(src: string, open: number): [string, number] | undefined {
  let body = open + 1;
  if (src.startsWith('?:', body)) body += 2;
  else if (src.startsWith('?<', body) && src[body + 2] !== '=' && src[body + 2] !== '!') body = src.indexOf('>', body) + 1;
  else if (src[body] === '?') return undefined;
  let text = '';
  for (let i = body; i < src.length; i++) {
    const ch = src[i] as string;
    if (ch === ')') return text.length > 0 ? [text, i + 1] : undefined;
    if (ch === '\\') {
      const e = src[i + 1];
      if (e === undefined || /[A-Za-z0-9]/.test(e)) return undefined;
      text += e;
      i++;
    } else if (META.has(ch)) return undefined;
    else text += ch;
  }
  return undefined;
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
 * cannot be told (no `^`, a negated class, a dot, `\s`, lookaround, the `i` or `m` flag…).
 * Understands literals, escaped punctuation, `\d`, `\w`, plain classes such as `[aA]` or
 * `[a-z]`, counted repeats, groups with alternatives, and optional leading items such as
 * `^(?:error: )?maximum`.
 *
 * @internal
 */
export function firstChars(pattern: RegExp): ReadonlySet<number> | undefined {
  const src = pattern.source;
  // The `v` flag's classes nest (`[[^a]]`) and subtract: not read here.
  if (!src.startsWith('^') || pattern.ignoreCase || pattern.multiline || pattern.flags.includes('v') || hasTopLevelAlternation(src)) return undefined;
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
      const e = charsOfEscape(src[i + 1]);
      if (e === undefined) return undefined;
      item = { chars: e, nullable: false };
      next = i + 2;
    } else if (ch === '[') {
      const close = classEnd(src, i);
      const set = close < 0 ? undefined : classChars(src, i + 1, close);
      if (set === undefined) return undefined;
      item = { chars: set, nullable: false };
      next = close + 1;
    } else if ('.$^|)?*+{}'.includes(ch)) return undefined;
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
    else if (q === '{') {
      // {n}, {n,} and {n,m}: optional when n is 0.
      const m = /^\{(\d+)(?:,\d*)?\}/.exec(src.slice(next, next + 16));
      if (m === null) return undefined;
      if (Number(m[1]) === 0) nullable = true;
      next += m[0].length;
    }
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

const DIGITS = range(48, 57);
const WORD = new Set([...DIGITS, ...range(65, 90), ...range(97, 122), 95]);

function range(from: number, to: number): Set<number> {
  const out = new Set<number>();
  for (let c = from; c <= to; c++) out.add(c);
  return out;
}

/**
 * The characters `\e` stands for: escaped punctuation, `\d`, `\w`; undefined for
 * anything that may match a character of 128 or above (`\s`, `\D`, `\u…`, …).
 */
function charsOfEscape(e: string | undefined): Set<number> | undefined {
  if (e === undefined) return undefined;
  if (e === 'd') return new Set(DIGITS);
  if (e === 'w') return new Set(WORD);
  if (/[A-Za-z0-9]/.test(e)) return undefined;
  return new Set([e.charCodeAt(0)]);
}

/** The index of the `]` closing the class opened at `open`, or -1. */
function classEnd(src: string, open: number): number {
  for (let i = open + 1; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === ']') return i;
  }
  return -1;
}

/**
 * The characters of a class body src[i, end): plain characters, ranges, escaped
 * punctuation, `\d` and `\w`. Undefined for a negated class or anything else, which may
 * match characters this analysis cannot list.
 */
function classChars(src: string, i: number, end: number): Set<number> | undefined {
  if (src[i] === '^' || i === end) return undefined;
  const chars = new Set<number>();
  while (i < end) {
    // A nested class (the `v` flag's) is more than its characters.
    if (src[i] === '[') return undefined;
    let lo: Set<number> | undefined;
    if (src[i] === '\\') {
      lo = charsOfEscape(src[i + 1]);
      i += 2;
    } else {
      lo = new Set([(src[i] as string).charCodeAt(0)]);
      i++;
    }
    if (lo === undefined) return undefined;
    if (src[i] === '-' && i + 1 < end && lo.size === 1) {
      // A range a-z; its upper end must be a plain character too.
      const hi = src[i + 1] === '\\' ? charsOfEscape(src[i + 2]) : new Set([(src[i + 1] as string).charCodeAt(0)]);
      if (hi === undefined || hi.size !== 1) return undefined;
      const [from] = lo;
      const [to] = hi;
      if (from === undefined || to === undefined || to < from) return undefined;
      lo = range(from, to);
      i += src[i + 1] === '\\' ? 3 : 2;
    }
    for (const c of lo) {
      if (c >= 128) return undefined;
      chars.add(c);
    }
  }
  return chars;
}
