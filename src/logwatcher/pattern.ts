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

/** How many literal prefixes a pattern may have before {@link literalPrefixes} gives up on it. */
export const MAX_PREFIXES = 64;

/**
 * The literal text a `…$` pattern's match must end with, or undefined: the run of plain
 * characters and escaped punctuation just before a final unescaped `$`. The pattern is
 * read forwards, item by item, so that the tail of an escape (`\k<name>`, `\x41`, `\cJ`)
 * is never taken for text; a class, a group, an anchor or a quantifier ends the run.
 * Refuses the `i`, `m` and `v` flags and top-level alternation.
 *
 * @internal
 */
export function literalSuffix(pattern: RegExp): string | undefined {
  const src = pattern.source;
  if (!src.endsWith('$') || pattern.ignoreCase || pattern.multiline || pattern.flags.includes('v') || hasTopLevelAlternation(src)) return undefined;
  const end = src.length - 1;
  let run = '';
  let i = 0;
  while (i < end) {
    const ch = src[i] as string;
    if (ch === '\\') {
      const e = src[i + 1];
      if (e === undefined) return undefined;
      if (e.charCodeAt(0) < 128 && !/[A-Za-z0-9]/.test(e)) {
        run += e;
        i += 2;
        continue;
      }
      // `\d`, `\b`, `\1`, `\k<name>`, `\u{…}`, `\x41`, `\cJ`: not text, and neither is what
      // may belong to them.
      i += 2;
      while (i < end && /[\w<>{}]/.test(src[i] as string)) i++;
      run = '';
      continue;
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? closingParen(src, i) : classEnd(src, i);
      if (close < 0) return undefined;
      i = close + 1;
      run = '';
      continue;
    }
    if ('?*+{'.includes(ch)) {
      // The item before repeats: no text before here is fixed.
      const q = quantifierAt(src, i);
      i += q === undefined ? 1 : q.length;
      run = '';
      continue;
    }
    if ('.^$|)]}'.includes(ch)) {
      i++;
      run = '';
      continue;
    }
    run += ch;
    i++;
  }
  // Past the end: the final `$` was escaped (`\$`), text rather than the end.
  if (i !== end) return undefined;
  return run.length > 0 ? run : undefined;
}

/** A literal a match starts with; `complete`: the analysed part matched exactly this text, so what follows may extend it. */
interface Prefix {
  readonly text: string;
  readonly complete: boolean;
}

/**
 * The literal texts one of which every match of a `^…` pattern begins with, or undefined
 * when that set cannot be told or would be useless (it would hold the empty string).
 * Follows plain characters, escaped punctuation, small plain classes (`[aA]`), groups,
 * alternatives of those, and quantifiers (`?` adds the text without the item; a repeat
 * keeps one copy and ends the prefix). It stops at anything else (classes of many
 * characters, `.`, escapes such as `\s` or `\1`, lookaround, anchors, modifiers), which
 * only makes a prefix shorter: every text returned is a prefix of the match. Refuses
 * the `i` and `m` flags, top-level alternation, and prefix sets larger than
 * {@link MAX_PREFIXES} (it stops before the item that would make one).
 *
 * @internal
 */
export function literalPrefixes(pattern: RegExp): readonly string[] | undefined {
  const src = pattern.source;
  if (!src.startsWith('^') || pattern.ignoreCase || pattern.multiline || hasTopLevelAlternation(src)) return undefined;
  const found = sequencePrefixes(src, 1, src.length, pattern.flags.includes('v'));
  if (found === undefined || found.some((p) => p.text.length === 0)) return undefined;
  // A text that extends another adds nothing: a message starting with it starts with the other.
  const texts = [...new Set(found.map((p) => p.text))];
  return texts.filter((t) => !texts.some((o) => o !== t && t.startsWith(o)));
}

/** All prefixes made incomplete: the analysis stops here. */
function stop(acc: readonly Prefix[]): Prefix[] {
  return acc.map((p) => (p.complete ? { text: p.text, complete: false } : p));
}

