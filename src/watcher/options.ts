import { resolve } from 'node:path';
import { InvalidOptionError } from '../core/errors.js';
import type { ComponentOptions } from '../core/lifecycle.js';
import { checkSharedOptions, durationOption, rejectUnknownKeys, SHARED_OPTION_KEYS } from '../core/options.js';
import { expectArray, expectBoolean, expectNumber, expectString } from '../core/validate.js';
import type { ScannerQuarantineOptions } from '../scanner/options.js';
import type { Detector } from '../scanner/types.js';

/** Places where a dropped file is most likely hostile: scanned first. */
export const DEFAULT_PRIORITY_PATHS: readonly string[] = Object.freeze(['/tmp', '/dev/shm', '/var/tmp', '/var/www', '/srv/www', '/srv/http', '/usr/share/nginx/html']);

/** Options of {@link FileWatcher}. */
export interface FileWatcherOptions extends ComponentOptions {
  /** Directories to watch, recursively. Each is resolved once (a symlinked root is followed, nothing below it). */
  readonly roots: readonly string[];
  /**
   * The detectors, as for `FileScanner` (the same defaults).
   * @defaultValue FileScanner's defaults
   */
  readonly detectors?: readonly Detector[];
  /**
   * Globs of paths to leave out, with FileScanner's rules (a glob without `/` matches any
   * name, one starting with `/` the absolute path, others the path relative to the root).
   * @defaultValue `[]`
   */
  readonly exclude?: readonly string[];
  /** Isolate files with a finding at or above `minSeverity` (`'critical'` unless given). */
  readonly quarantine?: ScannerQuarantineOptions;
  /**
   * Where the index (path → dev, inode, size, mtime, ctime of every file scanned) is kept,
   * so that a restart scans only what changed while the watcher was stopped. Without it
   * the index lives in memory and every file is scanned once at start.
   */
  readonly stateFile?: string;
  /**
   * A full crawl compares every file with the index this often (ms): the bound on how
   * long a change whose event was lost can go unscanned. Crawls also run at start, after a
   * watcher error, after an event burst and after an event-loop stall.
   * @defaultValue `300000` (5 minutes)
   */
  readonly reconcileInterval?: number | string;
  /**
   * A file is scanned once its size and mtime stayed the same this long (ms), so a file
   * being written is scanned when it is complete, not half-way.
   * @defaultValue `200`
   */
  readonly settle?: number | string;
  /**
   * A file still changing after this long (ms) is scanned anyway (and again when it settles).
   * @defaultValue `10000`
   */
  readonly maxSettleWait?: number | string;
  /**
   * Directories whose new files are scanned first (with executable content: an execute
   * bit or a name that runs as code).
   * @defaultValue `['/tmp', '/dev/shm', '/var/tmp', '/var/www', '/srv/www', '/srv/http', '/usr/share/nginx/html']`
   */
  readonly priorityPaths?: readonly string[];
  /**
   * Events within one second above which inotify's queue may have overflowed (the kernel
   * drops events then, and no watcher library reports it): a crawl follows the burst.
   * @defaultValue a quarter of `/proc/sys/fs/inotify/max_queued_events` (4096 with the default 16384)
   */
  readonly burstThreshold?: number;
  /**
   * An event-loop stall longer than this (ms) makes the watcher distrust its events and crawl.
   * @defaultValue `1000`
   */
  readonly stallThreshold?: number | string;
  /**
   * In crawl-only mode (no kernel watches: the watch limit, an unsupported platform, or
   * `events: false`), crawls run this often (ms).
   * @defaultValue `60000`
   */
  readonly fallbackInterval?: number | string;
  /**
   * Use kernel events. `false` means crawling only (every `fallbackInterval`).
   * @defaultValue `true`
   */
  readonly events?: boolean;
  /**
   * Files waiting to settle or be scanned at most; past it, hints are dropped and a crawl
   * is scheduled, so a flood of events cannot exhaust memory.
   * @defaultValue `200000`
   */
  readonly maxPending?: number;
  /**
   * Files scanned at once.
   * @defaultValue `64`
   */
  readonly concurrency?: number;
  /**
   * Worker threads that read and hash files (FileScanner's `threads`).
   * @defaultValue FileScanner's default
   */
  readonly threads?: number;
  /**
   * As FileScanner's `maxFileSize`.
   * @defaultValue `104857600`
   */
  readonly maxFileSize?: number;
  /**
   * Stay on the file system of each root (other mounts are neither watched nor crawled).
   * @defaultValue `false` (as FileScanner, and clamscan)
   */
  readonly oneFileSystem?: boolean;
  /**
   * Where /proc is (the inotify limits are read from it).
   * @defaultValue `'/proc'`
   */
  readonly procRoot?: string;
}

