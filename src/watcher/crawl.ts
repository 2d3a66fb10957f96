import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { sep } from 'node:path';

/** What a crawl yields. @internal */
export type CrawlItem =
  /** Anything but a directory (regular file, symlink, FIFO…), described by its `lstat`. */
  | { readonly type: 'entry'; readonly path: string; readonly relativePath: string; readonly stats: Stats }
  /** A directory that was entered (by its bytes when its path is not valid UTF-8). */
  | { readonly type: 'directory'; readonly path: string | Buffer }
  /** A path that could not be listed or stat'ed; entries under it are unknown. */
  | { readonly type: 'error'; readonly path: string; readonly error: NodeJS.ErrnoException }
  /**
   * A name that is not valid UTF-8: reported by its bytes, never guessed at, with its
   * `lstat` (none when it could not be stat'ed: then it is scanned, and the scanner says why).
   */
  | { readonly type: 'non-utf8'; readonly rawPath: Buffer; readonly stats: Stats | undefined };

/**
 * Directories a crawl entered, by (dev, inode) as numbers: one set of inodes per device.
 * A string key per directory (`"dev:ino"`) cost ~90 bytes each — 9 MB of a 100,000-directory
 * crawl — where a number in a set costs a fraction of that.
 * @internal
 */
export class VisitedDirectories {
  readonly #byDevice = new Map<number, Set<number>>();

  /** Records (dev, ino); false when it was recorded already. */
  add(stats: Pick<Stats, 'dev' | 'ino'>): boolean {
    let inodes = this.#byDevice.get(stats.dev);
    if (inodes === undefined) this.#byDevice.set(stats.dev, (inodes = new Set()));
    if (inodes.has(stats.ino)) return false;
    inodes.add(stats.ino);
    return true;
  }
}

/** @internal */
export interface CrawlOptions {
  /** The scanner's exclusion test: (path relative to the root, absolute path, name). */
  readonly isExcluded: (relativePath: string, absolutePath: string, name: string) => boolean;
  /** Stay on the root's file system. */
  readonly oneFileSystem: boolean;
  /** Directories already crawled (dev:ino), shared by overlapping roots so nothing is crawled twice. */
  readonly visited: VisitedDirectories;
  /** Ends the crawl early. */
  readonly signal?: AbortSignal;
  /** `relativePath` of `dir` under its watch root ('' for the root itself). */
  readonly relativePrefix?: string;
  /** The device `oneFileSystem` keeps to (the root's); default the device of `dir`. */
  readonly rootDev?: number;
}

// lstat calls in flight per directory: enough to keep the thread pool busy, few enough
// that a directory of a million entries does not queue a million requests.
const STAT_BATCH = 64;
const fatal = new TextDecoder('utf-8', { fatal: true });
/** For exclusion patterns only: a lossy reading of a name that is not UTF-8. */
const lossy = new TextDecoder('utf-8');
const SEP = Buffer.from(sep);

/**
 * Walks `dir` depth-first, `lstat`ing every entry (the index needs dev, inode, size,
 * mtime and ctime of each), never following a symlink, never entering another file
 * system when asked not to, never entering a directory twice. Names are read as bytes,
 * so a name that is not valid UTF-8 is reported rather than silently mangled.
 *
 * @internal
 */
