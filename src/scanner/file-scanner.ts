import type { Alert } from '../core/alert.js';
import { AbortedError, InvalidOptionError, IoError, StateError } from '../core/errors.js';
import { HostwardenEmitter, type BaseEvents } from '../core/emitter.js';
import { toError } from '../core/lifecycle.js';
import { compareSeverity, isAtLeast } from '../core/severity.js';
import type { QuarantineRecord } from '../quarantine/quarantine.js';
import { basename, resolve } from 'node:path';
import { CONTENT_WORKER_ENTRY, ContentPool, ContentWorkerError, type ContentFailure, type ContentResult, type WorkerEntry } from './content-pool.js';
import { displayPath, isValidUtf8, safeText } from '../core/text.js';
import { createWarning } from '../core/warning.js';
import { summarizeHealth, type Health, type HealthCheck } from '../core/health.js';
import { alertForFinding, skipReasonText } from './finding-alert.js';
import { resolveScannerOptions, type FileScannerOptions, type ResolvedScannerOptions } from './options.js';
import { ScanCache } from './scan-cache.js';
import { createRun, EMPTY_CONTENT, SPECULATE_AFTER, type Plan, type Run } from './scan-run.js';
import type { ContentNeeds, Detector, DetectorFinding, FileContent, Finding, HashAlgorithm, ScannedFile, ScanProgress, ScanReport, ScanWarning, SkipReason } from './types.js';
import { asError, errnoDetail, exclusionMatcher, skipReasonOf, targetItems, walkNested, walkRoot, type NestedRoot, type Target, type WalkEntry } from './walker.js';

/** Payload of the `'quarantined'` event. */
export interface QuarantinedEvent {
  /** The most severe finding that triggered the isolation. */
  readonly finding: Finding;
  /** What the quarantine recorded. */
  readonly record: QuarantineRecord;
}

/** A long-lived scanning session, see {@link FileScanner.openSession}. @internal */
export interface ScanSession {
  /**
   * Judges one path like a scan would (by `rawPath`, its exact bytes, when the name is not
   * valid UTF-8). Rejects only when no content worker can run. Resolves to `'scanned'` (a regular file was read
   * and judged), `'skipped'` (it could not be, and a warning said why) or `'other'`
   * (a symlink, special file or directory: judged by name at most).
   */
  inspect(path: string, relativePath: string, rawPath?: Buffer): Promise<'scanned' | 'skipped' | 'other'>;
  /** Ends the session's worker threads; pending inspections reject. */
  close(): Promise<void>;
}

/** Options of {@link FileScanner.scan}. */
export interface ScanOptions {
  /** Cancels this scan (as does the constructor's `signal`). */
  readonly signal?: AbortSignal;
}

/** The events of {@link FileScanner}. */
export interface FileScannerEvents extends BaseEvents {
  /** A detector reported something about a file (one event per detector finding). */
  finding: [finding: Finding];
  /** The same finding as an {@link Alert} (`source: 'file'`, key `file:<rule>:<path>`), for the Notifier. */
  alert: [alert: Alert];
  /** Counters, at most every `progressInterval` ms and once at the end. */
  progress: [progress: ScanProgress];
  /** A path could not be scanned (unreadable, vanished, changed) or isolated; the scan goes on. */
  warning: [warning: ScanWarning];
  /** A file was moved into the quarantine. */
  quarantined: [event: QuarantinedEvent];
}

/**
 * Walks directory trees and runs detectors on every entry, like `clamscan -r` or maldet:
 * one-shot (`scan()` resolves to a {@link ScanReport}; no `start()` needed), never
 * following a symlink, never opening a FIFO, socket or device, reading each regular file
 * at most once for all detectors (content reads, hashing and signature searches run in
 * worker threads, in bounded memory), and optionally isolating what it finds.
 *
 * @example
 * const scanner = new FileScanner({
 *   roots: ['/home'],
 *   detectors: [extensionDetector(), executableDetector(), hashDetector({ files: ['/var/lib/clamav/local.hsb'] })],
 *   quarantine: { into: '/var/lib/hostwarden/quarantine', minSeverity: 'critical' },
 * });
 * scanner.on('finding', (f) => logger.warn(`${f.path}: ${f.reason}`));
 * const report = await scanner.scan();
 */
