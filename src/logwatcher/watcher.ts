import { watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Alert } from '../core/alert.js';
import type { BaseEvents } from '../core/emitter.js';
import { Component, toError } from '../core/lifecycle.js';
import { displayPath } from '../core/text.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type FilePosition, type PathState } from './checkpoint.js';
import { RuleEngine, type HandleResult } from './engine.js';
import { expandGlob, parseFileSpec, type FileSpec } from './glob.js';
import { JournalSource } from './journal.js';
import { resolveOptions, type LogWatcherOptions, type ResolvedOptions } from './options.js';
import type { LogMatch } from './rule.js';
import { logWarning, Tailer, type LogWatcherWarning, type RotateEvent, type TailerSink } from './tailer.js';

/** Events of {@link LogWatcher}. */
export interface LogWatcherEvents extends BaseEvents {
  /** A line matched a rule. Emitted before any alert the same line raised. */
  match: [match: LogMatch];
  /** A rule's alert condition fired or resolved (thresholds resolve after a quiet window). */
  alert: [alert: Alert];
  /** A followed file was rotated, truncated, deleted or created. */
  rotate: [event: RotateEvent];
  /**
   * Something was handled but deserves attention: a cut line, a lost rotation, a corrupt
   * state file, an unreadable or non-regular file. Also written to the `logger`.
   */
  warning: [warning: LogWatcherWarning];
}

/** Cumulative counters of a {@link LogWatcher}, e.g. for a metrics exporter. */
export interface LogWatcherStats {
  /** Lines handed to the rules (files and journal). */
  readonly linesRead: number;
  /** Bytes read from files. */
  readonly bytesRead: number;
  /** `'match'` events emitted. */
  readonly matches: number;
  /** Files open now as the current file of a followed path (rotated files still draining not counted). */
  readonly filesFollowed: number;
  /** Watched paths that do not exist now, and globs that match nothing (each also a `file-missing` warning). */
  readonly filesMissing: number;
}

// 256 KiB: about 2,500 lines handled per read, so a backlog drain yields to the host's event
// loop every few milliseconds; larger chunks were not faster.
const READ_CHUNK = 256 * 1024;
const KNOWN_LIMIT = 256;

/**
 * Follows log files (and optionally the systemd journal) without losing a line, matches
 * each line against rules, and raises alerts — fail2ban's log matching as an embeddable class.
 *
 * Each file is followed like `tail -F`: held open, checked with `stat` every
 * `pollInterval` (with `fs.watch` as a hint), and identified by (dev, inode) plus a hash of
 * its first KiB, so rename+create, copytruncate and delete+recreate rotations are all
 * noticed, and a renamed file is drained to its end before the new one is read. With a
 * `stateFile`, positions are saved after the listeners of each line ran, so a restart
 * resumes exactly where it stopped, even if the log was rotated in between.
 *
 * @example
 * const watcher = new LogWatcher({ files: ['/var/log/auth.log'], stateFile: '/var/lib/app/logwatcher.json' });
 * watcher.on('match', (m) => console.log(m.rule.id, m.fields.host));
 * watcher.on('alert', (alert) => notifier.notify(alert));
 * await watcher.start();
 */
export class LogWatcher extends Component<LogWatcherEvents> {
  readonly #o: ResolvedOptions;
  readonly #specs: readonly FileSpec[];
  readonly #engine: RuleEngine;
  readonly #tailers = new Map<string, Tailer>();
  readonly #known = new Map<string, FilePosition>();
  readonly #dirWatchers = new Map<string, FSWatcher>();
  #journal: JournalSource | undefined;
  #saved: CheckpointState = { files: {} };
  /** The read buffers the tailers share, two so that one is read into while the other is matched. */
  #bufs: [Buffer, Buffer] | undefined;
  #cycle: Promise<void> | undefined;
  #again = false;
  #rescanDue = false;
  #saveTimer: (() => void) | undefined;
  #saving: Promise<void> = Promise.resolve();
  #lastSaved = '';
  #saveError = '';
  #nextCut = false;
  #journalLines = 0;
  #linesRead = 0;
  #bytesRead = 0;
  /** When the tailer last read (the clock once per read, shared by that read's lines); undefined before the first. */
  #readAt: number | undefined = undefined;
  #matches = 0;
  /** Missing paths and empty globs, with when they were last reported. */
  readonly #missing = new Map<string, number>();
  /** Globs that matched nothing at the last rescan. */
  readonly #emptyGlobs = new Set<string>();

