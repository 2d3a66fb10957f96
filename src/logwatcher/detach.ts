/**
 * A copy of `s` that does not keep a larger string alive. V8 represents slices of 13 or
 * more characters as views into their parent (for log lines, a whole read chunk), so a
 * kept slice would pin its parent; shorter ones are copies already.
 *
 * @internal
 */
export function detach(s: string): string {
  // Appending, then cutting the end (not prepending and cutting the start): V8 flattens the
  // joined string about a third faster that way.
  return s.length < 13 ? s : (s + ' ').slice(0, -1);
}