/** @internal */
export interface ResolvedWatcherOptions {
  readonly roots: readonly string[];
  readonly detectors: readonly Detector[] | undefined;
  readonly exclude: readonly string[];
  readonly quarantine: ScannerQuarantineOptions | undefined;
  readonly stateFile: string | undefined;
  readonly reconcileInterval: number;
  readonly settle: number;
  readonly maxSettleWait: number;
  readonly priorityPaths: readonly string[];
  readonly burstThreshold: number | undefined;
  readonly stallThreshold: number;
  readonly fallbackInterval: number;
  readonly events: boolean;
  readonly maxPending: number;
  readonly concurrency: number;
  readonly threads: number | undefined;
  readonly maxFileSize: number | undefined;
  readonly oneFileSystem: boolean;
  readonly procRoot: string;
}

const KNOWN_KEYS = [
  'roots',
  'detectors',
  'exclude',
  'quarantine',
  'stateFile',
  'reconcileInterval',
  'settle',
  'maxSettleWait',
  'priorityPaths',
  'burstThreshold',
  'stallThreshold',
  'fallbackInterval',
  'events',
  'maxPending',
  'concurrency',
  'threads',
  'maxFileSize',
  'oneFileSystem',
  'procRoot',
  ...SHARED_OPTION_KEYS,
];

const delay = (name: string, value: unknown, fallback: number, min = 0): number => (value === undefined ? fallback : durationOption(name, value, { min }));

/** Validates the options, naming the first bad one. @internal */
export function resolveWatcherOptions(options: FileWatcherOptions): ResolvedWatcherOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('FileWatcher', options, KNOWN_KEYS);
  checkSharedOptions(options);
  const roots = expectArray('roots', options.roots, { nonEmpty: true }).map((r, i) => resolve(expectString(`roots[${i}]`, r)));
  if (options.quarantine !== undefined && (typeof options.quarantine !== 'object' || options.quarantine === null)) {
    throw new InvalidOptionError('quarantine', options.quarantine, 'an object { into, minSeverity? }');
  }
  return Object.freeze({
    roots,
    detectors: options.detectors === undefined ? undefined : ([...expectArray('detectors', options.detectors)] as Detector[]),
    exclude: expectArray('exclude', options.exclude ?? []).map((g, i) => expectString(`exclude[${i}]`, g)),
    quarantine: options.quarantine,
    stateFile: options.stateFile === undefined ? undefined : resolve(expectString('stateFile', options.stateFile)),
    reconcileInterval: delay('reconcileInterval', options.reconcileInterval, 300_000, 1000),
    settle: delay('settle', options.settle, 200),
    maxSettleWait: delay('maxSettleWait', options.maxSettleWait, 10_000),
    priorityPaths: expectArray('priorityPaths', options.priorityPaths ?? DEFAULT_PRIORITY_PATHS).map((p, i) => resolve(expectString(`priorityPaths[${i}]`, p))),
    burstThreshold: options.burstThreshold === undefined ? undefined : expectNumber('burstThreshold', options.burstThreshold, { min: 1, integer: true }),
    stallThreshold: delay('stallThreshold', options.stallThreshold, 1000, 50),
    fallbackInterval: delay('fallbackInterval', options.fallbackInterval, 60_000, 1000),
    events: options.events === undefined ? true : expectBoolean('events', options.events),
    maxPending: options.maxPending === undefined ? 200_000 : expectNumber('maxPending', options.maxPending, { min: 1, integer: true }),
    concurrency: options.concurrency === undefined ? 64 : expectNumber('concurrency', options.concurrency, { min: 1, max: 4096, integer: true }),
    threads: options.threads === undefined ? undefined : expectNumber('threads', options.threads, { min: 1, max: 256, integer: true }),
    maxFileSize: options.maxFileSize === undefined ? undefined : expectNumber('maxFileSize', options.maxFileSize, { min: 0 }),
    oneFileSystem: options.oneFileSystem === undefined ? false : expectBoolean('oneFileSystem', options.oneFileSystem),
    procRoot: options.procRoot === undefined ? '/proc' : expectString('procRoot', options.procRoot),
  });
}
