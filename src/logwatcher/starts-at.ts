/**
 * Whether `line` holds `text` at offset `at`. A loop rather than `line.startsWith(text, at)`:
 * the hot path's lines are slices of a larger string, on which V8 runs startsWith through a
 * runtime call that costs more than comparing the dozen characters a prefix, a program name
 * or a timestamp's minute has.
 *
 * @internal
 */
export function startsAt(line: string, at: number, text: string): boolean {
  if (at + text.length > line.length) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== line.charCodeAt(at + i)) return false;
  return true;
}
