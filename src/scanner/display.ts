/** The longest path shown in a finding, warning or alert (PATH_MAX on Linux). */
export const MAX_DISPLAY_PATH = 4096;

// C0/C1 controls, DEL, and the Unicode bidi overrides that can make `evil.exe` read as
// `evil.txt` in a terminal or a chat client. U+FFFD marks bytes that were not UTF-8.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/gu;

/**
 * Renders an attacker-controlled file name for humans: control characters, bidi
 * overrides and backslashes become `\xNN` / `\u{NNNN}` / `\\` escapes (so the rendering
 * is unambiguous), and the result is cut at {@link MAX_DISPLAY_PATH} characters.
 *
 * @internal
 */
export function displayPath(path: string): string {
  return displayText(path, MAX_DISPLAY_PATH);
}

/** {@link displayPath}'s escaping for any attacker-influenced text, cut at `max` characters. @internal */
export function displayText(text: string, max: number): string {
  const escaped = text.replace(UNSAFE, (ch) => {
    if (ch === '\\') return '\\\\';
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/**
 * {@link displayPath} for a path given as bytes: valid UTF-8 sequences are decoded, every
 * byte that is not part of one is shown as `\xNN`, so two different names never render
 * the same. @internal
 */
export function displayRawPath(path: string | Buffer): string {
  if (typeof path === 'string') return displayPath(path);
  let out = '';
  let i = 0;
  while (i < path.length) {
    const length = utf8SequenceLength(path, i);
    if (length === 0) {
      out += `\\x${(path[i] as number).toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += displayText(path.toString('utf8', i, i + length), MAX_DISPLAY_PATH);
      i += length;
    }
  }
  return out.length > MAX_DISPLAY_PATH ? `${out.slice(0, MAX_DISPLAY_PATH - 1)}…` : out;
}

/** Whether `path` is valid UTF-8 (so its string form is exact). @internal */
export function isValidUtf8(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; ) {
    const length = utf8SequenceLength(bytes, i);
    if (length === 0) return false;
    i += length;
  }
  return true;
}

// The length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 if the byte there does not start one.
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i] as number;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
