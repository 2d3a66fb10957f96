import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

/**
 * One entry of `files`: a literal path, or a glob split into the literal directory it
 * starts from and the pattern below it.
 * @internal
 */
export type FileSpec =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'glob'; readonly pattern: string; readonly base: string; readonly isMatch: (path: string) => boolean; readonly deep: boolean };

/** Splits `files` into literal paths and globs (absolute, resolved against `cwd`). @internal */
export function parseFileSpec(input: string, cwd: string): FileSpec {
  const absolute = resolve(cwd, input);
  const scan = picomatch.scan(absolute);
  if (!scan.isGlob) return { kind: 'path', path: absolute };
  const base = scan.base === '' ? sep : scan.base;
  return {
    kind: 'glob',
    pattern: absolute,
    base,
    isMatch: picomatch(absolute, { dot: false }),
    deep: scan.glob.includes('**') || scan.glob.includes('/'),
  };
}

/** Compressed rotations never match a glob: their bytes are not log lines. */
const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|lzma|lzo|z|zip|7z|br)$/i;

/**
 * Expands a glob on the file system (Node 20 has no `fs.glob`): walks from the literal
 * base, descending only when the pattern has more segments, never through symbolic
 * links, and returns regular-file candidates in sorted order. Symlinks are left out on
 * purpose: a writable log directory must not be able to point the watcher (often root)
 * at `/etc/shadow`.
 * @internal
 */
export async function expandGlob(spec: Extract<FileSpec, { kind: 'glob' }>, maxDepth = 8): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // missing or unreadable directory: nothing matches now, maybe later
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isFile()) {
        if (!COMPRESSED.test(entry.name) && spec.isMatch(full)) out.push(full);
      } else if (entry.isDirectory() && spec.deep && depth < maxDepth) {
        await walk(full, depth + 1);
      }
    }
  };
  await walk(spec.base, 0);
  return out.sort();
}
