// The one place attacker-controlled text (log lines, file names, user names, process names,
// mount points, key IDs) is made safe to show. A raw ESC can recolour, move the cursor or
// retitle a terminal; CR/LF and U+2028/2029 can forge a log entry or a mail header; bidi
// overrides make `exe.pdf` read as `fdp.exe`; zero-width characters hide text. Every one
// of these is rendered as a visible escape, one rendering per character everywhere:
//
//   TAB, LF, CR        → \t \n \r (TAB and LF kept as they are unless `singleLine`)
//   other C0, DEL      → \xNN    (e.g. ESC → \x1b)
//   C1, format, bidi,
//   zero-width, U+2028 → \uNNNN  (e.g. U+202E → \u202e), \u{NNNNN} above U+FFFF
//   a lone surrogate   → \uNNNN
//   a byte that is not UTF-8 (displayPath only) → \xNN with NN ≥ 80, which no character renders as
//
// The channel escapers (Slack, HTML) are built on the same walk, so one cut (`max`) never
// splits an escape, an entity or a surrogate pair.

/** Options of {@link safeText} and the escapers built on it. */
export interface SafeTextOptions {
  /**
   * Escape line feeds and tabs too, for a one-line field (a title, a label, a header).
   * @defaultValue `false`
   */
  readonly singleLine?: boolean;
  /**
   * The longest result in UTF-16 code units, including the closing `…` when cut.
   * @defaultValue no limit
   */
  readonly max?: number;
}

// Which code points are unsafe. C0 except TAB/LF (handled by `singleLine`), DEL, C1,
// soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks,
// line/paragraph separators, bidi embeddings/overrides/isolates, invisible operators and
// deprecated format characters, BOM, interlinear annotations, and the invisible tag block.
function isUnsafe(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0xad ||
    code === 0x61c ||
    code === 0x180e ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x206f) ||
    code === 0xfeff ||
    (code >= 0xfff9 && code <= 0xfffb) ||
    (code >= 0xe0000 && code <= 0xe007f) ||
    (code >= 0xd800 && code <= 0xdfff) // reached only for a lone surrogate
  );
}

// A quick test that lets the common case (plain text) return the input untouched.
// eslint-disable-next-line no-control-regex
const MAYBE_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]/;

