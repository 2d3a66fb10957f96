import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Severity } from '../core/severity.js';
import { expectArray, expectBoolean, expectLogger, expectNumber, expectSeverity, expectSignal, expectString } from '../core/validate.js';
import { Quarantine } from '../quarantine/quarantine.js';
import { executableDetector } from './detectors/executable.js';
import { extensionDetector } from './detectors/extension.js';
import { EICAR_SIGNATURE, signatureDetector } from './detectors/signature.js';
import type { Detector } from './types.js';

/** Options of {@link FileScanner}. */
export interface FileScannerOptions {
  /** Directories (or single files) to scan. A root that is a symlink is resolved once; nothing below it is followed. */
  readonly roots: readonly string[];
  /**
   * The detectors, run on every entry; each file is read at most once for all of them.
   * @defaultValue `[extensionDetector(), executableDetector(), signatureDetector({ signatures: [EICAR_SIGNATURE] })]`
   */
  readonly detectors?: readonly Detector[];
  /**
   * Globs (picomatch) of paths to leave out. A glob without `/` matches any file or
   * directory name (`node_modules`, `*.log`); one starting with `/` matches the absolute
   * path; others match the path relative to the root (`cache/**`).
   * @defaultValue `[]`
   */
  readonly exclude?: readonly string[];
  /**
   * Files larger than this (bytes) are not read in full (no hashing, no content
   * signatures): they are judged by name and first bytes only and listed in
   * `ScanReport.skipped` as `too-large`, never silently passed as clean.
   * @defaultValue `104857600` (100 MiB)
   */
  readonly maxFileSize?: number;
  /**
   * Stay on the file system of each root (like `find -xdev` or `clamscan
   * --cross-fs=no`); other mounts are then listed as skipped (`other-filesystem`), which
   * means "not everything was scanned". By default file systems mounted below a root are
   * scanned too, as clamscan does; exclude pseudo file systems (`/proc`, `/sys`) when
   * scanning `/`.
   * @defaultValue `false`
   */
  readonly oneFileSystem?: boolean;
  /** Isolate files with a finding at or above `minSeverity`. */
  readonly quarantine?: ScannerQuarantineOptions;
  /**
   * Incremental rescans: remember files found clean, keyed by (dev, inode, size, mtime,
   * ctime), and skip them while unchanged. Kept in memory between `scan()` calls, and in
   * `file` across processes. Changing any detector's configuration invalidates it.
   */
  readonly cache?: ScanCacheOptions;
  /**
   * Files inspected at once (walk, open, head reads); bounds memory together with `chunkSize`.
   * Worker threads get their files in batches of up to 64, one message per batch, and a
   * message between threads costs as much as the syscalls of several files: at 32 the
   * batches stayed around 10 files and the main thread spent a fifth of a scan posting them.
   * @defaultValue `128`
   */
  readonly concurrency?: number;
  /**
   * Worker threads that read, hash and search file contents in parallel.
   * @defaultValue `os.availableParallelism()`
   */
  readonly threads?: number;
  /**
   * Bytes read at once by a worker thread.
   * @defaultValue `1048576` (1 MiB)
   */
  readonly chunkSize?: number;
  /**
   * How many bytes of each chunk are carried into the next for RegExp signatures (a RegExp
   * match longer than this may be missed at a chunk boundary; byte patterns never are).
   * @defaultValue `4096`
   */
  readonly regexOverlap?: number;
  /**
   * Minimum time between two `'progress'` events, in ms (a final one always comes).
   * @defaultValue `500`
   */
  readonly progressInterval?: number;
  /**
   * At most this many skipped paths are kept in the report (all are counted and emitted as events).
   * @defaultValue `10000`
   */
  readonly maxReportedSkips?: number;
  /**
   * At most this many findings are kept in the report (all are counted and emitted as events),
   * so a scan of a huge tree full of executables keeps its memory bounded.
   * @defaultValue `100000`
   */
  readonly maxReportedFindings?: number;
  /** Cancels a running scan: `scan()` rejects with an `AbortedError`. */
  readonly signal?: AbortSignal;
  /**
   * Where diagnostics go.
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * The clock (ms since the epoch), for alert times and durations.
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock;
}

/** The scanner's `cache` option. */
export interface ScanCacheOptions {
  /** Where to keep the cache between processes (written atomically after each scan); in memory only when omitted. */
  readonly file?: string;
}

/** The scanner's `quarantine` option. */
export interface ScannerQuarantineOptions {
  /** A {@link Quarantine}, or the directory for a new one. */
  readonly into: Quarantine | string;
  /**
   * Isolate a file when one of its findings is at least this severe.
   * @defaultValue `'critical'`
   */
  readonly minSeverity?: Severity;
}

/** @internal */
export interface ResolvedScannerOptions {
  readonly roots: readonly string[];
  readonly detectors: readonly Detector[];
  readonly exclude: readonly string[];
  readonly maxFileSize: number;
  readonly oneFileSystem: boolean;
  readonly quarantine: { readonly into: Quarantine; readonly minSeverity: Severity } | undefined;
  readonly cacheFile: string | undefined;
  readonly cacheEnabled: boolean;
  readonly concurrency: number;
  readonly threads: number;
  readonly chunkSize: number;
  readonly regexOverlap: number;
  readonly progressInterval: number;
  readonly maxReportedSkips: number;
  readonly maxReportedFindings: number;
  readonly signal: AbortSignal | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
}

const KNOWN_KEYS = [
  'roots',
  'detectors',
  'exclude',
  'maxFileSize',
  'oneFileSystem',
  'quarantine',
  'cache',
  'concurrency',
  'threads',
  'chunkSize',
  'regexOverlap',
  'progressInterval',
  'maxReportedSkips',
  'maxReportedFindings',
  'signal',
  'logger',
  'clock',
];

/** Validates and freezes the options. @internal */
export function resolveScannerOptions(options: FileScannerOptions): ResolvedScannerOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('FileScanner', options, KNOWN_KEYS);
  const roots = expectArray('roots', options.roots, { nonEmpty: true }).map((r, i) => resolve(expectString(`roots[${i}]`, r)));
  const detectors =
    options.detectors === undefined
      ? [extensionDetector(), executableDetector(), signatureDetector({ signatures: [EICAR_SIGNATURE] })]
      : [...expectArray('detectors', options.detectors)];
  detectors.forEach((d, i) => {
    const ok = typeof d === 'object' && d !== null && typeof (d as Detector).name === 'string' && typeof (d as Detector).inspect === 'function';
    if (!ok) throw new InvalidOptionError(`detectors[${i}]`, d, 'a detector ({ name, inspect, needs? })');
  });
  const exclude = expectArray('exclude', options.exclude ?? []).map((g, i) => expectString(`exclude[${i}]`, g));
  const threads = options.threads === undefined ? Math.max(1, availableParallelism()) : expectNumber('threads', options.threads, { min: 1, max: 256, integer: true });
  let quarantine: ResolvedScannerOptions['quarantine'];
  if (options.quarantine !== undefined) {
    const q = options.quarantine;
    if (typeof q !== 'object' || q === null) throw new InvalidOptionError('quarantine', q, 'an object { into, minSeverity? }');
    const into = q.into instanceof Quarantine ? q.into : new Quarantine({ directory: expectString('quarantine.into', q.into) });
    quarantine = Object.freeze({ into, minSeverity: q.minSeverity === undefined ? 'critical' : expectSeverity('quarantine.minSeverity', q.minSeverity) });
  }
  if (options.cache !== undefined && (typeof options.cache !== 'object' || options.cache === null)) {
    throw new InvalidOptionError('cache', options.cache, 'an object { file? }');
  }
  if (options.quarantine !== undefined) rejectUnknownKeys('FileScanner quarantine', options.quarantine, ['into', 'minSeverity']);
  if (options.cache !== undefined) rejectUnknownKeys('FileScanner cache', options.cache, ['file']);
  return Object.freeze({
    roots,
    detectors: Object.freeze(detectors as Detector[]),
    exclude,
    maxFileSize: options.maxFileSize === undefined ? 100 * 1024 * 1024 : expectNumber('maxFileSize', options.maxFileSize, { min: 0 }),
    oneFileSystem: options.oneFileSystem === undefined ? false : expectBoolean('oneFileSystem', options.oneFileSystem),
    quarantine,
    cacheFile: options.cache?.file === undefined ? undefined : resolve(expectString('cache.file', options.cache.file)),
    cacheEnabled: options.cache !== undefined,
    concurrency: options.concurrency === undefined ? 128 : expectNumber('concurrency', options.concurrency, { min: 1, max: 4096, integer: true }),
    threads,
    chunkSize: options.chunkSize === undefined ? 1 << 20 : expectNumber('chunkSize', options.chunkSize, { min: 4096, max: 64 << 20, integer: true }),
    regexOverlap: options.regexOverlap === undefined ? 4096 : expectNumber('regexOverlap', options.regexOverlap, { min: 0, max: 1 << 20, integer: true }),
    progressInterval: options.progressInterval === undefined ? 500 : expectNumber('progressInterval', options.progressInterval, { min: 0 }),
    maxReportedFindings: options.maxReportedFindings === undefined ? 100_000 : expectNumber('maxReportedFindings', options.maxReportedFindings, { min: 0, integer: true }),
    maxReportedSkips: options.maxReportedSkips === undefined ? 10_000 : expectNumber('maxReportedSkips', options.maxReportedSkips, { min: 0, integer: true }),
    signal: options.signal === undefined ? undefined : expectSignal('signal', options.signal),
    logger: options.logger === undefined ? silentLogger : expectLogger('logger', options.logger),
    clock: options.clock === undefined ? systemClock : clockOption('clock', options.clock),
  });
}
