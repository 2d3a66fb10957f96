import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PinnedDirectory } from '../core/durable-fs.js';
import type { Alert } from '../core/alert.js';
import { IoError, StateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isSeverity, type Severity } from '../core/severity.js';

/** Options of the Notifier's durable outbox. */
export interface OutboxOptions {
  /**
   * Directory holding `outbox.jsonl`, `dead-letter.jsonl`, `outbox.lock` and, when a line
   * could not be read, `outbox.jsonl.corrupt` (created 0700; no symlink in the path is followed).
   */
  readonly directory: string;
  /**
   * How long an accepted alert may wait for delivery before it goes to the dead-letter file, in ms.
   * @defaultValue `86_400_000` (24 h)
   */
  readonly ttl?: number;
  /**
   * Delivery attempts per channel (across restarts) before an entry goes to the dead-letter
   * file. With the default backoff (at most a minute apart) the TTL usually comes first, so
   * an alert accepted during a long outage still arrives after it.
   * @defaultValue `1000`
   */
  readonly maxAttempts?: number;
  /**
   * Records appended before the file is rewritten without finished entries.
   * @defaultValue `1000`
   */
  readonly compactAfter?: number;
}

/** What the outbox remembers about one accepted alert. @internal */
export interface OutboxEntry {
  readonly id: string;
  readonly acceptedAt: number;
  readonly alert: Alert;
  /** Channels still owed a delivery, with the attempts already made. */
  readonly channels: Map<string, number>;
  /** For a resolved notice: each channel's receipt of the firing message, to thread under it. */
  refs?: Map<string, string>;
}

/** A dedup memory row, so a restart does not re-announce what was already announced. @internal */
export interface SeenRecord {
  readonly key: string;
  readonly channel: string;
  readonly at: number;
  /** The announced alert's own time; absent in records written before it was kept. */
  readonly observed?: number;
  readonly severity: Severity;
  readonly ref?: string;
}

type OutboxRecord =
  | { t: 'a'; id: string; at: number; alert: SerializedAlert; ch: string[]; refs?: Record<string, string> }
  | { t: 'd'; id: string; ch: string; ref?: string }
  | { t: 'n'; id: string; ch: string; n: number }
  | { t: 'x'; id: string; ch: string }
  | { t: 's'; key: string; ch: string; at: number; obs?: number; sev: Severity; ref?: string };

type SerializedAlert = Omit<Alert, 'time'> & { time: string };

/**
 * An append-only JSONL journal of accepted alerts and their per-channel delivery state.
 * Appends are group-committed (one write and one fdatasync for everything queued), so
 * `append()` resolves only once the alert is on disk yet a burst costs a few syncs.
 * A pid lock file keeps two Notifiers from sharing one outbox.
 * @internal
 */
export class Outbox {
  readonly #dir: string;
  readonly #file: string;
  readonly #deadFile: string;
  readonly #lockFile: string;
  /** The directory, pinned at open(): every file operation is relative to it. */
  #pinned: PinnedDirectory | undefined;
  readonly #compactAfter: number;
  readonly #logger: Logger;
  readonly #snapshotSeen: () => Iterable<SeenRecord>;
  readonly #entries = new Map<string, OutboxEntry>();
  #handle: FileHandle | undefined;
  #queue: string[] = [];
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #writing: Promise<void> | undefined;
  #sinceCompaction = 0;
  #corruptLines = 0;
  /** Set when unreadable lines could not be kept aside: compaction would lose them. */
  #keepJournal = false;
  #torn = false;
  #locked = false;
  readonly #sideWrites = new Set<Promise<void>>();
  /** Between open() and close(); the handle itself is briefly absent while compacting. */
  #open = false;

  constructor(options: { directory: string; compactAfter: number; logger: Logger; snapshotSeen: () => Iterable<SeenRecord> }) {
    this.#dir = resolve(options.directory);
    this.#file = join(this.#dir, FILE);
    this.#deadFile = join(this.#dir, DEAD_FILE);
    this.#lockFile = join(this.#dir, LOCK_FILE);
    this.#compactAfter = options.compactAfter;
    this.#logger = options.logger;
    this.#snapshotSeen = options.snapshotSeen;
  }

  /** Entries with at least one channel still owed a delivery. */
  get depth(): number {
    return this.#entries.size;
  }