export class FileScanner extends HostwardenEmitter<FileScannerEvents> {
  readonly #options: ResolvedScannerOptions;
  readonly #workerEntry: WorkerEntry | undefined;
  #cache: ScanCache | undefined;
  #running = false;
  #checks: HealthCheck[] = [];
  #state: Health['state'] = 'ok';

  /** @throws {@link InvalidOptionError} naming the first invalid option. */
  constructor(options: FileScannerOptions) {
    super();
    this.#options = resolveScannerOptions(options);
    // A test seam, keyed by a symbol so it is no option: a worker module that fails on purpose.
    this.#workerEntry = (options as { readonly [CONTENT_WORKER_ENTRY]?: WorkerEntry })[CONTENT_WORKER_ENTRY];
  }

  /** Whether a scan is in progress. */
  get scanning(): boolean {
    return this.#running;
  }

  /**
   * How the last scan went: `degraded` when it failed, when files could not be scanned
   * (unreadable, changed, too large, another file system, a worker that died) or could not
   * be isolated; `ok` before the first scan and after a complete one. A scanner is
   * one-shot, so it is never `stopped`. A `'health'` event follows every change of state.
   *
   * @example
   * const report = await scanner.scan();
   * if (scanner.health().state === 'degraded') console.warn(scanner.health().checks);
   */
  health(): Health {
    return { state: this.#state, checks: this.#checks.map((c) => ({ ...c })) };
  }

  #setHealth(checks: HealthCheck[]): void {
    this.#checks = checks;
    const state = summarizeHealth(true, checks);
    if (state === this.#state) return;
    this.#state = state;
    this.emitSafely('health', this.health());
  }

  #healthAfter(run: Run): void {
    const notScanned = [...run.skipCounts].filter(([reason]) => reason !== 'loop' && reason !== 'special-file');
    const missed = notScanned.reduce((n, [, count]) => n + count, 0);
    this.#setHealth([
      missed === 0
        ? { name: 'last-scan', ok: true, message: `${run.filesScanned} files scanned` }
        : { name: 'last-scan', ok: false, message: `${missed} paths not scanned (${notScanned.map(([r, n]) => `${n} ${r}`).join(', ')})` },
      run.quarantineFailures === 0 ? { name: 'quarantine', ok: true } : { name: 'quarantine', ok: false, message: `${run.quarantineFailures} files could not be isolated` },
    ]);
  }

  /**
   * Scans every root once and resolves to the report. Scans of one scanner cannot overlap
   * (a new call while one runs rejects with a {@link StateError}); successive scans share
   * the incremental cache when one is configured.
   *
   * @throws {@link AbortedError} when cancelled; {@link ParseError} / {@link IoError} when a
   * detector cannot load its signatures.
   */
  scan(options: ScanOptions = {}): Promise<ScanReport> {
    return this.#run(undefined, options);
  }

  /**
   * Scans exactly these paths — files judged on their own, directories walked — with the
   * same detectors, worker pool, cache and quarantine as {@link FileScanner.scan}, and
   * resolves to the report (whose `roots` are these paths). Unlike `roots`, a path that is
   * a symlink is judged as the link (never followed). The entry point for callers that
   * learn which files changed (a file watcher); a path may be a `Buffer` for a name that
   * is not UTF-8. Cannot overlap another scan of this scanner.
   *
   * @example
   * const report = await scanner.scanPaths(['/home/bob/Downloads/new.pdf']);
   */
  async scanPaths(paths: readonly (string | Buffer)[], options: ScanOptions = {}): Promise<ScanReport> {
    if (!Array.isArray(paths)) throw new InvalidOptionError('paths', paths, 'an array of paths (string or Buffer)');
    const targets: Target[] = [];
    for (const path of paths) {
      if (typeof path !== 'string' && !Buffer.isBuffer(path)) throw new InvalidOptionError('paths', path, 'a path (string or Buffer)');
      const exact = typeof path === 'string' ? resolve(path) : path;
      const lossy = typeof exact === 'string' ? exact : exact.toString('utf8');
      const rawPath = typeof exact === 'string' || isValidUtf8(exact) ? undefined : exact;
      targets.push({ path: lossy, ...(rawPath ? { rawPath } : {}) });
    }
    return this.#run(targets, options);
  }

  async #run(targets: readonly Target[] | undefined, options: ScanOptions): Promise<ScanReport> {
    if (this.#running) throw new StateError('A scan is already running on this FileScanner');
    this.#running = true;
    const signals = [this.#options.signal, options.signal].filter((s): s is AbortSignal => s !== undefined);
    const controller = new AbortController();
    const signal = AbortSignal.any([...signals, controller.signal]);
    let pool: ContentPool | undefined;
    let fatalOf = (): Error | undefined => undefined;
    try {
      signal.throwIfAborted();
      const startedAt = new Date(this.#options.clock());
      for (const detector of this.#options.detectors) await detector.prepare?.(signal);
      const cache = await this.#openCache();
      pool = new ContentPool(this.#options.threads, this.#options.chunkSize, this.#options.regexOverlap, this.#workerEntry);
      const run = createRun({ signal, pool, cache, stop: controller, now: this.#options.clock() });
      fatalOf = () => run.fatal;
      await this.#walk(run, targets);
      if (run.fatal) throw run.fatal;
      signal.throwIfAborted();
      if (cache && this.#options.cacheFile) {
        const file = this.#options.cacheFile;
        await cache
          .save(file)
          .catch((error: unknown) =>
            this.#warn(createWarning('cache-failed', `Could not save the scan cache ${displayPath(file)}: ${toError(error).message}`, { path: file, cause: error }) as ScanWarning),
          );
      }
      this.#progress(run, true);
      this.#healthAfter(run);
      return {
        roots: targets === undefined ? this.#options.roots : targets.map((t) => t.path),
        filesScanned: run.filesScanned,
        bytesScanned: run.bytesScanned,
        bytesHashed: run.bytesHashed,
        directories: run.directories,
        symlinks: run.symlinks,
        cached: run.cached,
        findings: run.findings,
        findingCount: run.findingCount,
        skipped: run.skipped,
        skippedCount: run.skippedCount,
        skippedByReason: Object.fromEntries(run.skipCounts),
        quarantined: run.quarantined,
        startedAt,
        durationMs: Math.max(0, this.#options.clock() - startedAt.getTime()),
      };
    } catch (error) {
      const fatal = fatalOf();
      if (fatal || !signal.aborted) this.#setHealth([{ name: 'last-scan', ok: false, message: `the scan failed: ${toError(fatal ?? error).message}` }]);
      if (fatal) throw fatal;
      if (signal.aborted) throw new AbortedError('The scan was aborted', { cause: signal.reason });
      throw error;
    } finally {
      controller.abort();
      await pool?.close();
      this.#running = false;
    }
  }

  /**
   * Opens a long-lived session for callers that find files themselves (the FileWatcher):
   * the detectors are prepared once, one worker pool stays open, and `inspect(path)`
   * judges one path exactly as `scan()` would — `lstat` and reads in a worker, never
   * following a symlink — emitting `'finding'`, `'alert'`, `'warning'` and
   * `'quarantined'` on this scanner. Sessions may overlap with each other but not with
   * `scan()`'s bookkeeping; close the session to end its workers. With `persistent: false`
   * the idle workers do not keep the process alive.
   *
   * @internal
   */
  async openSession(signal: AbortSignal, options: { readonly persistent?: boolean } = {}): Promise<ScanSession> {
    for (const detector of this.#options.detectors) await detector.prepare?.(signal);
    const pool = new ContentPool(this.#options.threads, this.#options.chunkSize, this.#options.regexOverlap, this.#workerEntry);
    if (options.persistent === false) pool.unref();
    // One small Run per path, sharing the pool: inspections overlap, and each one's
    // counters say what happened to that path alone.
    // (lastProgress at +Infinity: a session emits no 'progress'.)
    const newRun = (): Run => createRun({ signal, pool, cache: undefined, stop: new AbortController(), now: Number.POSITIVE_INFINITY });
    return {
      inspect: async (path, relativePath, rawPath) => {
        const run = newRun();
        const entry = { path, relativePath, kind: 'unknown' as const, rootDev: -1, ...(rawPath === undefined ? {} : { rawPath }) };
        // A failed inspection is reported as not scanned (never clean), as in a scan.
        await this.#inspect(run, entry).catch((error: unknown) => this.#inspectFailed(run, path, error));
        if (run.fatal) throw run.fatal;
        return run.filesScanned > 0 ? 'scanned' : run.skippedCount > 0 ? 'skipped' : 'other';
      },
      close: () => pool.close(),
    };
  }

  async #openCache(): Promise<ScanCache | undefined> {
    if (!this.#options.cacheEnabled) return undefined;
    const fingerprint = this.#options.detectors.map((d) => `${d.name}=${d.fingerprint ?? ''}`).join('|');
    if (!this.#cache) {
      this.#cache = new ScanCache(fingerprint);
      if (this.#options.cacheFile) {
        const file = this.#options.cacheFile;
        // Only a cache: the scan goes on reading everything, and says why.
        await this.#cache
          .load(file)
          .catch((error: unknown) =>
            this.#warn(
              createWarning('cache-failed', `Ignoring the unreadable scan cache ${displayPath(file)}: ${toError(error).message}`, { path: file, cause: error }) as ScanWarning,
            ),
          );
      }
    } else {
      this.#cache.begin(fingerprint);
    }
    return this.#cache;
  }

  async #walk(run: Run, targets: readonly Target[] | undefined): Promise<void> {
    // Bounded concurrency: the walk waits while this many files are being inspected, so a
    // tree of millions of files never holds more than a few hundred entries in memory.
    let inFlight = 0;
    let wake: (() => void) | undefined;
    let drained: (() => void) | undefined;
    const done = (): void => {
      inFlight--;
      wake?.();
      if (inFlight === 0) drained?.();
    };
    const visited = new Set<string>();
    const isExcluded = exclusionMatcher(this.#options.exclude);
    const roots: (string | NestedRoot | Target)[] = targets === undefined ? [...this.#options.roots] : [...targets];
    for (let r = 0; r < roots.length || inFlight > 0 || run.extraRoots.length > 0; r++) {
      if (r >= roots.length) {
        // Entries still being inspected may turn out to be directories to walk.
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        drained = undefined;
        roots.push(...run.extraRoots.splice(0));
        if (r >= roots.length) break;
      }
      const root = roots[r] as string | NestedRoot | Target;
      const walkOptions = { oneFileSystem: this.#options.oneFileSystem, isExcluded, visited, signal: run.signal };
      const items = typeof root === 'string' ? walkRoot(root, walkOptions) : 'rootDev' in root ? walkNested(root, walkOptions) : targetItems(root, walkOptions);
      try {
        for await (const item of items) {
          run.signal.throwIfAborted();
          if (item.type === 'directory') run.directories++;
          else if (item.type === 'skip') {
            // Not entering another file system is what was asked for: listed, not warned about.
            this.#skip(run, item.rawPath ?? item.path, item.reason, item.detail, item.error, item.reason !== 'other-filesystem');
          } else {
            while (inFlight >= this.#options.concurrency) {
              await new Promise<void>((resolve) => (wake = resolve));
              wake = undefined;
            }
            inFlight++;
            const entry = item.entry;
            this.#inspect(run, entry)
              .catch((error: unknown) => this.#inspectFailed(run, entry.path, error))
              .finally(done);
          }
        }
      } catch (error) {
        if (run.signal.aborted) break;
        // readdirp destroys its stream on an unexpected error (EIO, EMFILE): report the
        // root as not fully scanned and carry on with the next one.
        this.#skip(run, typeof root === 'string' ? root : root.path, skipReasonOf(error), errnoDetail(error), asError(error));
      }
    }
  }

  // A file whose inspection failed is never passed as clean: it is reported as not
  // scanned, and when no content worker can run at all the whole scan fails.
  #inspectFailed(run: Run, path: string, error: unknown): void {
    if (error instanceof ContentWorkerError && error.fatal) {
      if (!run.fatal && !run.signal.aborted) {
        run.fatal = new IoError(`The scan failed: ${error.message}`, { syscall: 'worker', cause: error });
        run.stop.abort(run.fatal);
      }
      return;
    }
    // After an abort the pool is closed under in-flight reads: their errors are expected.
    if (run.signal.aborted) return;
    this.#skip(run, path, 'scan-failed', toError(error).message, toError(error));
    if (!(error instanceof ContentWorkerError)) this.emitError(toError(error));
  }

  async #inspect(run: Run, entry: WalkEntry): Promise<void> {
    run.currentPath = entry.path;
    const pool = run.pool as ContentPool;
    // One worker round trip: the lstat, and for a regular file the first bytes most
    // detectors want (learned from what they asked for so far).
    const maybeFile = entry.kind === 'file' || entry.kind === 'unknown';
    const speculation = maybeFile ? run.speculation : undefined;
    const st = await pool.stat({
      path: entry.path,
      rawPath: entry.rawPath,
      head: maybeFile ? run.prefetch : 0,
      full: speculation !== undefined,
      hashes: speculation?.hashes ?? [],
      patterns: speculation?.patterns ?? [],
      maxBytes: this.#options.maxFileSize,
    });
    if (!st.ok) {
      const error = Object.assign(new Error(st.message), { code: st.code, syscall: st.syscall });
      this.#skip(run, entry.rawPath ?? entry.path, skipReasonOf(error), errnoDetail(error), error);
      return;
    }
    if (st.stats.kind === 'directory') {
      // Only on file systems without d_type (or a race): walk it after the current roots.
      run.extraRoots.push({ path: entry.path, ...(entry.rawPath ? { rawPath: entry.rawPath } : {}), relativePath: entry.relativePath, rootDev: entry.rootDev });
      return;
    }
    const file: ScannedFile = {
      path: entry.path,
      ...(entry.rawPath ? { rawPath: entry.rawPath } : {}),
      relativePath: entry.relativePath,
      name: basename(entry.path),
      ...st.stats,
      kind: st.stats.kind,
    };
    if (file.kind === 'symlink') {
      run.symlinks++;
      await this.#judge(run, file, undefined, () => EMPTY_CONTENT);
      return;
    }
    if (file.kind !== 'file') {
      // Never opened: a FIFO would block, a device could be endless or have side effects.
      this.#skip(run, file.rawPath ?? file.path, 'special-file', file.kind, undefined, false);
      await this.#judge(run, file, undefined, () => EMPTY_CONTENT);
      return;
    }
    if (run.cache?.hit(file)) {
      run.cached++;
      run.filesScanned++;
      run.bytesScanned += file.size;
      this.#progress(run);
      return;
    }
    const plans: Plan[] = this.#options.detectors.map((detector) => ({ detector, needs: this.#needsOf(detector, file) }));
    const tooLarge = file.size > this.#options.maxFileSize;
    let head = 0;
    const hashes = new Set<HashAlgorithm>();
    const patterns = new Set<number>();
    for (const { needs } of plans) {
      head = Math.max(head, needs?.head ?? 0);
      run.maxHeadSeen = Math.max(run.maxHeadSeen, needs?.head ?? 0);
      for (const algorithm of needs?.hashes ?? []) hashes.add(algorithm);
      for (const p of needs?.patterns ?? []) patterns.add(pool.indexOf(p));
    }
    const fullRead = !tooLarge && (hashes.size > 0 || patterns.size > 0);
    const fullKey = fullRead ? `${[...hashes].sort().join(',')}|${[...patterns].sort((a, b) => a - b).join(',')}` : '';
    this.#learn(run, fullKey, [...hashes], [...patterns]);
    if (tooLarge && (hashes.size > 0 || patterns.size > 0)) {
      this.#skip(
        run,
        file.rawPath ?? file.path,
        'too-large',
        `${file.size} bytes > maxFileSize ${this.#options.maxFileSize}; judged by name and first bytes only`,
        undefined,
        false,
      );
    }

    if (run.cache === undefined) run.prefetch = run.maxHeadSeen;
    let read: ContentResult | undefined;
    if (st.openError) {
      this.#readFailed(run, file, st.openError);
      if (!st.openError.changed && skipReasonOf(st.openError) === 'unreadable') await this.#judge(run, file, plans, () => EMPTY_CONTENT);
      return;
    }
    const prefetched = st.content?.head ?? st.head;
    const headOk = prefetched !== undefined && (prefetched.length >= head || prefetched.length >= file.size);
    const covered = speculation !== undefined && [...hashes].every((h) => speculation.hashes.includes(h)) && [...patterns].every((p) => speculation.patterns.includes(p));
    if (st.content && fullRead && covered && headOk && !st.content.truncated) {
      // The speculative read asked for at least what the detectors need now; extra digests
      // and matches are harmless (matches are filtered per detector below).
      read = st.content;
    } else if (!fullRead && prefetched && headOk) {
      read = { ok: true, head: prefetched.subarray(0, head), hashes: {}, matches: [], bytesRead: st.content?.bytesRead ?? 0, truncated: false };
    } else if (fullRead || head > 0) {
      const outcome = await this.#read(run, file, head, fullRead ? [...hashes] : [], fullRead ? [...patterns] : []);
      if (outcome === 'unreadable') {
        // Reported as skipped; its name can still give it away (a 0000 `dropper.exe`).
        await this.#judge(run, file, plans, () => EMPTY_CONTENT);
        return;
      }
      if (outcome === 'gone') return;
      read = outcome;
    }
    run.filesScanned++;
    run.bytesScanned += file.size;
    run.bytesHashed += read?.bytesRead ?? 0;
    const contentFor = (plan: Plan): FileContent => {
      if (!read) return EMPTY_CONTENT;
      const result = read;
      const matches = [];
      if (plan.needs?.patterns) {
        for (const p of plan.needs.patterns) {
          const index = pool.indexOf(p);
          const found = result.matches.find(([i]) => i === index);
          if (found) matches.push({ id: p.id, offset: found[1] });
        }
      }
      return { head: read.head, hashes: read.hashes, matches, complete: fullRead };
    };
    const clean = await this.#judge(run, file, plans, contentFor, read?.hashes.sha256);
    if (clean && !tooLarge) run.cache?.remember(file);
    this.#progress(run);
  }

  // When every recent file needed the same full read (size-less hash signatures, content
  // signatures), ask for it together with the lstat: one worker round trip per file, not two.
  #learn(run: Run, key: string, hashes: HashAlgorithm[], patterns: number[]): void {
    if (key !== '' && key === run.lastFullKey) run.streak++;
    else run.streak = key === '' ? 0 : 1;
    run.lastFullKey = key;
    if (run.streak >= SPECULATE_AFTER) {
      if (run.speculation?.key !== key) run.speculation = { key, hashes, patterns };
    } else if (run.streak === 0 || run.speculation?.key !== key) {
      run.speculation = undefined;
    }
  }

  #readFailed(run: Run, file: ScannedFile, failure: ContentFailure): 'unreadable' | 'gone' {
    const error = Object.assign(new Error(failure.message), { code: failure.code, syscall: failure.syscall });
    if (failure.changed) {
      const detail = failure.code === 'ELOOP' ? 'became a symbolic link after it was listed' : failure.message;
      this.#skip(run, file.rawPath ?? file.path, 'changed', detail, error);
      return 'gone';
    }
    const reason = skipReasonOf(error);
    this.#skip(run, file.rawPath ?? file.path, reason, errnoDetail(error), error);
    return reason === 'unreadable' ? 'unreadable' : 'gone';
  }

  #needsOf(detector: Detector, file: ScannedFile): ContentNeeds | undefined {
    try {
      return detector.needs?.(file);
    } catch (error) {
      this.emitError(new Error(`Detector '${detector.name}' failed to plan ${displayPath(file.rawPath ?? file.path)}`, { cause: error }));
      return undefined;
    }
  }

  // A worker opens the file the walk saw (never through a symlink, never blocking on a
  // FIFO), checks it is still the same inode, and reads what the detectors need.
  async #read(run: Run, file: ScannedFile, head: number, hashes: HashAlgorithm[], patterns: number[]): Promise<ContentResult | 'unreadable' | 'gone'> {
    const pool = run.pool as ContentPool;
    const full = hashes.length > 0 || patterns.length > 0;
    const outcome = await pool.read({ path: file.path, rawPath: file.rawPath, dev: file.dev, ino: file.ino, head, full, hashes, patterns, maxBytes: this.#options.maxFileSize });
    if (!outcome.ok) return this.#readFailed(run, file, outcome);
    if (outcome.truncated) {
      this.#skip(run, file.rawPath ?? file.path, 'too-large', `grew past maxFileSize ${this.#options.maxFileSize} while being read`);
      return 'gone';
    }
    return outcome;
  }

  // Runs every detector, emits the findings, isolates if asked. Resolves to whether the file is clean.
  async #judge(run: Run, file: ScannedFile, plans: readonly Plan[] | undefined, contentFor: (plan: Plan) => FileContent, sha256?: string): Promise<boolean> {
    const found: Finding[] = [];
    const results: [Detector, DetectorFinding][] = [];
    // Escaped only when something is to be shown: most files have no finding.
    let escaped: string | undefined;
    const shown = (): string => (escaped ??= displayPath(file.rawPath ?? file.path));
    const regular = plans !== undefined;
    for (const plan of plans ?? this.#options.detectors.map((detector) => ({ detector, needs: undefined }))) {
      const detector = plan.detector;
      try {
        const returned = detector.inspect(file, contentFor(plan));
        // Most detectors answer synchronously: skip the microtask an await would cost per file.
        for (const r of returned instanceof Promise ? await returned : returned) results.push([detector, r]);
      } catch (error) {
        this.emitError(new Error(`Detector '${detector.name}' failed on ${shown()}`, { cause: error }));
      }
    }
    if (results.length === 0) return true;
    // A finding is an event keyed by what makes the file unique (its SHA-256 among it): hash
    // the few files that alert (warning and above) if no detector needed the digest already.
    if (sha256 === undefined && plans !== undefined && results.some(([, r]) => isAtLeast(r.severity, 'warning'))) {
      sha256 = await this.#digest(run, file);
    }
    for (const [detector, r] of results) {
      const finding: Finding = {
        // The exact path, so that code acting on a finding touches this file and no
        // other; a rendering of a hostile name could name a different, innocent file.
        path: file.path,
        ...(file.rawPath ? { rawPath: file.rawPath } : {}),
        displayPath: shown(),
        detector: detector.name,
        rule: r.rule,
        severity: r.severity,
        // A user's detector may echo file content or names: keep the reason one safe line.
        reason: safeText(String(r.reason), { singleLine: true, max: 500 }),
        size: file.size,
        ...(sha256 === undefined ? {} : { sha256 }),
        dev: file.dev,
        ino: file.ino,
        ctimeMs: file.ctimeMs,
        labels: { ...r.labels },
      };
      found.push(finding);
    }
    if (run.signal.aborted) return false;
    for (const finding of found) {
      run.findingCount++;
      if (run.findings.length < this.#options.maxReportedFindings) run.findings.push(finding);
      this.emitSafely('finding', finding);
      this.emitSafely('alert', alertForFinding(finding, new Date(this.#options.clock())));
    }
    const quarantine = this.#options.quarantine;
    if (quarantine && regular && found.length > 0) {
      const worst = [...found].sort((a, b) => compareSeverity(b.severity, a.severity))[0] as Finding;
      if (isAtLeast(worst.severity, quarantine.minSeverity)) {
        try {
          const record = await quarantine.into.isolate(file.rawPath ?? file.path, {
            reason: `${worst.rule}: ${worst.reason}`,
            expect: { dev: file.dev, ino: file.ino, ctimeMs: file.ctimeMs, size: file.size, ...(sha256 === undefined ? {} : { sha256 }) },
          });
          run.quarantined.push(record.id);
          this.emitSafely('quarantined', { finding: worst, record });
        } catch (error) {
          run.quarantineFailures++;
          this.#warn(
            createWarning('quarantine-failed', `Could not quarantine ${shown()}: ${toError(error).message}`, { path: file.rawPath ?? file.path, cause: error }) as ScanWarning,
          );
        }
      }
    }
    return found.length === 0;
  }

  // The SHA-256 of a file with a finding, read through a descriptor checked against the
  // walk's (dev, inode); undefined when it cannot be read (the finding stands regardless).
  async #digest(run: Run, file: ScannedFile): Promise<string | undefined> {
    if (file.size > this.#options.maxFileSize) return undefined;
    const outcome = await (run.pool as ContentPool)
      .read({ path: file.path, rawPath: file.rawPath, dev: file.dev, ino: file.ino, head: 0, full: true, hashes: ['sha256'], patterns: [], maxBytes: this.#options.maxFileSize })
      .catch(() => undefined);
    if (!outcome?.ok || outcome.truncated) return undefined;
    run.bytesHashed += outcome.bytesRead;
    return outcome.hashes.sha256;
  }

  #skip(run: Run, path: string | Buffer, reason: SkipReason, detail: string, error?: Error, warn = true): void {
    const shown = displayPath(path);
    run.skippedCount++;
    run.skipCounts.set(reason, (run.skipCounts.get(reason) ?? 0) + 1);
    if (run.skipped.length < this.#options.maxReportedSkips) {
      const exact = typeof path === 'string' ? { path } : { path: path.toString('utf8'), ...(isValidUtf8(path) ? {} : { rawPath: path }) };
      run.skipped.push({ ...exact, displayPath: shown, reason, detail });
    }
    // Special files, too-large files and other mounts are policy, not trouble: listed, not warned about.
    if (warn) this.#warn(createWarning(reason, `${skipReasonText(reason)}: ${shown} (${detail})`, { path, ...(error ? { cause: error } : {}) }) as ScanWarning);
  }

  #warn(warning: ScanWarning): void {
    this.#options.logger.warn(warning.message, { path: warning.displayPath, code: warning.code });
    this.emitSafely('warning', warning);
  }

  #progress(run: Run, final = false): void {
    const now = this.#options.clock();
    if (!final && now - run.lastProgress < this.#options.progressInterval) return;
    run.lastProgress = now;
    this.emitSafely('progress', {
      filesScanned: run.filesScanned,
      bytesScanned: run.bytesScanned,
      bytesHashed: run.bytesHashed,
      findings: run.findingCount,
      skipped: run.skippedCount,
      cached: run.cached,
      ...(run.currentPath === undefined ? {} : { currentPath: displayPath(run.currentPath) }),
    });
  }
}
