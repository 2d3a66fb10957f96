// Attacker-controlled text (log lines, file names, user names) reaches the terminal here.
// A raw ESC can recolour, move the cursor, retitle the window or (on some terminals) write
// to the clipboard; bidi overrides can make `exe.pdf` read as `fdp.exe`. Everything that is
// not plain printable text is shown as a visible escape instead.

// C0 controls except TAB and LF, DEL, C1 controls, and the Unicode bidi/format characters
// that reorder or hide text.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Makes text safe for a terminal: control characters, ANSI escape sequences and bidi
 * overrides become visible `\xNN` / `\uNNNN` escapes. Line feeds and tabs survive
 * unless `singleLine` is set, in which case they are escaped too.
 */
export function escapeTerminal(text: string, options: { singleLine?: boolean } = {}): string {
  let out = text.replace(UNSAFE, visible);
  if (options.singleLine) out = out.replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return out;
}

/** Shortens text to at most `max` characters, keeping both ends (paths are clearest so). */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return text.slice(0, max);
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}