export async function* crawl(dir: string, options: CrawlOptions): AsyncGenerator<CrawlItem> {
  let rootStats: Stats;
  try {
    rootStats = await lstat(dir);
  } catch (error) {
    yield { type: 'error', path: dir, error: error as NodeJS.ErrnoException };
    return;
  }
  const prefix = options.relativePrefix ?? '';
  if (!rootStats.isDirectory()) {
    yield { type: 'entry', path: dir, relativePath: prefix, stats: rootStats };
    return;
  }
  const rootDev = options.rootDev ?? rootStats.dev;
  if (!options.visited.add(rootStats)) return;
  yield { type: 'directory', path: dir };
  // A directory whose path is not valid UTF-8 is listed by its bytes, and so is everything
  // under it: an attacker's `/tmp/<bad bytes>/` must not hide the files in it.
  const stack: { path: string | Buffer; relative: string }[] = [{ path: dir, relative: prefix }];
  while (stack.length > 0) {
    if (options.signal?.aborted) return;
    const current = stack.pop() as { path: string | Buffer; relative: string };
    let dirents: Dirent<Buffer>[];
    try {
      dirents = await readdir(current.path, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      yield { type: 'error', path: displayed(current.path), error: error as NodeJS.ErrnoException };
      continue;
    }
    const raw = typeof current.path !== 'string';
    const base = typeof current.path !== 'string' ? Buffer.concat([current.path, SEP]) : current.path.endsWith(sep) ? current.path : current.path + sep;
    const named: { path: string; relative: string; name: string }[] = [];
    const rawDirectories: { path: Buffer; relative: string; stats: Stats }[] = [];
    for (const dirent of dirents) {
      let name: string | undefined;
      if (!raw) {
        try {
          name = fatal.decode(dirent.name);
        } catch {
          name = undefined;
        }
      }
      if (name === undefined || typeof base !== 'string') {
        const rawPath = Buffer.concat([typeof base === 'string' ? Buffer.from(base) : base, dirent.name]);
        const shownName = lossy.decode(dirent.name);
        const relative = current.relative === '' ? shownName : `${current.relative}${sep}${shownName}`;
        if (options.isExcluded(relative, lossy.decode(rawPath), shownName)) continue;
        // Its lstat lets the index tell an unchanged one from a new one, as for any name.
        const stats = await lstat(rawPath).catch((error: unknown) => error as NodeJS.ErrnoException);
        if (stats instanceof Error && stats.code === 'ENOENT') continue;
        if (!(stats instanceof Error) && stats.isDirectory()) {
          if (options.oneFileSystem && stats.dev !== rootDev) continue;
          // Reported after this directory's other undecodable names, as every subdirectory
          // is: a listing of one directory's own names stops at its first subdirectory.
          rawDirectories.push({ path: rawPath, relative, stats });
          continue;
        }
        yield { type: 'non-utf8', rawPath, stats: stats instanceof Error ? undefined : stats };
        continue;
      }
      const relative = current.relative === '' ? name : `${current.relative}${sep}${name}`;
      if (options.isExcluded(relative, base + name, name)) continue;
      named.push({ path: base + name, relative, name });
    }
    for (const sub of rawDirectories) {
      if (!options.visited.add(sub.stats)) continue;
      yield { type: 'directory', path: sub.path };
      stack.push({ path: sub.path, relative: sub.relative });
    }
    for (let i = 0; i < named.length; i += STAT_BATCH) {
      const batch = named.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(batch.map((e) => lstat(e.path).catch((error: unknown) => error as NodeJS.ErrnoException)));
      for (let k = 0; k < batch.length; k++) {
        const entry = batch[k] as { path: string; relative: string };
        const st = stats[k] as Stats | NodeJS.ErrnoException;
        if (!(st instanceof Object) || !('isDirectory' in st)) {
          // Gone since the listing: nothing to index. Anything else is worth a word.
          if (st.code !== 'ENOENT') yield { type: 'error', path: entry.path, error: st };
          continue;
        }
        if (!st.isDirectory()) {
          yield { type: 'entry', path: entry.path, relativePath: entry.relative, stats: st };
          continue;
        }
        if (options.oneFileSystem && st.dev !== rootDev) continue;
        if (!options.visited.add(st)) continue;
        yield { type: 'directory', path: entry.path };
        stack.push({ path: entry.path, relative: entry.relative });
      }
    }
  }
}

/** A path as error reports show it: the text, or the bytes read leniently. */
function displayed(path: string | Buffer): string {
  return typeof path === 'string' ? path : lossy.decode(path);
}
