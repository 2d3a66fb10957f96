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