/** Prefixes of the sequence src[i, end); undefined when there would be too many. */
function sequencePrefixes(src: string, i: number, end: number, v: boolean): Prefix[] | undefined {
  let acc: Prefix[] = [{ text: '', complete: true }];
  while (i < end && acc.some((p) => p.complete)) {
    const item = itemPrefixes(src, i, end, v);
    if (item === undefined) return stop(acc);
    let { alts, next } = item;
    const q = quantifierAt(src, next);
    if (q !== undefined) {
      next += q.length;
      if (src[next] === '?') next++; // lazy: the same texts
      if (q.max === 0) alts = [{ text: '', complete: true }];
      else if (q.min === 0 && q.max === 1) alts = [...alts, { text: '', complete: true }];
      else if (q.min === 1 && q.max === 1) {
        // `{1}`: the item itself.
      }
      // Repeated: the match starts with one copy (or, when it may be absent, with what follows).
      else alts = [...stop(alts), ...(q.min === 0 ? [{ text: '', complete: true }] : [])];
    }
    const combined: Prefix[] = [];
    for (const a of acc) {
      if (!a.complete) combined.push(a);
      else for (const b of alts) combined.push({ text: a.text + b.text, complete: b.complete });
    }
    if (combined.length > MAX_PREFIXES) return stop(acc);
    acc = combined;
    i = next;
  }
  return acc;
}

/**
 * The prefixes of the item (character, escape, class or group) at src[i], and the offset
 * after it; undefined for an item this analysis does not read.
 */
function itemPrefixes(src: string, i: number, end: number, v: boolean): { alts: Prefix[]; next: number } | undefined {
  const ch = src[i] as string;
  if (ch === '(') {
    const close = closingParen(src, i);
    if (close < 0 || close >= end) return undefined;
    let body = i + 1;
    if (src.startsWith('?:', body)) body += 2;
    else if (src.startsWith('?<', body) && src[body + 2] !== '=' && src[body + 2] !== '!') body = src.indexOf('>', body) + 1;
    // Lookaround and modifier groups.
    else if (src[body] === '?') return undefined;
    const alts = groupPrefixes(src, body, close, v);
    return alts === undefined ? undefined : { alts, next: close + 1 };
  }
  if (ch === '\\') {
    const e = src[i + 1];
    if (e === undefined || e.charCodeAt(0) >= 128 || /[A-Za-z0-9]/.test(e)) return undefined;
    return { alts: [{ text: e, complete: true }], next: i + 2 };
  }
  if (ch === '[') {
    // The v flag's classes nest, subtract and intersect: not read.
    if (v) return undefined;
    const close = classEnd(src, i);
    const set = close < 0 || close >= end ? undefined : classChars(src, i + 1, close);
    if (set === undefined || set.size > 4) return undefined;
    return { alts: [...set].map((c) => ({ text: String.fromCharCode(c), complete: true })), next: close + 1 };
  }
  const code = ch.charCodeAt(0);
  // Syntax, and surrogates: with the u flag a quantifier after a pair repeats the whole character.
  if ('.^$|)]}?*+{'.includes(ch) || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return { alts: [{ text: ch, complete: true }], next: i + 1 };
}

/** The union of the prefixes of the alternatives in src[start, end). */
function groupPrefixes(src: string, start: number, end: number, v: boolean): Prefix[] | undefined {
  const out: Prefix[] = [];
  for (const [from, to] of alternativesOf(src, start, end)) {
    const alt = sequencePrefixes(src, from, to, v);
    if (alt === undefined) return undefined;
    out.push(...alt);
    if (out.length > MAX_PREFIXES) return undefined;
  }
  return out;
}

/**
 * The top-level alternatives of src[start, end) as [from, to) ranges: split at each `|`
 * outside groups and classes (escapes skipped). One range when there is no `|`.
 */
function alternativesOf(src: string, start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let from = start;
  let depth = 0;
  let inClass = false;
  for (let i = start; i < end; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      out.push([from, i]);
      from = i + 1;
    }
  }
  out.push([from, end]);
  return out;
}

/** The quantifier at src[i] (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`), or undefined. */
function quantifierAt(src: string, i: number): { min: number; max: number; length: number } | undefined {
  const q = src[i];
  if (q === '?') return { min: 0, max: 1, length: 1 };
  if (q === '*') return { min: 0, max: Infinity, length: 1 };
  if (q === '+') return { min: 1, max: Infinity, length: 1 };
  if (q !== '{') return undefined;
  const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(src.slice(i, i + 24));
  if (m === null) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : m[3] === '' || m[3] === undefined ? Infinity : Number(m[3]);
  return { min, max, length: m[0].length };
}

function hasTopLevelAlternation(src: string): boolean {
  return alternativesOf(src, 0, src.length).length > 1;
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
  for (const [from, to] of alternativesOf(src, start, end)) {
    const alt = firstOf(src, from, to);
    if (alt === undefined) return undefined;
    for (const c of alt.chars) chars.add(c);
    nullable ||= alt.nullable;
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
