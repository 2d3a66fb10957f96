import type { Stats } from 'node:fs';
import { extname, sep } from 'node:path';

/** How urgent a scan is: 0 first. @internal */
export type Priority = 0 | 1 | 2;

/** A file waiting for the scanner, with the `lstat` that showed it settled. @internal */
export interface QueuedScan {
  readonly path: string;
  readonly stats: Stats;
  readonly priority: Priority;
}

// Names that run as code where they land: scripts a web server or shell executes, and
// binaries. Mode bits catch the rest of "executable content" (anything chmod +x).
const EXECUTABLE_EXTENSIONS = new Set([
  '.php',
  '.phtml',
  '.php5',
  '.php7',
  '.phar',
  '.jsp',
  '.jspx',
  '.asp',
  '.aspx',
  '.cgi',
  '.pl',
  '.py',
  '.rb',
  '.sh',
  '.bash',
  '.js',
  '.mjs',
  '.cjs',
  '.exe',
  '.dll',
  '.so',
  '.elf',
  '.bin',
  '.ps1',
  '.bat',
  '.cmd',
  '.vbs',
  '.jar',
  '.war',
]);

/**
 * Decides a file's priority: a risky place (`/tmp`, `/dev/shm`, `/var/tmp`, web roots)
 * and executable content (an execute bit, or a name that runs as code) each make a scan
 * more urgent. Both → 0, one → 1, neither → 2.
 *
 * @internal
 */
export function priorityOf(path: string, stats: Stats, riskyDirs: readonly string[]): Priority {
  const risky = riskyDirs.some((dir) => path.startsWith(dir.endsWith(sep) ? dir : dir + sep));
  const executable = (stats.mode & 0o111) !== 0 || EXECUTABLE_EXTENSIONS.has(extname(path).toLowerCase());
  return risky && executable ? 0 : risky || executable ? 1 : 2;
}

/**
 * The files waiting for a scan, most urgent first and in arrival order within a level.
 * A path is queued once: a newer `lstat` replaces the older one (and may raise its
 * priority), so a file written ten times while the scanner is busy is scanned once.
 *
 * @internal
 */
export class ScanQueue {
  readonly #levels: [Map<string, QueuedScan>, Map<string, QueuedScan>, Map<string, QueuedScan>] = [
    new Map<string, QueuedScan>(),
    new Map<string, QueuedScan>(),
    new Map<string, QueuedScan>(),
  ];

  /** Files queued. */
  get size(): number {
    return this.#levels[0].size + this.#levels[1].size + this.#levels[2].size;
  }

  /** Whether `path` is queued. */
  has(path: string): boolean {
    return this.#levels.some((level) => level.has(path));
  }

  /** Queues a scan, or updates the queued one. */
  push(scan: QueuedScan): void {
    let priority = scan.priority;
    for (let p = 0; p < 3; p++) {
      const level = this.#levels[p as Priority];
      if (level.has(scan.path)) {
        // Keep its place when it is already at least as urgent.
        if (p <= priority) {
          level.set(scan.path, { ...scan, priority: p as Priority });
          return;
        }
        level.delete(scan.path);
        priority = Math.min(priority, p) as Priority;
      }
    }
    this.#levels[priority].set(scan.path, { ...scan, priority });
  }

  /** Takes the most urgent scan. */
  shift(): QueuedScan | undefined {
    for (const level of this.#levels) {
      const first = level.entries().next();
      if (!first.done) {
        level.delete(first.value[0]);
        return first.value[1];
      }
    }
    return undefined;
  }

  /** Drops a queued scan (the file was deleted). */
  delete(path: string): void {
    for (const level of this.#levels) level.delete(path);
  }

  /** Drops everything. */
  clear(): void {
    for (const level of this.#levels) level.clear();
  }
}
