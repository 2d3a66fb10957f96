import { constants, createReadStream } from 'node:fs';
import { openNoFollow, writeFileAtomic } from '../core/durable-fs.js';
import { createInterface } from 'node:readline';
import type { ScannedFile } from './types.js';

const HEADER = 'hostwarden-scan-cache 1';

/**
 * Remembers files found clean, keyed by (dev, inode) and valued by (size, mtime, ctime):
 * a file whose five numbers are unchanged was not written to since (ctime moves on any
 * write, chmod or rename of the inode, and cannot be set back by a user), so its content
 * needs no second look. Files with findings are never remembered, so they are reported
 * on every scan. The cache is tied to the detectors' fingerprints: new signatures
 * invalidate it.
 *
 * Costs about 100 bytes of memory per remembered file.
 *
 * @internal
 */
export class ScanCache {
  #previous = new Map<string, string>();
  #next = new Map<string, string>();
  #fingerprint: string;

  constructor(fingerprint: string) {
    this.#fingerprint = fingerprint;
  }

  /** Starts a scan: what the last scan remembered becomes the reference, if the detectors did not change. */
  begin(fingerprint: string): void {
    this.#previous = fingerprint === this.#fingerprint ? this.#next : new Map();
    this.#next = new Map();
    this.#fingerprint = fingerprint;
  }

  /** Whether the file is unchanged and was clean; if so it stays remembered. */
  hit(file: ScannedFile): boolean {
    const key = `${file.dev}:${file.ino}`;
    const value = `${file.size}:${file.mtimeMs}:${file.ctimeMs}`;
    if (this.#previous.get(key) !== value) return false;
    this.#next.set(key, value);
    return true;
  }

  /** Remembers a file found clean in this scan. */
  remember(file: ScannedFile): void {
    this.#next.set(`${file.dev}:${file.ino}`, `${file.size}:${file.mtimeMs}:${file.ctimeMs}`);
  }

  /** Loads a cache file written by {@link ScanCache.save}; a missing or foreign file gives an empty cache. */
  async load(path: string): Promise<void> {
    const previous = new Map<string, string>();
    let fingerprint: string | undefined;
    try {
      // Never through a symlink: a planted cache could otherwise vouch for infected files.
      const handle = await openNoFollow(path, constants.O_RDONLY | constants.O_NONBLOCK);
      const lines = createInterface({ input: createReadStream('', { fd: handle }), crlfDelay: Infinity });
      for await (const line of lines) {
        if (fingerprint === undefined) {
          if (!line.startsWith(`${HEADER} `)) return; // not ours: start afresh, it is only a cache
          fingerprint = line.slice(HEADER.length + 1);
          continue;
        }
        const [key, value] = line.split(' ');
        if (key && value) previous.set(key, value);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (fingerprint === this.#fingerprint) {
      this.#previous = previous;
      this.#next = new Map();
    }
  }

  /**
   * Writes the files remembered in this scan atomically and durably through a pinned
   * parent directory: a random temp name created with `O_EXCL | O_NOFOLLOW` (a symlink
   * planted there is never followed), fsync, rename, fsync of the directory.
   */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, this.#lines(), { mode: 0o600 });
  }

  *#lines(): Generator<string> {
    let buffer = `${HEADER} ${this.#fingerprint}\n`;
    for (const [key, value] of this.#next) {
      buffer += `${key} ${value}\n`;
      if (buffer.length > 1 << 20) {
        yield buffer;
        buffer = '';
      }
    }
    yield buffer;
  }
}