  /** When the oldest entry still owed was accepted (ms since the epoch), if any. */
  get oldestAcceptedAt(): number | undefined {
    // Entries are kept in acceptance order (a Map keeps insertion order).
    for (const entry of this.#entries.values()) return entry.acceptedAt;
    return undefined;
  }

  /** Path of the dead-letter file. */
  get deadLetterPath(): string {
    return this.#deadFile;
  }

  /**
   * Locks the directory, replays the journal and compacts it. Returns the undelivered
   * entries and the remembered dedup state.
   */
  async open(): Promise<{ entries: OutboxEntry[]; seen: SeenRecord[] }> {
    try {
      this.#pinned = await PinnedDirectory.open(this.#dir, { createMode: 0o700 });
    } catch (cause) {
      throw new IoError(`Cannot open the outbox directory ${this.#dir}`, { path: this.#dir, syscall: 'open', cause });
    }
    try {
      await this.#lock();
    } catch (error) {
      await this.#release();
      throw error;
    }
    const seen = new Map<string, SeenRecord>();
    let text = '';
    try {
      const handle = await this.#pinned.openFile(FILE, fsConstants.O_RDONLY);
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
        await this.#unlock();
        await this.#release();
        throw new IoError(`Cannot read the outbox ${this.#file}`, { path: this.#file, syscall: 'read', cause });
      }
    }
    const corrupt: string[] = [];
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        corrupt.push(line); // a line torn by a crash mid-write (its notify() never resolved), or garbage
        continue;
      }
      if (!this.#replay(record, seen)) corrupt.push(line);
    }
    if (corrupt.length > 0) await this.#keepAside(corrupt);
    const entries = [...this.#entries.values()];
    try {
      await this.#compact([...seen.values()]);
    } catch (cause) {
      if (this.#handle === undefined) {
        await this.#unlock();
        await this.#release();
        throw new IoError(`Cannot open the outbox ${this.#file}`, { path: this.#file, syscall: 'open', cause });
      }
      this.#logger.error('Outbox: cannot compact (disk full?); appending to the journal as it is', { file: this.#file, error: String(cause) });
    }
    this.#open = true;
    return { entries, seen: [...seen.values()] };
  }

  /** Lines that could not be replayed, from the last open(); kept in `outbox.jsonl.corrupt`. */
  get corruptLines(): number {
    return this.#corruptLines;
  }

  // Unreadable lines are never dropped silently: compaction would erase them, so they are
  // appended (fsync'd) to a side file first, for a person to look at.
  async #keepAside(lines: readonly string[]): Promise<void> {
    this.#corruptLines = lines.length;
    const path = join(this.#dir, CORRUPT_FILE);
    try {
      const handle = await this.#dir_().openFile(CORRUPT_FILE, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
      try {
        await handle.appendFile(`${lines.join('\n')}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      this.#logger.warn('Outbox: skipped unreadable records and kept them aside', { file: this.#file, keptIn: path, count: lines.length });
    } catch (cause) {
      // Without a copy, compaction would lose them: keep the journal as it is instead.
      this.#keepJournal = true;
      this.#logger.error('Outbox: skipped unreadable records and cannot keep them aside; the journal is not compacted', {
        file: this.#file,
        count: lines.length,
        error: String(cause),
      });
    }
  }

  /** Records an accepted alert owed to `channels`; resolves once it is fsync'd. */
  async append(alert: Alert, channels: readonly string[], acceptedAt: number, refs?: ReadonlyMap<string, string>): Promise<string> {
    if (!this.#open) throw new StateError('The outbox is not open');
    const id = randomUUID();
    const entry: OutboxEntry = { id, acceptedAt, alert, channels: new Map(channels.map((c) => [c, 0])) };
    const record: OutboxRecord = { t: 'a', id, at: acceptedAt, alert: serializeAlert(alert), ch: [...channels] };
    if (refs !== undefined && refs.size > 0) {
      entry.refs = new Map(refs);
      record.refs = Object.fromEntries(refs);
    }
    this.#entries.set(id, entry);
    try {
      await this.#write(JSON.stringify(record));
    } catch (error) {
      this.#entries.delete(id); // not on disk, so not accepted
      throw error;
    }
    return id;
  }

  /** Marks a channel's delivery done (a lost record only costs a duplicate, so not awaited). */
  markDone(id: string, channel: string, ref?: string): void {
    const record: OutboxRecord = ref === undefined ? { t: 'd', id, ch: channel } : { t: 'd', id, ch: channel, ref };
    this.#finish(id, channel, record);
  }

  /** Marks a channel's delivery as given up (permanent failure, TTL or max attempts). */
  markDead(id: string, channel: string): void {
    this.#finish(id, channel, { t: 'x', id, ch: channel });
  }

  /** Records a failed attempt so attempts count across restarts. */
  markAttempt(id: string, channel: string): number {
    const entry = this.#entries.get(id);
    const n = (entry?.channels.get(channel) ?? 0) + 1;
    if (entry?.channels.has(channel)) entry.channels.set(channel, n);
    this.#background(JSON.stringify({ t: 'n', id, ch: channel, n } satisfies OutboxRecord));
    return n;
  }

  /** Attempts already made for an entry's channel (including earlier processes). */
  attempts(id: string, channel: string): number {
    return this.#entries.get(id)?.channels.get(channel) ?? 0;
  }

  /** When an entry was accepted, if it is still owed. */
  acceptedAt(id: string): number | undefined {
    return this.#entries.get(id)?.acceptedAt;
  }

  /** Appends an alert that could not be delivered to the dead-letter file (fsync'd). */
  deadLetter(id: string, channel: string, reason: string, now: number): Promise<void> {
    // close() waits for these, so the 'dead' record is journalled before the file is closed.
    const task = this.#deadLetter(id, channel, reason, now).finally(() => this.#sideWrites.delete(task));
    this.#sideWrites.add(task);
    return task;
  }

  async #deadLetter(id: string, channel: string, reason: string, now: number): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    const line = `${JSON.stringify({
      at: new Date(now).toISOString(),
      channel,
      reason,
      attempts: entry.channels.get(channel) ?? 0,
      acceptedAt: new Date(entry.acceptedAt).toISOString(),
      alert: serializeAlert(entry.alert),
    })}\n`;
    let handle: FileHandle | undefined;
    try {
      handle = await this.#dir_().openFile(DEAD_FILE, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
      await handle.appendFile(line);
      await handle.datasync();
    } catch (cause) {
      throw new IoError(`Cannot write the dead-letter file ${this.#deadFile}`, { path: this.#deadFile, syscall: 'write', cause });
    } finally {
      await handle?.close().catch(() => {});
    }
    this.markDead(id, channel);
  }

  /** Waits for queued records, compacts, closes and unlocks. */
  async close(): Promise<void> {
    if (!this.#open) return;
    await Promise.allSettled([...this.#sideWrites]);
    this.#open = false;
    try {
      await this.#drain();
      await this.#compact([...this.#snapshotSeen()]).catch((error: unknown) =>
        this.#logger.error('Outbox: cannot compact on close (disk full?); the journal stays valid', { file: this.#file, error: String(error) }),
      );
    } finally {
      await this.#handle?.close().catch(() => {});
      this.#handle = undefined;
      await this.#unlock();
      await this.#release();
    }
  }

  #dir_(): PinnedDirectory {
    if (this.#pinned === undefined) throw new StateError('The outbox is not open');
    return this.#pinned;
  }

  async #release(): Promise<void> {
    await this.#pinned?.close().catch(() => {});
    this.#pinned = undefined;
  }

  // Returns false for a line that is not a record this version understands (`null`, an
  // array, an unknown type, missing fields): the caller keeps it aside.
  #replay(raw: unknown, seen: Map<string, SeenRecord>): boolean {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
    const record = raw as OutboxRecord;
    const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    switch (record.t) {
      case 'a': {
        const alert = reviveAlert(record.alert);
        if (alert === undefined || !str(record.id) || !num(record.at) || !Array.isArray(record.ch) || !record.ch.every(str)) return false;
        const entry: OutboxEntry = { id: record.id, acceptedAt: record.at, alert, channels: new Map(record.ch.map((c) => [c, 0])) };
        if (typeof record.refs === 'object' && record.refs !== null) {
          entry.refs = new Map(Object.entries(record.refs).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
        }
        this.#entries.set(record.id, entry);
        return true;
      }
      case 'd':
      case 'x': {
        if (!str(record.id) || !str(record.ch)) return false;
        const entry = this.#entries.get(record.id);
        if (entry === undefined) return true; // finished before the last compaction
        entry.channels.delete(record.ch);
        if (entry.channels.size === 0) this.#entries.delete(record.id);
        const ref = record.t === 'd' && typeof record.ref === 'string' ? record.ref : undefined;
        if (record.t === 'd' && entry.alert.status === 'firing') {
          seen.set(
            `${entry.alert.key}\u0000${record.ch}`,
            withRef({ key: entry.alert.key, channel: record.ch, at: entry.acceptedAt, observed: entry.alert.time.getTime(), severity: entry.alert.severity }, ref),
          );
        } else if (record.t === 'd') {
          seen.delete(`${entry.alert.key}\u0000${record.ch}`);
        }
        return true;
      }
      case 'n': {
        if (!str(record.id) || !str(record.ch) || !num(record.n)) return false;
        const entry = this.#entries.get(record.id);
        if (entry?.channels.has(record.ch)) entry.channels.set(record.ch, record.n);
        return true;
      }
      case 's':
        if (!str(record.key) || !str(record.ch) || !num(record.at) || !isSeverity(record.sev)) return false;
        seen.set(
          `${record.key}\u0000${record.ch}`,
          withRef(
            { key: record.key, channel: record.ch, at: record.at, ...(num(record.obs) ? { observed: record.obs } : {}), severity: record.sev },
            typeof record.ref === 'string' ? record.ref : undefined,
          ),
        );
        return true;
      default:
        return false;
    }
  }

  #finish(id: string, channel: string, record: OutboxRecord): void {
    const entry = this.#entries.get(id);
    if (entry === undefined || !entry.channels.delete(channel)) return;
    if (entry.channels.size === 0) this.#entries.delete(id);
    this.#background(JSON.stringify(record));
  }

  #background(line: string): void {
    if (!this.#open) return;
    this.#write(line).catch((error: unknown) => this.#logger.error('Outbox: cannot record delivery state', { error: String(error) }));
  }

  #write(line: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push(line);
      this.#waiters.push({ resolve, reject });
      this.#writing ??= this.#writeLoop();
    });
  }

  async #drain(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  // One write + one fdatasync per batch: a burst of notify() calls shares a sync.
  async #writeLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const lines = this.#queue;
        const waiters = this.#waiters;
        this.#queue = [];
        this.#waiters = [];
        try {
          const handle = this.#handle;
          if (handle === undefined) throw new StateError('The outbox is closed');
          // After a failed write (ENOSPC mid-line) start on a fresh line, so the torn
          // fragment cannot swallow the next, durable record.
          await handle.appendFile(`${this.#torn ? '\n' : ''}${lines.join('\n')}\n`);
          await handle.datasync();
          this.#torn = false;
          this.#sinceCompaction += lines.length;
          for (const w of waiters) w.resolve();
        } catch (cause) {
          this.#torn = true;
          const error = cause instanceof StateError ? cause : new IoError(`Cannot write the outbox ${this.#file}`, { path: this.#file, syscall: 'write', cause });
          for (const w of waiters) w.reject(error);
        }
        // Records queued meanwhile are harmless after a compaction: a repeated 'a' replays to
        // the same entry and a 'd' for an entry the compaction dropped is ignored.
        if (this.#sinceCompaction >= this.#compactAfter) {
          await this.#compact([...this.#snapshotSeen()]).catch((error: unknown) =>
            this.#logger.error('Outbox: compaction failed; the journal keeps growing', { error: String(error) }),
          );
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  // Rewrites the journal with only what is still owed plus the dedup memory: write a
  // temp file, fsync it, rename over, fsync the directory, so a crash leaves either file.
  async #compact(seen: readonly SeenRecord[]): Promise<void> {
    const lines: string[] = [];
    for (const s of seen)
      lines.push(JSON.stringify(withRef({ t: 's', key: s.key, ch: s.channel, at: s.at, ...(s.observed === undefined ? {} : { obs: s.observed }), sev: s.severity }, s.ref)));
    for (const e of this.#entries.values()) {
      const record: OutboxRecord = { t: 'a', id: e.id, at: e.acceptedAt, alert: serializeAlert(e.alert), ch: [...e.channels.keys()] };
      if (e.refs !== undefined && e.refs.size > 0) record.refs = Object.fromEntries(e.refs);
      lines.push(JSON.stringify(record));
      for (const [ch, n] of e.channels) if (n > 0) lines.push(JSON.stringify({ t: 'n', id: e.id, ch, n } satisfies OutboxRecord));
    }
    if (this.#keepJournal) {
      this.#handle ??= await this.#openJournal();
      return;
    }
    const dir = this.#dir_();
    try {
      await dir.writeFileAtomic(FILE, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    } catch (error) {
      // A full disk: the journal as it is stays valid, so keep appending to it.
      this.#handle ??= await this.#openJournal();
      throw error;
    }
    // The old handle points at the replaced file: appends must go to the new one.
    await this.#handle?.close().catch(() => {});
    this.#handle = undefined;
    this.#handle = await this.#openJournal();
    this.#sinceCompaction = 0;
  }

  #openJournal(): Promise<FileHandle> {
    return this.#dir_().openFile(FILE, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
  }

  async #lock(): Promise<void> {
    const dir = this.#dir_();
    for (let tries = 0; tries < 2; tries++) {
      try {
        const handle = await dir.openFile(LOCK_FILE, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
        try {
          await handle.writeFile(`${JSON.stringify({ pid: process.pid, start: await processStart(process.pid) })}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        this.#locked = true;
        return;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new IoError(`Cannot create the outbox lock ${this.#lockFile}`, { path: this.#lockFile, syscall: 'open', cause });
        }
      }
      let text = '';
      try {
        const handle = await dir.openFile(LOCK_FILE, fsConstants.O_RDONLY);
        try {
          text = await handle.readFile('utf8');
        } finally {
          await handle.close();
        }
      } catch {
        // Removed meanwhile, or not a regular file: treated as stale below.
      }
      const { pid, start } = parseLock(text);
      if (pid !== undefined && (await holds(pid, start))) {
        throw new StateError(
          `The outbox ${this.#dir} is in use by process ${pid}${pid === process.pid ? ' (this process: another Notifier)' : ''}; give each Notifier its own directory`,
        );
      }
      // The holder died (e.g. killed by SIGKILL) without unlocking, or its pid now belongs
      // to an unrelated process (a different start time): the lock is stale.
      this.#logger.warn('Outbox: removing a stale lock', { file: this.#lockFile, pid: pid ?? null });
      await dir.unlink(LOCK_FILE).catch(() => {});
    }
    throw new StateError(`Cannot lock the outbox ${this.#dir}: another process keeps taking the lock`);
  }

  async #unlock(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await this.#pinned?.unlink(LOCK_FILE).catch(() => {});
  }
}

const FILE = 'outbox.jsonl';
const DEAD_FILE = 'dead-letter.jsonl';
const LOCK_FILE = 'outbox.lock';
const CORRUPT_FILE = 'outbox.jsonl.corrupt';

/**
 * A process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`),
 * which with the pid identifies one process for the life of the machine: a pid reused
 * by an unrelated process has another start time. `undefined` when /proc cannot say.
 * @internal
 */
export async function processStart(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain ") ": the fields
  // after it start behind the last one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]); // field 22 overall; field 3 is fields[0]
  return Number.isSafeInteger(start) ? start : undefined;
}

function parseLock(text: string): { pid: number | undefined; start: number | undefined } {
  const asPid = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { pid: undefined, start: undefined };
  }
  if (typeof value === 'number') return { pid: asPid(value), start: undefined }; // a bare pid
  if (typeof value !== 'object' || value === null) return { pid: undefined, start: undefined };
  const { pid, start } = value as { pid?: unknown; start?: unknown };
  return { pid: asPid(pid), start: typeof start === 'number' ? start : undefined };
}

// Whether the process that wrote the lock still runs: its pid is alive and, when the lock
// recorded one, it started at the same tick (so it is the same process, not a reuse).
async function holds(pid: number, start: number | undefined): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === undefined) return true; // an old lock: the pid is all we know
  const now = await processStart(pid);
  return now === undefined || now === start;
}

function withRef<T extends object>(value: T, ref: string | undefined): T & { ref?: string } {
  return ref === undefined ? value : { ...value, ref };
}

function serializeAlert(alert: Alert): SerializedAlert {
  return { ...alert, time: alert.time.toISOString() };
}

function reviveAlert(raw: unknown): Alert | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const a = raw as Record<string, unknown>;
  const time = new Date(typeof a.time === 'string' ? a.time : Number.NaN);
  const strings = ['id', 'key', 'source', 'rule', 'title', 'summary', 'hostname'] as const;
  if (strings.some((f) => typeof a[f] !== 'string') || !isSeverity(a.severity) || Number.isNaN(time.getTime())) return undefined;
  if (a.status !== 'firing' && a.status !== 'resolved') return undefined;
  if (typeof a.labels !== 'object' || a.labels === null) return undefined;
  const alert = { ...(a as unknown as SerializedAlert), time };
  return alert;
}
