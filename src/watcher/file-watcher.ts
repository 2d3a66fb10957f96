import type { Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { getuid } from 'node:process';
import { sep } from 'node:path';
import type { Alert } from '../core/alert.js';
import type { HostwardenEvents } from '../core/emitter.js';
import { IoError, StateError } from '../core/errors.js';
import { Component, toError } from '../core/lifecycle.js';
import { Quarantine } from '../quarantine/quarantine.js';
import { FileScanner, type QuarantinedEvent, type ScanSession } from '../scanner/file-scanner.js';
import type { Finding } from '../scanner/types.js';
import { exclusionMatcher } from '../scanner/walker.js';
import { EventSource, WatchLimitError } from './event-source.js';
import { FileIndex, rawKey, signatureOf } from './file-index.js';
import { readInotifyLimits, watchBudget, watchLimitMessage, type WatchBudget } from './inotify-limits.js';
import { burstThresholdFor, LossSignals } from './loss-signals.js';
import { mountsBelow } from './mounts.js';
import { resolveWatcherOptions, type FileWatcherOptions, type ResolvedWatcherOptions } from './options.js';
import { reconcile, type ReconcileReason, type ReconcileReport } from './reconciler.js';
import { priorityOf } from './scan-queue.js';
import { ScanRunner } from './scan-runner.js';
import { SettleTracker } from './settle.js';
import { createWarning, type Warning } from '../core/warning.js';
import { safeText } from '../core/text.js';

/** The events of {@link FileWatcher}: FileScanner's payloads, plus health and crawl reports. */
export interface FileWatcherEvents extends HostwardenEvents {
  /** A detector reported something about a file (FileScanner's `Finding`). */
  finding: [finding: Finding];
  /** The finding as an event `Alert` (FileScanner's), for the Notifier. */
  alert: [alert: Alert];
  /** A file was moved into the quarantine. */
  quarantined: [event: QuarantinedEvent];
  /** A reconciliation crawl finished. */
  reconciled: [report: ReconcileReport];
}

/** What the watcher is doing, for status pages and tests. */
export interface WatcherStatus {
  /** `events` (kernel events plus crawls) or `crawl-only`. */
  readonly mode: 'events' | 'crawl-only';
  /** Files waiting to settle. */
  readonly settling: number;
  /** Files waiting for the scanner. */
  readonly queued: number;
  /** Files being scanned. */
  readonly scanning: number;
  /** Whether a crawl is running. */
  readonly reconciling: boolean;
  /** Paths in the index. */
  readonly indexed: number;
  /** Files scanned since start. */
  readonly scanned: number;
}

const STALL_CHECK_MS = 250;
// After a burst or a stall, the crawl waits for this much calm, but never longer than
// BURST_MAX_WAIT_MS after the first sign, so a continuous storm cannot postpone it forever.
const QUIET_MS = 1000;
const BURST_MAX_WAIT_MS = 10_000;
const STATE_SAVE_MS = 30_000;

/**
 * Scans files as they land — a web shell in an upload directory, a miner in /dev/shm —
 * with FileScanner's detectors, worker pool and quarantine, and never misses one for long.
 *
 * Kernel events (inotify through `@parcel/watcher`) are hints that make scans fast; a
 * reconciler gives correctness: a persistent index (path → dev, inode, size, mtime, ctime)
 * compared with a crawl at start (what changed while stopped), every `reconcileInterval`,
 * and whenever events may have been lost — a watcher error, an event burst that may have
 * overflowed inotify's queue, an event-loop stall, a full pending queue. `health()` says
 * `degraded`, with the reason, from the moment loss is suspected until a crawl has caught up.
 *
 * @example
 * const watcher = new FileWatcher({
 *   roots: ['/var/www', '/tmp', '/dev/shm'],
 *   stateFile: '/var/lib/hostwarden/watch.index',
 *   quarantine: { into: '/var/lib/hostwarden/quarantine' }, // critical findings only
 * });
 * watcher.on('finding', (f) => logger.warn(`${f.displayPath}: ${f.reason}`));
 * notifier.attach(watcher);
 * await watcher.start();
 */
export class FileWatcher extends Component<FileWatcherEvents> {
  readonly #options: ResolvedWatcherOptions;
  /** The checks as last set, to tell a change from a repeat. */
  readonly #checks = new Map<string, { readonly ok: boolean; readonly message: string }>();
  #scans: ScanRunner | undefined;
  readonly #abort = new AbortController();
  #roots: readonly string[] = [];
  #ignored: readonly string[] = [];
  #isExcluded: (relativePath: string, absolutePath: string, name: string) => boolean = () => false;
  #session: ScanSession | undefined;
  #index: FileIndex;
  #settle: SettleTracker | undefined;
  #source: EventSource | undefined;
  #mode: 'events' | 'crawl-only' = 'events';
  #signals: LossSignals | undefined;
  #reconciling: Promise<ReconcileReport> | undefined;
  #again: ReconcileReason | undefined;
  #cancelReconcile: (() => void) | undefined;
  #reconcileDue = Number.POSITIVE_INFINITY;
  #reconcileReason: ReconcileReason | undefined;
  #lossFirst: number | undefined;
  /** Checks to clear once a crawl that started after the given time has finished. */
  readonly #clearAfterCrawl = new Map<string, number>();
  #roomWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #restarting = false;
  /** The watch limit that put the watcher in crawl-only mode, if that is why. */
  #watchLimit: WatchBudget | undefined;

  /** @throws {@link InvalidOptionError} naming the first invalid option. */
  constructor(options: FileWatcherOptions) {
    super(options);
    this.#options = resolveWatcherOptions(options);
    this.#index = new FileIndex(fingerprintOf(this.#options));
  }

  /** What the watcher is doing now. */
  get status(): WatcherStatus {
    return {
      mode: this.#mode,
      settling: this.#settle?.size ?? 0,
      queued: this.#scans?.queued ?? 0,
      scanning: this.#scans?.scanning ?? 0,
      reconciling: this.#reconciling !== undefined,
      indexed: this.#index.size,
      scanned: this.#scans?.scanned ?? 0,
    };
  }

  /**
   * Crawls now and resolves to the report once every change it found has been handed to the
   * scanner (a crawl already running is followed by a new one, so changes made before this
   * call are covered).
   */
  async reconcile(): Promise<ReconcileReport> {
    if (this.state !== 'running') throw new StateError('The FileWatcher is not running');
    const running = this.#reconciling;
    if (running) {
      this.#again = 'manual';
      await running.catch(() => {});
    }
    return this.#reconciling ?? this.#runReconcile('manual');
  }

  /** Resolves when nothing is settling, queued, being scanned or crawled. */
  idle(): Promise<void> {
    if (this.#isIdle() || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      // Not every change that ends the work passes through #wakeWaiters (the event source
      // going quiet does not), so a short poll makes sure idle() never waits on a missed wake-up.
      const done = (): void => {
        cancel();
        resolve();
      };
      const cancel = this.setRepeating(() => {
        if (this.#isIdle() || this.stopping) done();
      }, 50);
      this.#idleWaiters.push(done);
    });
  }

  protected override async onStart(): Promise<void> {
    const o = this.#options;
    this.#roots = await Promise.all(
      o.roots.map((root) =>
        realpath(root).catch((error: unknown) => {
          throw new IoError(`Cannot watch ${root}: ${(error as Error).message}`, { cause: error, path: root, syscall: 'realpath' });
        }),
      ),
    );
    const quarantineDir = o.quarantine === undefined ? undefined : o.quarantine.into instanceof Quarantine ? o.quarantine.into.directory : o.quarantine.into;
    const mounts = o.oneFileSystem ? await mountsBelow(this.#roots, o.procRoot) : [];
    this.#ignored = [...mounts, ...(quarantineDir === undefined ? [] : [await realpath(quarantineDir).catch(() => quarantineDir)])];
    const excluded = exclusionMatcher(o.exclude);
    const state = o.stateFile;
    this.#isExcluded = (relative, absolute, name) =>
      (state !== undefined && absolute.startsWith(state)) || this.#ignored.some((dir) => absolute === dir || absolute.startsWith(dir + sep)) || excluded(relative, absolute, name);

    const scanner = new FileScanner({
      roots: this.#roots,
      ...(o.detectors === undefined ? {} : { detectors: o.detectors }),
      exclude: o.exclude,
      ...(o.quarantine === undefined ? {} : { quarantine: o.quarantine }),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
      ...(o.maxFileSize === undefined ? {} : { maxFileSize: o.maxFileSize }),
      logger: this.logger,
      clock: this.clock,
    });
    scanner.on('finding', (finding) => this.emitSafely('finding', finding));
    scanner.on('alert', (alert) => this.emitSafely('alert', alert));
    scanner.on('quarantined', (event) => this.emitSafely('quarantined', event));
    // The scanner logged it already (it has our logger): only re-emit.
    scanner.on('warning', (warning) => this.emitWarning(warning));
    scanner.on('error', (error) => this.emitError(error));
    const session = await scanner.openSession(this.#abort.signal, { persistent: this.persistent });
    this.#session = session;
    this.#scans = new ScanRunner({
      session,
      index: this.#index,
      concurrency: o.concurrency,
      relativePath: (path) => path.slice((this.#rootOf(path) ?? '').length + 1),
      onError: (error) => this.emitError(toError(error)),
      recheck: (path) => this.#settle?.observe(path),
      changed: () => this.#wakeWaiters(),
    });

    if (state !== undefined) await this.#loadIndex(state);
    this.#settle = new SettleTracker({
      settleMs: o.settle,
      maxWaitMs: o.maxSettleWait,
      clock: this.clock,
      setTimer: (callback, ms) => this.setTimer(callback, ms),
      onStable: (path, stats) => this.#settled(path, stats),
      onGone: (path, error) => this.#gone(path, error),
    });

    const limits = await readInotifyLimits(o.procRoot);
    this.#signals = new LossSignals({
      clock: this.clock,
      burstThreshold: o.burstThreshold ?? burstThresholdFor(limits.maxQueuedEvents),
      stallThreshold: o.stallThreshold,
      tickMs: STALL_CHECK_MS,
      onLoss: (reason, message) => this.#suspectLoss(reason, message),
    });
    if (o.events) await this.#subscribe('start');
    else this.#crawlOnly('kernel events are turned off (`events: false`)');

    this.setRepeating(() => this.#signals?.tick(), STALL_CHECK_MS);
    if (state !== undefined) this.setRepeating(() => void this.#saveIndex(), STATE_SAVE_MS);
    this.#setCheck('reconcile', true, 'initial crawl running');
    void this.#runReconcile('start');
  }

  protected override async onStop(): Promise<void> {
    this.#abort.abort();
    this.#cancelReconcile?.();
    await this.#source?.stop();
    this.#settle?.close();

    await this.#reconciling?.catch(() => {});
    // Let the scans in flight finish: their results belong in the index.
    await this.#scans?.close();
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await this.#session?.close();
    if (this.#options.stateFile !== undefined) await this.#saveIndex();
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  // ——— kernel events ———

  async #subscribe(reason: 'start' | 'restart'): Promise<boolean> {
    const o = this.#options;
    const needed = this.#index.directories;
    const uid = getuid?.() ?? 0;
    const budget = await watchBudget(o.procRoot, uid);
    if (needed !== undefined && budget !== undefined && needed > budget.limit - budget.inUse) {
      this.#watchLimit = budget;
      this.#crawlOnly(watchLimitMessage(needed, budget));
      return false;
    }
    const source = new EventSource({
      roots: this.#roots,
      ignorePaths: this.#ignored,
      crawl: { isExcluded: this.#excludedAbsolute, oneFileSystem: o.oneFileSystem },
      maxAuxiliary: 256,
      persistent: this.persistent,
      handlers: {
        changed: (path, stats) => this.#hint(path, stats),
        deleted: (path) => this.#deleted(path),
        undecodable: (raw, stats) => this.#undecodable(raw, stats),
        batch: (count) => this.#signals?.countEvents(count),
        failed: (error) => void this.#watcherFailed(error),
        quiet: () => this.#wakeWaiters(),
      },
    });
    try {
      await source.start();
    } catch (error) {
      if (error instanceof WatchLimitError) {
        // Not parcel's message: it names a directory, and names are the attacker's to choose.
        // Without a count from an earlier crawl, the first crawl supplies it (#afterCrawl).
        this.#watchLimit = (await watchBudget(o.procRoot, uid)) ?? budget ?? { name: 'fs.inotify.max_user_watches', limit: Number.NaN, inUse: 0 };
        this.#crawlOnly(watchLimitMessage(needed, this.#watchLimit));
        return false;
      }
      this.#crawlOnly(`cannot watch for kernel events: ${safeText(toError(error).message)}`);
      return false;
    }
    if (this.stopping) {
      await source.stop();
      return false;
    }
    // A resubscription racing another (a fallback crawl's and a failure's) must not leave
    // the loser's subscriptions open: they would hold the process and double every event.
    const previous = this.#source;
    this.#source = source;
    if (previous !== undefined) void previous.stop();
    this.#mode = 'events';
    this.#watchLimit = undefined;
    if (reason === 'start') this.#setCheck('watch', true, `watching ${this.#roots.length} root${this.#roots.length === 1 ? '' : 's'} for kernel events`);
    return true;
  }

  #crawlOnly(reason: string, warn = true): void {
    this.#mode = 'crawl-only';
    const message = `crawling only, every ${Math.round(this.#options.fallbackInterval / 1000)} s: ${reason}`;
    // Once per reason: each fallback crawl tries to subscribe again and may land here again.
    if (warn && this.#checks.get('watch')?.message !== message) this.#warn(createWarning('crawl-only', `FileWatcher falls back to crawling only: ${reason}`));
    this.#setCheck('watch', false, message);
  }

  async #watcherFailed(error: Error): Promise<void> {
    if (this.stopping || this.#restarting) return;
    this.#restarting = true;
    try {
      this.#setCheck('watch', false, `the kernel watcher failed (${error.message}); restarting`);
      this.#warn(createWarning('watcher-restarted', `The kernel watcher failed and is restarted; a crawl follows: ${error.message}`, { cause: error }));
      const old = this.#source;
      this.#source = undefined;
      await old?.stop();
      if (this.stopping) return;
      if (await this.#subscribe('restart')) {
        this.#setCheck('watch', false, `watcher restarted after: ${error.message}`);
        this.#clearAfterCrawl.set('watch', this.clock());
      }
      this.#requestReconcile('watcher-error', 0);
    } finally {
      this.#restarting = false;
    }
  }

  readonly #excludedAbsolute = (relative: string, absolute: string, name: string): boolean => {
    // A new directory's listing gives paths relative to that directory: judge by the watch root.
    const root = this.#rootOf(absolute);
    const rel = root === undefined ? relative : absolute.slice(root.length + 1);
    return this.#isExcluded(rel, absolute, name);
  };

  #rootOf(path: string): string | undefined {
    let best: string | undefined;
    for (const root of this.#roots) {
      if ((path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)) && (best === undefined || root.length > best.length)) best = root;
    }
    return best;
  }

  #hint(path: string, stats?: Stats): void {
    if (this.stopping) return;
    const root = this.#rootOf(path);
    if (root === undefined) return;
    const name = path.slice(path.lastIndexOf(sep) + 1);
    if (this.#isExcluded(path.slice(root.length + 1), path, name)) return;
    if (this.#pendingCount() >= this.#options.maxPending) {
      this.#suspectLoss('overflow', `more than ${this.#options.maxPending} files waiting; new events are dropped until a crawl catches up`);
      return;
    }
    (this.#settle as SettleTracker).observe(path, stats);
  }

  #deleted(path: string): void {
    // A root deleted or moved away: parcel drops its watches silently. Resubscribing fails
    // while it is gone (crawl-only, degraded) and each fallback crawl tries again.
    if (this.#roots.includes(path)) void this.#watcherFailed(new Error('a watched root was deleted or moved away'));
    this.#settle?.cancel(path);
    this.#scans?.delete(path);
    this.#index.delete(path);
  }

  // A name that is not valid UTF-8: the scanner reads it by its exact bytes; the index
  // knows it by them too, so an unchanged one is not scanned again.
  #undecodable(rawPath: Buffer, stats: Stats | undefined): void {
    if (this.stopping) return;
    if (stats !== undefined && this.#index.get(rawKey(rawPath)) === signatureOf(stats)) return;
    this.#scans?.scanRaw(rawPath, stats);
  }

  #suspectLoss(reason: ReconcileReason, message: string): void {
    const now = this.clock();
    this.#lossFirst ??= now;
    this.#clearAfterCrawl.set('events', now);
    this.#setCheck('events', false, `${message}; a crawl will catch up`);
    this.#requestReconcile(reason, QUIET_MS);
  }

  // ——— settle → queue → scanner ———

  #settled(path: string, stats: Stats): void {
    if (this.stopping) return;
    if (this.#index.get(path) === signatureOf(stats)) return; // unchanged since it was scanned
    this.#scans?.push({ path, stats, priority: priorityOf(path, stats, this.#options.priorityPaths) });
  }

  #gone(path: string, error: NodeJS.ErrnoException): void {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      this.#index.delete(path);
    } else {
      this.#warn(createWarning('unreadable', `Cannot look at a changed file (${error.code ?? error.message})`, { path, cause: error }));
    }
    this.#wakeWaiters();
  }

  #pendingCount(): number {
    return (this.#settle?.size ?? 0) + (this.#scans?.size ?? 0);
  }

  #isIdle(): boolean {
    // A periodic crawl scheduled for later does not count; one requested because events
    // may have been lost does (it is about to run).
    const urgent = this.#reconcileDue !== Number.POSITIVE_INFINITY && this.#reconcileReason !== 'interval' && this.#reconcileReason !== 'crawl-only';
    return this.#pendingCount() === 0 && (this.#source?.busy ?? 0) === 0 && this.#reconciling === undefined && !urgent;
  }

  #wakeWaiters(): void {
    if (this.#pendingCount() < this.#options.maxPending) for (const wake of this.#roomWaiters.splice(0)) wake();
    if (this.#isIdle()) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  // ——— reconciliation ———

  #requestReconcile(reason: ReconcileReason, delayMs: number): void {
    if (this.stopping) return;
    const now = this.clock();
    // After a burst: wait for calm, but not forever.
    const cap = this.#lossFirst === undefined ? Number.POSITIVE_INFINITY : this.#lossFirst + BURST_MAX_WAIT_MS;
    const due = Math.min(now + delayMs, cap);
    if (this.#reconciling) {
      this.#again ??= reason;
      return;
    }
    if (due >= this.#reconcileDue && delayMs > 0 && reason !== 'burst' && reason !== 'stall' && reason !== 'overflow') return;
    this.#cancelReconcile?.();
    this.#reconcileDue = due;
    this.#reconcileReason = reason;
    this.#cancelReconcile = this.setTimer(
      () => {
        this.#cancelReconcile = undefined;
        this.#reconcileDue = Number.POSITIVE_INFINITY;
        void this.#runReconcile(reason);
      },
      Math.max(0, due - now),
    );
  }

  #runReconcile(reason: ReconcileReason): Promise<ReconcileReport> {
    this.#cancelReconcile?.();
    this.#cancelReconcile = undefined;
    this.#reconcileDue = Number.POSITIVE_INFINITY;
    if (this.#lossFirst !== undefined) this.#lossFirst = undefined;
    const promise = this.#crawl(reason);
    this.#reconciling = promise;
    void promise
      .then(
        (report) => this.#afterCrawl(report),
        (error: unknown) => {
          if (this.stopping) return;
          this.#setCheck('reconcile', false, `crawl failed: ${toError(error).message}`);
          this.emitError(toError(error));
        },
      )
      .finally(() => {
        if (this.#reconciling === promise) this.#reconciling = undefined;
        if (this.stopping) return;
        const again = this.#again;
        this.#again = undefined;
        if (again !== undefined) void this.#runReconcile(again);
        else this.#scheduleNext();
        this.#wakeWaiters();
      });
    return promise;
  }

  async #crawl(reason: ReconcileReason): Promise<ReconcileReport> {
    // In crawl-only mode, each crawl is also a chance to get kernel events back (the limit
    // may have been raised).
    if (this.#mode === 'crawl-only' && this.#options.events && reason !== 'start' && !this.#restarting) {
      if (await this.#subscribe('restart')) this.#setCheck('watch', true, 'kernel events are back');
    }
    return reconcile(
      reason,
      {
        roots: this.#roots,
        index: this.#index,
        crawl: { isExcluded: this.#excludedAbsolute, oneFileSystem: this.#options.oneFileSystem },
        signal: this.#abort.signal,
        clock: this.clock,
        isPending: (path) => this.#settle?.has(path) === true || this.#scans?.has(path) === true || this.#source?.isLooking(path) === true,
        submit: async (path, stats) => {
          while (this.#pendingCount() >= this.#options.maxPending && !this.stopping) {
            await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
          }
          if (!this.stopping) (this.#settle as SettleTracker).observe(path, stats);
        },
        undecodable: (raw, stats) => this.#undecodable(raw, stats),
        unreadable: (path, error) => this.#warn(createWarning('unreadable', `Cannot crawl (${error.code ?? error.message}); its files are not watched`, { path, cause: error })),
      },
      reason !== 'start' && this.#mode === 'events',
    );
  }

  #afterCrawl(report: ReconcileReport): void {
    if (this.stopping) return;
    // Crawling only for want of watches: now it is known how many the roots need.
    if (this.#watchLimit !== undefined && this.#mode === 'crawl-only' && report.unreadable === 0) {
      this.#crawlOnly(watchLimitMessage(report.directories, this.#watchLimit), false);
    }
    this.#setCheck(
      'reconcile',
      report.unreadable === 0,
      report.unreadable === 0
        ? `last crawl (${report.reason}): ${report.files} files, ${report.changed} changed`
        : `last crawl (${report.reason}) could not read ${report.unreadable} path${report.unreadable === 1 ? '' : 's'}`,
    );
    for (const [name, since] of this.#clearAfterCrawl) {
      if (report.startedAt < since) continue;
      this.#clearAfterCrawl.delete(name);
      if (name === 'events' && report.missed > 0) continue;
      this.#setCheck(name, true, name === 'events' ? 'no sign of lost events since the last crawl' : 'watching for kernel events');
    }
    if (report.missed > 0) {
      this.#warn(createWarning('events-missed', `The crawl found ${report.missed} change${report.missed === 1 ? '' : 's'} that no kernel event reported; they are being scanned`));
      this.#setCheck('events', false, `the last crawl found ${report.missed} change${report.missed === 1 ? '' : 's'} no event reported (events were lost)`);
      this.#clearAfterCrawl.set('events', this.clock());
    }
    this.emitSafely('reconciled', report);
  }

  #scheduleNext(): void {
    const interval = this.#mode === 'crawl-only' ? Math.min(this.#options.fallbackInterval, this.#options.reconcileInterval) : this.#options.reconcileInterval;
    // A failed check waiting for a crawl gets one soon, not in five minutes.
    const soon = [...this.#clearAfterCrawl.keys()].length > 0 ? Math.min(interval, 60_000) : interval;
    this.#requestReconcile(this.#mode === 'crawl-only' ? 'crawl-only' : 'interval', soon);
  }

  // ——— state and health ———

  async #loadIndex(file: string): Promise<void> {
    try {
      const loaded = await this.#index.load(file);
      if (loaded.corrupt > 0) {
        this.#warn(
          createWarning('state-corrupt', `Skipped ${loaded.corrupt} unreadable line${loaded.corrupt === 1 ? '' : 's'} of the state file; those files are scanned again`, {
            path: file,
          }),
        );
      }
    } catch (error) {
      this.#warn(createWarning('state-unreadable', `Cannot read the state file; every file is scanned again (${toError(error).message})`, { path: file, cause: error }));
    }
  }

  async #saveIndex(): Promise<void> {
    const file = this.#options.stateFile;
    if (file === undefined || !this.#index.dirty) return;
    try {
      await this.#index.save(file);
      if (this.#checks.get('state')?.ok === false) this.#setCheck('state', true, 'state file written');
    } catch (error) {
      const message = `cannot write the state file (${toError(error).message}); a restart will scan everything again`;
      if (this.#checks.get('state')?.message !== message) this.#warn(createWarning('state-unwritable', message, { path: file, cause: error }));
      this.#setCheck('state', false, message);
    }
  }

  #setCheck(name: string, ok: boolean, message: string): void {
    const last = this.#checks.get(name);
    if (last?.ok === ok && last.message === message) return;
    this.#checks.set(name, { ok, message });
    if (!ok) this.logger.warn(`FileWatcher degraded: ${message}`, { check: name });
    this.setHealthCheck(name, ok, message);
  }

  #warn(warning: Warning): void {
    this.logger.warn(warning.message, { code: warning.code, path: warning.displayPath });
    this.emitWarning(warning);
  }
}

function fingerprintOf(options: ResolvedWatcherOptions): string {
  if (options.detectors === undefined) return 'defaults';
  return options.detectors.map((d) => `${d.name}=${d.fingerprint ?? ''}`).join('|');
}
