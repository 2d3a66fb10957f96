import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { sep } from 'node:path';
import { createInterface } from 'node:readline';
import { openNoFollow, writeFileAtomic } from '../core/durable-fs.js';

const HEADER = 'hostwarden-watch-index 1';

/** (dev, inode, size, mtime, ctime) of a path as one string: equal strings mean an unchanged file. @internal */
export function signatureOf(stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs' | 'ctimeMs'>): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/**
 * The index key of a name that is not valid UTF-8: its exact bytes, one char per byte, after
 * a NUL (which no path holds), so it can equal neither a decoded path nor another name's key.
 * @internal
 */
export function rawKey(rawPath: Buffer): string {
  return `\0${rawPath.toString('latin1')}`;
}

interface Entry {
  signature: string;
  /** The crawl generation that last saw the path (see {@link FileIndex.sweep}). */
  seen: number;
}

/** What {@link FileIndex.load} found. @internal */
export interface IndexLoad {
  /** Paths read. */
  readonly entries: number;
  /** Lines that could not be parsed and were skipped. */
  readonly corrupt: number;
  /** Whether the file was written for other detectors (then everything is scanned again). */
  readonly stale: boolean;
}

/**
 * The persistent index: for every path scanned (a name that is not UTF-8 by its bytes, see
 * {@link rawKey}), the (dev, inode, size, mtime, ctime) it
 * had when it was scanned. A crawl compares each file with it: a different or missing
 * entry means the file must be scanned (ctime moves on every write, chmod and rename, and
 * no user can set it back), a path the crawl no longer meets is dropped. Files are added
 * only once scanned, so a crash before a scan means a scan after the restart.
 *
 * Tied to the detectors' fingerprint like the scanner's cache: new signatures mean every
 * file is scanned again.
 *
 * @internal
 */
export class FileIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #fingerprint: string;
  #generation = 0;
  #dirty = false;
  #directories: number | undefined;

  constructor(fingerprint: string) {
    this.#fingerprint = fingerprint;
  }

  /** Directories the last full crawl met (the watch-limit check at start uses it). */
  get directories(): number | undefined {
    return this.#directories;
  }

  set directories(count: number | undefined) {
    if (count === this.#directories) return;
    this.#directories = count;
    this.#dirty = true;
  }

  /** Paths indexed. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether something changed since the last load or save. */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The signature recorded for `path` when it was last scanned. */
  get(path: string): string | undefined {
    return this.#entries.get(path)?.signature;
  }

  /** Records a scanned path. */
  set(path: string, signature: string): void {
    const entry = this.#entries.get(path);
    if (entry?.signature === signature) return;
    this.#entries.set(path, { signature, seen: entry?.seen ?? this.#generation });
    this.#dirty = true;
  }

  /** Forgets a path (deleted, or moved away). */
  delete(path: string): void {
    if (this.#entries.delete(path)) this.#dirty = true;
  }

  /** Starts a crawl: paths it does not {@link FileIndex.mark} are dropped by {@link FileIndex.sweep}. */
  beginCrawl(): void {
    this.#generation++;
  }

  /** The crawl met `path`: keep it. */
  mark(path: string): void {
    const entry = this.#entries.get(path);
    if (entry) entry.seen = this.#generation;
  }

  /**
   * Ends a crawl: drops paths under `roots` that it did not meet, except under
   * `unknown` (directories it could not list, whose contents are not known to be gone).
   * Returns how many were dropped.
   */
  sweep(roots: readonly string[], unknown: readonly string[]): number {
    const under = (path: string, dirs: readonly string[]): boolean => dirs.some((d) => path === d || path.startsWith(d.endsWith(sep) ? d : d + sep));
    // A raw key holds bytes as latin1 chars: compare it with the directories' bytes alike.
    const asBytes = (dirs: readonly string[]): string[] => dirs.map((d) => Buffer.from(d).toString('latin1'));
    const rawRoots = asBytes(roots);
    const rawUnknown = asBytes(unknown);
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.seen >= this.#generation) continue;
      const raw = key.startsWith('\0');
      const path = raw ? key.slice(1) : key;
      if (!under(path, raw ? rawRoots : roots) || under(path, raw ? rawUnknown : unknown)) continue;
      this.#entries.delete(key);
      dropped++;
    }
    if (dropped > 0) this.#dirty = true;
    return dropped;
  }

  /** Loads a file written by {@link FileIndex.save}; a missing file is an empty index. */
  async load(file: string): Promise<IndexLoad> {
    let entries = 0;
    let corrupt = 0;
    let header = 0;
    let stale = false;
    let handle;
    try {
      handle = await openNoFollow(file, constants.O_RDONLY | constants.O_NONBLOCK);
      const lines = createInterface({ input: handle.createReadStream({ autoClose: false }), crlfDelay: Infinity });
      for await (const line of lines) {
        if (header === 0) {
          if (line !== HEADER) return { entries: 0, corrupt: 1, stale: true };
          header = 1;
          continue;
        }
        if (header === 1) {
          header = 2;
          const meta = parseMeta(line);
          if (meta === undefined || meta.fingerprint !== this.#fingerprint) stale = true;
          if (meta?.directories !== undefined) this.#directories = meta.directories;
          if (stale) break;
          continue;
        }
        const tab = line.indexOf('\t');
        const path = tab > 0 ? parsePath(line.slice(tab + 1)) : undefined;
        if (path === undefined) {
          corrupt++;
          continue;
        }
        this.#entries.set(path, { signature: line.slice(0, tab), seen: this.#generation });
        entries++;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: 0, corrupt: 0, stale: false };
      throw error;
    } finally {
      await handle?.close();
    }
    this.#dirty = false;
    return { entries, corrupt, stale };
  }

  /**
   * Writes the index atomically and durably through the core's directory-pinned
   * `writeFileAtomic` (random O_EXCL|O_NOFOLLOW temp name, fsync, rename, fsync of the
   * directory): a crash leaves the old index or the new one, never half of one.
   */
  async save(file: string): Promise<void> {
    const lines = [HEADER, JSON.stringify({ fingerprint: this.#fingerprint, directories: this.#directories ?? null })];
    for (const [path, entry] of this.#entries) lines.push(`${entry.signature}\t${JSON.stringify(path)}`);
    lines.push('');
    await writeFileAtomic(file, lines.join('\n'), { mode: 0o600 });
    this.#dirty = false;
  }
}

function parseMeta(line: string): { fingerprint: string; directories: number | undefined } | undefined {
  try {
    const value = JSON.parse(line) as { fingerprint?: unknown; directories?: unknown };
    if (typeof value.fingerprint !== 'string') return undefined;
    return { fingerprint: value.fingerprint, directories: typeof value.directories === 'number' ? value.directories : undefined };
  } catch {
    return undefined;
  }
}

function parsePath(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' && (value.startsWith('/') || value.startsWith('\0/')) ? value : undefined;
  } catch {
    return undefined;
  }
}