/** The visible escape for one unsafe code point. */
function escapeCode(code: number): string {
  if (code === 0x09) return '\\t';
  if (code === 0x0a) return '\\n';
  if (code === 0x0d) return '\\r';
  if (code <= 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/** Maps one (safe) character to its channel rendering, or `undefined` to keep it. */
type Extra = (char: string) => string | undefined;

/** One unit of output: a character or its escape, never split by a cut. */
interface Walk {
  readonly pieces: string[];
  /** Whether input was left over (the output must be cut). */
  readonly more: boolean;
}

function walk(text: string, singleLine: boolean, extra: Extra | undefined, limit: number): Walk {
  const pieces: string[] = [];
  let length = 0;
  let i = 0;
  for (; i < text.length && length <= limit;) {
    const code = text.codePointAt(i) ?? 0;
    const size = code > 0xffff ? 2 : 1;
    const char = text.slice(i, i + size);
    let piece: string;
    if ((code === 0x09 || code === 0x0a) && !singleLine) piece = char;
    else if (isUnsafe(code)) piece = escapeCode(code);
    else piece = extra?.(char) ?? char;
    pieces.push(piece);
    length += piece.length;
    i += size;
  }
  return { pieces, more: i < text.length };
}

/** Joins pieces, cutting on a piece boundary with `…` so the result is at most `max` long. */
function finish({ pieces, more }: Walk, max: number): string {
  let total = 0;
  for (const p of pieces) total += p.length;
  if (!more && total <= max) return pieces.join('');
  if (max < 1) return '';
  let out = '';
  for (const p of pieces) {
    if (out.length + p.length > max - 1) break;
    out += p;
  }
  return `${out}…`;
}

function render(text: string, options: SafeTextOptions, extra?: Extra): string {
  const singleLine = options.singleLine ?? false;
  const max = options.max ?? Infinity;
  if (extra === undefined && text.length <= max && !MAYBE_UNSAFE.test(text)) return text;
  return finish(walk(text, singleLine, extra, max), max);
}

/**
 * Makes attacker-controlled text safe to show anywhere: control characters (C0 and C1,
 * so ANSI escape sequences), bidi overrides, zero-width characters and U+2028/2029 become
 * visible escapes such as `\x1b` or `\u202e`; TAB and LF survive unless `singleLine`.
 * With `max`, the result is cut to at most `max` code units, ending with `…`, never
 * inside an escape or a surrogate pair. Linear in the input (only what fits in `max` is
 * read). Applying it twice changes nothing more.
 *
 * @example
 * safeText('root\x1b[2J\u202egpj.exe'); // 'root\\x1b[2J\\u202egpj.exe'
 * safeText('a\nb', { singleLine: true }); // 'a\\nb'
 * safeText('abcdef', { max: 4 }); // 'abc…'
 */
export function safeText(text: string, options: SafeTextOptions = {}): string {
  return render(text, options);
}

/**
 * {@link safeText} for a terminal or a plain log (the historic name).
 *
 * @example
 * process.stdout.write(`${escapeTerminal(alert.title, { singleLine: true })}\n`);
 */
export function escapeTerminal(text: string, options: SafeTextOptions = {}): string {
  return render(text, options);
}

const SLACK: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const HTML: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * {@link safeText} plus Slack `mrkdwn` escaping: `&`, `<`, `>` become entities, so
 * `<!channel>`, `<@U123>` and `<https://evil|click>` show as text and can neither ping nor
 * link. A cut at `max` never splits an entity.
 *
 * @example
 * escapeSlack('<!channel> & <@U1>'); // '&lt;!channel&gt; &amp; &lt;@U1&gt;'
 */
export function escapeSlack(text: string, options: SafeTextOptions = {}): string {
  return render(text, options, (c) => SLACK[c]);
}

/**
 * {@link safeText} plus HTML escaping for text and attribute values (`& < > " ' \``).
 * A cut at `max` never splits an entity.
 *
 * @example
 * escapeHtml('<script>"x"</script>'); // '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
 */
export function escapeHtml(text: string, options: SafeTextOptions = {}): string {
  return render(text, options, (c) => HTML[c]);
}

/** The longest path {@link displayPath} shows by default (PATH_MAX on Linux). */
export const MAX_DISPLAY_PATH = 4096;

/**
 * Renders a file name for people, unambiguously: {@link safeText} on one line, a
 * backslash shown as `\\`, and — for a `Buffer` name that is not valid UTF-8 — every
 * invalid byte as `\xNN` (NN ≥ 80, which no character renders as), so two different
 * names never look alike. Cut at `max` (default {@link MAX_DISPLAY_PATH}).
 *
 * Keep the exact path (string or Buffer) for file operations; this is for display only.
 *
 * @example
 * displayPath(Buffer.from([0x2f, 0x74, 0xff, 0x0a])); // '/t\\xff\\n'
 */
export function displayPath(path: string | Uint8Array, options: { readonly max?: number } = {}): string {
  const max = options.max ?? MAX_DISPLAY_PATH;
  const backslash: Extra = (c) => (c === '\\' ? '\\\\' : undefined);
  if (typeof path === 'string') return render(path, { singleLine: true, max }, backslash);
  const pieces: string[] = [];
  let length = 0;
  let i = 0;
  while (i < path.length && length <= max) {
    const [code, size] = decodeUtf8At(path, i);
    let piece: string;
    if (code < 0) piece = `\\x${(path[i] ?? 0).toString(16).padStart(2, '0')}`;
    else {
      const char = String.fromCodePoint(code);
      piece = isUnsafe(code) ? escapeCode(code) : (backslash(char) ?? char);
    }
    pieces.push(piece);
    length += piece.length;
    i += size;
  }
  return finish({ pieces, more: i < path.length }, max);
}

/** Whether `bytes` is valid UTF-8 (so the name round-trips through a string). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length;) {
    const [code, size] = decodeUtf8At(bytes, i);
    if (code < 0) return false;
    i += size;
  }
  return true;
}

// Decodes the UTF-8 sequence at `i`: [code point, length], or [-1, 1] for an invalid byte
// (stray continuation, overlong form, surrogate, beyond U+10FFFF, truncated sequence).
function decodeUtf8At(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i] ?? 0;
  if (b0 < 0x80) return [b0, 1];
  let size: number;
  let min: number;
  let code: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) [size, min, code] = [2, 0x80, b0 & 0x1f];
  else if (b0 >= 0xe0 && b0 <= 0xef) [size, min, code] = [3, 0x800, b0 & 0x0f];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [size, min, code] = [4, 0x10000, b0 & 0x07];
  else return [-1, 1];
  if (i + size > b.length) return [-1, 1];
  for (let k = 1; k < size; k++) {
    const c = b[i + k] ?? 0;
    if ((c & 0xc0) !== 0x80) return [-1, 1];
    code = (code << 6) | (c & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return [-1, 1];
  return [code, size];
}

/**
 * Shortens text to at most `max` code units, keeping both ends (paths are clearest so).
 * Apply it to text that is already safe.
 *
 * @example
 * truncateMiddle('/var/lib/very/long/path', 12); // '/var/…g/path'
 */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, max);
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}
