import type { ScanSession } from '../scanner/file-scanner.js';
import { rawKey, signatureOf, type FileIndex } from './file-index.js';
import type { Stats } from 'node:fs';
import { ScanQueue, type QueuedScan } from './scan-queue.js';

/** @internal */
export interface ScanRunnerOptions {
  readonly session: ScanSession;
  readonly index: FileIndex;
  /** Files scanned at once. */
  readonly concurrency: number;
  /** The path relative to its watch root (for detectors). */
  readonly relativePath: (path: string) => string;
  /** A scan failed in a way the scanner could not report (no content worker can run). */
  readonly onError: (error: unknown) => void;
  /** A path whose scan was held back while it was being scanned: look at it afresh. */
  readonly recheck: (path: string) => void;
  /** Something finished: room in the queue, maybe idle. */
  readonly changed: () => void;
}

/**
 * Runs the scans: takes the most urgent queued file while fewer than `concurrency` are in
 * flight, never two scans of one path at once (the first may be moving it to the
 * quarantine; the later one waits and is looked at afresh), and records each scanned file
 * in the index with the `lstat` that showed it settled — if it changed since, the next
 * crawl sees another signature and scans it again.
 *
 * @internal
 */
export class ScanRunner {
  readonly #options: ScanRunnerOptions;
  readonly #queue = new ScanQueue();
  readonly #scanning = new Set<string>();
  readonly #deferred = new Map<string, QueuedScan>();
  #scanned = 0;
  #closed = false;

  constructor(options: ScanRunnerOptions) {
    this.#options = options;
  }

  /** Files queued, being scanned, or held back. */
  get size(): number {
    return this.#queue.size + this.#scanning.size + this.#deferred.size;
  }

  /** Files queued. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Files being scanned. */
  get scanning(): number {
    return this.#scanning.size;
  }

  /** Files scanned since start. */
  get scanned(): number {
    return this.#scanned;
  }

  /** Whether `path` is queued, being scanned or held back. */
  has(path: string): boolean {
    return this.#queue.has(path) || this.#scanning.has(path) || this.#deferred.has(path);
  }

  /** Queues a settled file and starts what can start. */
  push(scan: QueuedScan): void {
    if (this.#closed) return;
    this.#queue.push(scan);
    this.#pump();
  }

  /** Drops a queued file (it was deleted). */
  delete(path: string): void {
    this.#queue.delete(path);
  }

  /**
   * Scans a name that is not valid UTF-8 by its exact bytes (not queued: such names are
   * rare) and indexes it by those bytes with the `lstat` it was found with, so a crawl
   * passes over it while it stays unchanged.
   */
  scanRaw(rawPath: Buffer, stats: Stats | undefined): void {
    const key = rawKey(rawPath);
    if (this.#closed || this.#scanning.has(key)) return;
    const path = rawPath.toString('utf8');
    this.#run(key, async () => {
      await this.#options.session.inspect(path, this.#options.relativePath(path), rawPath);
      if (stats !== undefined) this.#options.index.set(key, signatureOf(stats));
    });
  }

  /** Stops taking work; resolves once the scans in flight have finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    this.#deferred.clear();
    while (this.#scanning.size > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  readonly #drained: (() => void)[] = [];

  #pump(): void {
    while (this.#scanning.size < this.#options.concurrency && !this.#closed) {
      const next = this.#queue.shift();
      if (!next) break;
      const { path, stats } = next;
      if (this.#scanning.has(path)) {
        this.#deferred.set(path, next);
        continue;
      }
      this.#run(path, async () => {
        await this.#options.session.inspect(path, this.#options.relativePath(path));
        this.#options.index.set(path, signatureOf(stats));
      });
    }
  }

  #run(key: string, scan: () => Promise<unknown>): void {
    this.#scanning.add(key);
    scan()
      .then(() => void this.#scanned++)
      .catch((error: unknown) => {
        if (!this.#closed) this.#options.onError(error);
      })
      .finally(() => {
        this.#scanning.delete(key);
        const held = this.#deferred.delete(key);
        if (held && !this.#closed) this.#options.recheck(key);
        if (this.#scanning.size === 0) for (const wake of this.#drained.splice(0)) wake();
        this.#pump();
        this.#options.changed();
      });
  }
}
