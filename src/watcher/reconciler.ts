import type { Stats } from 'node:fs';
import { crawl, VisitedDirectories, type CrawlOptions } from './crawl.js';
import { rawKey, signatureOf, type FileIndex } from './file-index.js';

/** Why a crawl ran. */
export type ReconcileReason = 'start' | 'interval' | 'watcher-error' | 'burst' | 'stall' | 'overflow' | 'crawl-only' | 'manual';

/** What one reconciliation crawl found, emitted as `'reconciled'`. */
export interface ReconcileReport {
  /** Why it ran. */
  readonly reason: ReconcileReason;
  /** When it started (ms since the epoch, by the watcher's clock). */
  readonly startedAt: number;
  /** How long the crawl took (ms); the scans it queued may finish later. */
  readonly durationMs: number;
  /** Entries (files, links…) met. */
  readonly files: number;
  /** Directories met. */
  readonly directories: number;
  /** Entries new or changed since they were last scanned: queued for a scan. */
  readonly changed: number;
  /**
   * Of those, changes old enough that their event should have arrived and that no event
   * reported: evidence that kernel events were lost (not counted at start, when changes
   * made while the watcher was stopped are expected).
   */
  readonly missed: number;
  /** Paths in the index the crawl no longer met (deleted without an event reaching us). */
  readonly removed: number;
  /** Directories or entries that could not be read (their contents are kept in the index). */
  readonly unreadable: number;
}

/** What a crawl needs from the watcher. @internal */
export interface ReconcileContext {
  readonly roots: readonly string[];
  readonly index: FileIndex;
  readonly crawl: Pick<CrawlOptions, 'isExcluded' | 'oneFileSystem'>;
  readonly signal: AbortSignal;
  readonly clock: () => number;
  /** Whether an event already brought `path` in (waiting to settle, queued, being scanned). */
  isPending(path: string): boolean;
  /** Hands a new or changed entry on; resolves when there is room (backpressure). */
  submit(path: string, stats: Stats): Promise<void>;
  /** Hands a new or changed name that is not valid UTF-8 on (by its bytes). */
  undecodable(rawPath: Buffer, stats: Stats | undefined): void;
  unreadable(path: string, error: NodeJS.ErrnoException): void;
}

// A change younger than this may still have its event on the way (parcel batches events
// for up to 500 ms): not evidence of loss. Events already delivered are seen by isPending.
const EVENT_GRACE_MS = 1000;

/**
 * One reconciliation: crawls every root, compares each entry's (dev, inode, size, mtime,
 * ctime) with the index, hands what is new or changed to the scan pipeline and drops from
 * the index what is gone. Kernel events are only hints; this is what bounds staleness.
 *
 * @internal
 */
export async function reconcile(reason: ReconcileReason, context: ReconcileContext, countMissed: boolean): Promise<ReconcileReport> {
  const startedAt = context.clock();
  const { index } = context;
  index.beginCrawl();
  const visited = new VisitedDirectories();
  const unknown: string[] = [];
  let files = 0;
  let directories = 0;
  let changed = 0;
  let missed = 0;
  let unreadable = 0;
  for (const root of context.roots) {
    for await (const item of crawl(root, { ...context.crawl, visited, signal: context.signal })) {
      if (context.signal.aborted) break;
      switch (item.type) {
        case 'directory':
          directories++;
          break;
        case 'error':
          unreadable++;
          unknown.push(item.path);
          context.unreadable(item.path, item.error);
          break;
        case 'non-utf8': {
          // Indexed by its bytes like any other name, so an unchanged one is not scanned again.
          files++;
          const key = rawKey(item.rawPath);
          index.mark(key);
          if (item.stats !== undefined && index.get(key) === signatureOf(item.stats)) break;
          changed++;
          context.undecodable(item.rawPath, item.stats);
          break;
        }
        case 'entry': {
          files++;
          index.mark(item.path);
          if (index.get(item.path) === signatureOf(item.stats)) break;
          changed++;
          if (countMissed && !context.isPending(item.path) && item.stats.ctimeMs < startedAt - EVENT_GRACE_MS) missed++;
          await context.submit(item.path, item.stats);
          break;
        }
      }
    }
  }
  const removed = context.signal.aborted ? 0 : index.sweep(context.roots, unknown);
  if (!context.signal.aborted) index.directories = directories;
  return { reason, startedAt, durationMs: Math.max(0, context.clock() - startedAt), files, directories, changed, missed, removed, unreadable };
}
