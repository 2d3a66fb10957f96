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
