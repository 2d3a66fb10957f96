import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * Mount points strictly below any of `roots`, from `/proc/self/mountinfo`: with
 * `oneFileSystem` they are neither watched nor crawled (like `find -xdev`). Unknown
 * (no /proc) is an empty list; the crawl's device check still holds.
 *
 * @internal
 */
export async function mountsBelow(roots: readonly string[], procRoot: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(procRoot, 'self/mountinfo'), 'utf8');
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    const point = field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
    if (roots.some((root) => point.startsWith(root.endsWith(sep) ? root : root + sep))) found.push(point);
  }
  return found;
}
