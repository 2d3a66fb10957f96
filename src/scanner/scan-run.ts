// The state of one scan (counters, lists, the read-ahead it learned), kept apart from
// FileScanner so that the class holds the behaviour and this file the bookkeeping.
import type { ContentPool } from './content-pool.js';
import type { ScanCache } from './scan-cache.js';
import type { Detector, ContentNeeds, FileContent, Finding, HashAlgorithm, SkippedPath, SkipReason } from './types.js';
import type { NestedRoot } from './walker.js';

// A first guess of how many head bytes to read with the lstat, until the detectors tell.
export const DEFAULT_PREFETCH = 4096;

// Consecutive files needing the same full read before the next ones are read speculatively.
export const SPECULATE_AFTER = 8;

export const EMPTY_CONTENT: FileContent = Object.freeze({ head: new Uint8Array(0), hashes: Object.freeze({}), matches: Object.freeze([]), complete: false });

export interface Plan {
  readonly detector: Detector;
  readonly needs: ContentNeeds | undefined;
}

export interface Run {
  readonly signal: AbortSignal;
  readonly pool: ContentPool | undefined;
  readonly cache: ScanCache | undefined;
  readonly findings: Finding[];
  findingCount: number;
  readonly skipped: SkippedPath[];
  quarantineFailures: number;
  /** Skips per reason, counted in full (the list is capped). */
  readonly skipCounts: Map<SkipReason, number>;
  readonly quarantined: string[];
  filesScanned: number;
  bytesScanned: number;
  bytesHashed: number;
  directories: number;
  symlinks: number;
  cached: number;
  skippedCount: number;
  lastProgress: number;
  currentPath: string | undefined;
  /** Head bytes the worker reads along with the lstat; tracks the largest head any detector asked for. */
  prefetch: number;
  maxHeadSeen: number;
  /** The full read every recent file needed, asked for with the lstat (see #learn). */
  speculation: { readonly key: string; readonly hashes: HashAlgorithm[]; readonly patterns: number[] } | undefined;
  streak: number;
  lastFullKey: string;
  /** Directories met as entries (no d_type), walked after the roots. */
  readonly extraRoots: NestedRoot[];
  /** Why the scan cannot go on (no content worker can run): the scan rejects with it. */
  fatal: Error | undefined;
  /** Ends the walk early (abort or fatal error). */
  readonly stop: AbortController;
}

/** A fresh {@link Run}. @internal */
export function createRun(init: { signal: AbortSignal; pool: ContentPool; cache: ScanCache | undefined; stop: AbortController; now: number }): Run {
  return {
    signal: init.signal,
    pool: init.pool,
    cache: init.cache,
    findings: [],
    findingCount: 0,
    skipped: [],
    skipCounts: new Map(),
    quarantineFailures: 0,
    quarantined: [],
    filesScanned: 0,
    bytesScanned: 0,
    bytesHashed: 0,
    directories: 0,
    symlinks: 0,
    cached: 0,
    skippedCount: 0,
    lastProgress: init.now,
    currentPath: undefined,
    // With the incremental cache most files are never read, so nothing is prefetched.
    prefetch: init.cache ? 0 : DEFAULT_PREFETCH,
    maxHeadSeen: 0,
    speculation: undefined,
    streak: 0,
    lastFullKey: '',
    extraRoots: [],
    fatal: undefined,
    stop: init.stop,
  };
}