  constructor(options: LogWatcherOptions) {
    super(options);
    this.#o = resolveOptions(options);
    this.#specs = this.#o.files.map((f) => parseFileSpec(f, this.#o.cwd));
    // Built here so a bad rule or option throws at construction, not at start().
    this.#engine = new RuleEngine({
      rules: this.#o.rules,
      hostname: this.#o.hostname,
      clock: this.clock,
      ...(this.#o.maxEvidence === undefined ? {} : { maxEvidence: this.#o.maxEvidence }),
      ...(this.#o.successAfterFailures === undefined ? {} : { successAfterFailures: this.#o.successAfterFailures }),
    });
  }

  /** Cumulative counters since construction. */
  get stats(): LogWatcherStats {
    let filesFollowed = 0;
    for (const tailer of this.#tailers.values()) if (tailer.following) filesFollowed++;
    return { linesRead: this.#linesRead, bytesRead: this.#bytesRead, matches: this.#matches, filesFollowed, filesMissing: this.#missing.size };
  }

  /** The followed paths: literal ones and what the globs matched so far. */
  get files(): string[] {
    return [...this.#tailers.keys()];
  }

  /**
   * Checks every file now instead of waiting for the next poll; resolves when the lines
   * written so far are handled. Useful in tests and before `stop()` in batch jobs.
   */
  async poll(): Promise<void> {
    if (this.state !== 'running') return;
    await this.#kick();
  }

  protected override async onStart(): Promise<void> {
    const o = this.#o;
    this.#bufs = [Buffer.allocUnsafe(READ_CHUNK), Buffer.allocUnsafe(READ_CHUNK)];
    if (o.stateFile !== undefined) this.#saved = await this.#loadState(resolve(o.cwd, o.stateFile));
    await this.#rescan(true);
    this.#checkMissing();
    if (o.journal) {
      this.#journal = new JournalSource(o.journal, this.#saved.journalCursor, o.startAt, {
        entry: (lines) => this.#onJournal(lines),
        error: (error) => this.emitError(error),
        warn: (message) => this.#warn(logWarning('unreadable', message, o.journal?.label ?? 'journal')),
        timer: (fn, ms) => this.setTimer(fn, ms),
        persistent: this.persistent,
        clock: this.clock,
      });
      await this.#journal.start();
    }
    this.setRepeating(() => void this.#kick(), o.pollInterval);
    this.setRepeating(() => {
      this.#rescanDue = true;
      void this.#kick();
    }, o.rescanInterval);
    this.setRepeating(() => this.#sweep(), o.sweepInterval);
    // The first read happens before start() resolves, so `startAt: 'beginning'` lines and a
    // restart's unread tail are already being handled when the caller gets control back.
    void this.#kick();
  }

  protected override async onStop(): Promise<void> {
    for (const w of this.#dirWatchers.values()) w.close();
    this.#dirWatchers.clear();
    await this.#journal?.stop();
    await this.#cycle;
    this.#saveTimer?.();
    await this.#save();
    await Promise.all([...this.#tailers.values()].map((t) => t.close()));
    this.#tailers.clear();
    this.#bufs = undefined;
  }

  // One poll cycle at a time; a kick during a cycle asks for one more afterwards, so a
  // burst of fs.watch events costs at most two cycles.
  #kick(): Promise<void> {
    // Once stopping, files are about to close: a late fs.watch event must not start a read.
    if (this.stopping && !this.#cycle) return Promise.resolve();
    if (this.#cycle) {
      this.#again = true;
      return this.#cycle;
    }
    this.#cycle = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pollAll();
        } while (this.#again && !this.stopping);
      } catch (error) {
        this.emitError(toError(error));
      } finally {
        this.#cycle = undefined;
      }
    })();
    return this.#cycle;
  }

  async #pollAll(): Promise<void> {
    // Due by its own timer (the one timer seam), not by comparing clocks: an injected clock
    // that stands still must not stop new files from being found.
    if (this.#rescanDue) {
      this.#rescanDue = false;
      await this.#rescan(false);
    }
    const bufs = this.#bufs;
    if (!bufs) return;
    for (const tailer of [...this.#tailers.values()]) {
      if (this.stopping) break;
      try {
        if (await tailer.poll(bufs[0], bufs[1])) this.#again = true;
      } catch (error) {
        this.emitError(toError(error));
      }
    }
    this.#checkMissing();
    this.#scheduleSave();
  }

  /**
   * A watched path that does not exist is an error the user must hear about (fail2ban
   * refuses to start such a jail): a `file-missing` warning at start and every
   * `missingWarningInterval` while it stays missing, `stats.filesMissing`, and a degraded
   * health check. The path is still waited for, and followed once it appears.
   */
  #checkMissing(): void {
    const now = this.clock();
    const missing = new Set<string>(this.#emptyGlobs);
    for (const spec of this.#specs) if (spec.kind === 'path' && this.#tailers.get(spec.path)?.missing === true) missing.add(spec.path);
    for (const path of this.#missing.keys()) if (!missing.has(path)) this.#missing.delete(path);
    for (const path of missing) {
      const last = this.#missing.get(path);
      if (last !== undefined && now - last < this.#o.missingWarningInterval) continue;
      this.#missing.set(path, now);
      const glob = this.#emptyGlobs.has(path);
      this.#warn(
        logWarning(
          'file-missing',
          glob ? `No file matches ${displayPath(path)}; nothing is read for it until one appears` : `${displayPath(path)} does not exist; it is not read until it appears`,
          path,
        ),
      );
    }
    const names = [...this.#missing.keys()];
    this.setHealthCheck(
      'files',
      names.length === 0,
      names.length === 0
        ? undefined
        : `missing: ${names
            .slice(0, 5)
            .map((p) => displayPath(p))
            .join(', ')}${names.length > 5 ? ', …' : ''}`,
    );
  }

  // Expands globs, creates tailers for new paths, forgets glob paths that are gone, and
  // (re)creates directory watches.
  async #rescan(initial: boolean): Promise<void> {
    const wanted = new Set<string>();
    const literal = new Set<string>();
    const dirs = new Set<string>();
    for (const spec of this.#specs) {
      if (spec.kind === 'path') {
        wanted.add(spec.path);
        literal.add(spec.path);
        dirs.add(dirname(spec.path));
      } else {
        const found = await expandGlob(spec);
        for (const path of found) wanted.add(path);
        if (found.length === 0) this.#emptyGlobs.add(spec.pattern);
        else this.#emptyGlobs.delete(spec.pattern);
        dirs.add(spec.base);
        if (!spec.deep) continue;
        for (const path of wanted) if (!literal.has(path)) dirs.add(dirname(path));
      }
    }
    for (const path of wanted) {
      if (this.#tailers.has(path) || this.stopping) continue;
      const tailer = new Tailer(
        path,
        {
          maxLineLength: this.#o.maxLineLength,
          rotateGrace: this.#o.rotateGrace,
          maxReadPerPoll: 64 * READ_CHUNK,
          noFollow: !literal.has(path),
          clock: this.clock,
          stopping: () => this.stopping,
        },
        this.#sink,
      );
      this.#tailers.set(path, tailer);
      // Files present at the first start honour startAt; a glob match found later is new.
      await tailer.init(this.#saved.files[path], initial ? this.#o.startAt : 'beginning', this.#saved.savedAt);
      if (!initial && tailer.following) this.#sink.rotate({ file: path, reason: 'create', whileStopped: false });
    }
    for (const [path, tailer] of this.#tailers) {
      if (!wanted.has(path) && !literal.has(path) && tailer.openFiles === 0) this.#tailers.delete(path);
    }
    if (this.#o.watch) for (const dir of dirs) this.#watchDir(dir);
  }

  #watchDir(dir: string): void {
    if (this.#dirWatchers.has(dir) || this.stopping) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false });
    } catch {
      return; // missing directory or no inotify slots: polling still sees everything
    }
    watcher.on('change', () => void this.#kick());
    watcher.on('error', () => {
      // The directory went away (or inotify failed); polling goes on, and the next
      // rescan watches it again once it exists.
      watcher.close();
      this.#dirWatchers.delete(dir);
    });
    this.#dirWatchers.set(dir, watcher);
  }

  readonly #sink: TailerSink = {
    line: (text, file, lineNumber) => this.#handle(text, file, lineNumber, this.#readAt),
    rotate: (event) => {
      this.logger.info(`hostwarden: ${displayPath(event.file)}: ${event.reason}${event.previousPath ? ` (previous file ${displayPath(event.previousPath)})` : ''}`);
      this.emitSafely('rotate', event);
    },
    warn: (warning) => {
      if (warning.code === 'line-truncated') this.#nextCut = true;
      this.#warn(warning);
    },
    bytes: (count) => {
      // Called once per read, before its lines: they share this reading of the clock.
      this.#readAt = this.clock();
      this.#bytesRead += count;
    },
    known: (st) => this.#knownPosition(st),
    closed: (position) => {
      this.#known.delete(`${position.dev}:${position.ino}`);
      this.#known.set(`${position.dev}:${position.ino}`, position);
      if (this.#known.size > KNOWN_LIMIT) this.#known.delete(this.#known.keys().next().value as string);
    },
  };

  #knownPosition(st: BigIntStats): 'open' | FilePosition | undefined {
    for (const tailer of this.#tailers.values()) if (tailer.holds(st)) return 'open';
    return this.#known.get(`${st.dev}:${st.ino}`);
  }

  // Runs the rules on one line and emits what it produced. The checkpoint only moves past
  // this line after this returns, i.e. after every listener ran.
  #handle(text: string, file: string, lineNumber: number, readAt: number | undefined): void {
    this.#linesRead++;
    const cut = this.#nextCut;
    this.#nextCut = false;
    let result: HandleResult;
    try {
      result = this.#engine.handleLine(text, file, lineNumber, cut, readAt);
    } catch (error) {
      this.emitError(toError(error));
      return;
    }
    // Index loops: iterators here were allocated for every line of a busy log.
    const { matches, alerts } = result;
    for (let i = 0; i < matches.length; i++) {
      this.#matches++;
      this.emitSafely('match', matches[i] as LogMatch);
    }
    for (let i = 0; i < alerts.length; i++) this.emitSafely('alert', alerts[i] as Alert);
  }

  // The cursor moves (in JournalSource) only after this returns, i.e. after the listeners ran.
  #onJournal(lines: readonly string[]): void {
    const label = this.#o.journal?.label ?? 'journal';
    const max = this.#o.maxLineLength;
    const readAt = this.clock();
    for (let line of lines) {
      const lineNumber = ++this.#journalLines;
      // Same limit as for files: a huge message is cut, flagged and reported, never dropped.
      if (line.length * 3 > max && Buffer.byteLength(line) > max) {
        const bytes = Buffer.from(line);
        let end = max;
        while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
        line = bytes.toString('utf8', 0, end);
        this.#sink.warn(
          logWarning('line-truncated', `Entry ${lineNumber} of ${label} is longer than maxLineLength (${max} bytes); ${bytes.length - max} bytes were cut`, label, {
            lineNumber,
            cutBytes: bytes.length - max,
          }),
        );
      }
      this.#handle(line, label, lineNumber, readAt);
    }
    this.#scheduleSave();
  }

  #sweep(): void {
    const alerts = this.#engine.sweep(this.clock());
    for (const alert of alerts) this.emitSafely('alert', alert);
  }

  #warn(warning: LogWatcherWarning): void {
    this.logger.warn(`hostwarden: ${warning.message}`);
    this.emitSafely('warning', warning);
  }

  async #loadState(path: string): Promise<CheckpointState> {
    try {
      return await loadCheckpoint(path);
    } catch (error) {
      const cause = toError(error);
      // Keep the bad file for a post-mortem instead of overwriting it at the next save.
      const aside = `${path}.corrupt`;
      const kept = await rename(path, aside).then(
        () => true,
        () => false,
      );
      this.#warn(
        logWarning('state-discarded', `${cause.message}; starting from startAt ('${this.#o.startAt}')${kept ? `; the bad file was moved to ${aside}` : ''}`, path, { cause }),
      );
      return { files: {} };
    }
  }

  #scheduleSave(): void {
    if (this.#o.stateFile === undefined || this.#saveTimer || this.stopping) return;
    this.#saveTimer = this.setTimer(() => {
      this.#saveTimer = undefined;
      void this.#save();
    }, this.#o.checkpointInterval);
  }

  // Saves are chained so two never race on the temporary file or the rename.
  #save(): Promise<void> {
    if (this.#o.stateFile === undefined) return Promise.resolve();
    const path = resolve(this.#o.cwd, this.#o.stateFile);
    this.#saving = this.#saving.then(async () => {
      const files: Record<string, PathState> = {};
      for (const [file, tailer] of this.#tailers) files[file] = tailer.positions();
      const cursor = this.#journal?.cursor ?? this.#saved.journalCursor;
      const state: CheckpointState = cursor === undefined ? { files } : { files, journalCursor: cursor };
      const text = JSON.stringify(state);
      if (text === this.#lastSaved) return;
      try {
        await saveCheckpoint(path, state);
        this.#lastSaved = text;
        this.#saveError = '';
      } catch (error) {
        const err = toError(error);
        // A full disk would fail every second; report it once until it recovers.
        if (err.message !== this.#saveError) this.emitError(err);
        this.#saveError = err.message;
      }
    });
    return this.#saving;
  }
}
