import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert } from '../core/alert.js';
import { IoError, StateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isSeverity, type Severity } from '../core/severity.js';

/** Options of the Notifier's durable outbox. */
export interface OutboxOptions {
  /** Directory holding `outbox.jsonl`, `dead-letter.jsonl` and `outbox.lock` (created 0700). */
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
  readonly severity: Severity;
  readonly ref?: string;
}

type OutboxRecord =
  | { t: 'a'; id: string; at: number; alert: SerializedAlert; ch: string[]; refs?: Record<string, string> }
  | { t: 'd'; id: string; ch: string; ref?: string }
  | { t: 'n'; id: string; ch: string; n: number }
  | { t: 'x'; id: string; ch: string }
  | { t: 's'; key: string; ch: string; at: number; sev: Severity; ref?: string };

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
  readonly #compactAfter: number;
  readonly #logger: Logger;
  readonly #snapshotSeen: () => Iterable<SeenRecord>;
  readonly #entries = new Map<string, OutboxEntry>();
  #handle: FileHandle | undefined;
  #queue: string[] = [];
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #writing: Promise<void> | undefined;
  #sinceCompaction = 0;
  #torn = false;
  #locked = false;
  readonly #sideWrites = new Set<Promise<void>>();
  /** Between open() and close(); the handle itself is briefly absent while compacting. */
  #open = false;

  constructor(options: { directory: string; compactAfter: number; logger: Logger; snapshotSeen: () => Iterable<SeenRecord> }) {
    this.#dir = options.directory;
    this.#file = join(options.directory, 'outbox.jsonl');
    this.#deadFile = join(options.directory, 'dead-letter.jsonl');
    this.#lockFile = join(options.directory, 'outbox.lock');
    this.#compactAfter = options.compactAfter;
    this.#logger = options.logger;
    this.#snapshotSeen = options.snapshotSeen;
  }

  /** Entries with at least one channel still owed a delivery. */
  get depth(): number {
    return this.#entries.size;
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
    await mkdir(this.#dir, { recursive: true, mode: 0o700 }).catch((cause: unknown) => {
      throw new IoError(`Cannot create the outbox directory ${this.#dir}`, { path: this.#dir, syscall: 'mkdir', cause });
    });
    await this.#lock();
    const seen = new Map<string, SeenRecord>();
    let text = '';
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
        await this.#unlock();
        throw new IoError(`Cannot read the outbox ${this.#file}`, { path: this.#file, syscall: 'read', cause });
      }
    }
    let bad = 0;
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let record: OutboxRecord;
      try {
        record = JSON.parse(line) as OutboxRecord;
      } catch {
        bad++; // a line torn by a crash mid-write: its notify() never resolved
        continue;
      }
      this.#replay(record, seen, () => bad++);
    }
    if (bad > 0) this.#logger.warn('Outbox: skipped unreadable records', { file: this.#file, count: bad });
    const entries = [...this.#entries.values()];
    try {
      await this.#compact([...seen.values()]);
    } catch (cause) {
      if (this.#handle === undefined) {
        await this.#unlock();
        throw new IoError(`Cannot open the outbox ${this.#file}`, { path: this.#file, syscall: 'open', cause });
      }
      this.#logger.error('Outbox: cannot compact (disk full?); appending to the journal as it is', { file: this.#file, error: String(cause) });
    }
    this.#open = true;
    return { entries, seen: [...seen.values()] };
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
      handle = await open(this.#deadFile, 'a', 0o600);
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
    }
  }

  #replay(record: OutboxRecord, seen: Map<string, SeenRecord>, onBad: () => void): void {
    switch (record.t) {
      case 'a': {
        const alert = reviveAlert(record.alert);
        if (alert === undefined || !Array.isArray(record.ch)) return onBad();
        const entry: OutboxEntry = { id: record.id, acceptedAt: record.at, alert, channels: new Map(record.ch.map((c) => [c, 0])) };
        if (typeof record.refs === 'object' && record.refs !== null) {
          entry.refs = new Map(Object.entries(record.refs).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
        }
        this.#entries.set(record.id, entry);
        return;
      }
      case 'd':
      case 'x': {
        const entry = this.#entries.get(record.id);
        if (entry === undefined) return;
        entry.channels.delete(record.ch);
        if (entry.channels.size === 0) this.#entries.delete(record.id);
        if (record.t === 'd' && entry.alert.status === 'firing') {
          seen.set(`${entry.alert.key}\u0000${record.ch}`, withRef({ key: entry.alert.key, channel: record.ch, at: entry.acceptedAt, severity: entry.alert.severity }, record.ref));
        } else if (record.t === 'd') {
          seen.delete(`${entry.alert.key}\u0000${record.ch}`);
        }
        return;
      }
      case 'n': {
        const entry = this.#entries.get(record.id);
        if (entry?.channels.has(record.ch)) entry.channels.set(record.ch, record.n);
        return;
      }
      case 's':
        if (typeof record.key !== 'string' || typeof record.ch !== 'string' || !isSeverity(record.sev)) return onBad();
        seen.set(`${record.key}\u0000${record.ch}`, withRef({ key: record.key, channel: record.ch, at: record.at, severity: record.sev }, record.ref));
        return;
      default:
        onBad();
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
    for (const s of seen) lines.push(JSON.stringify(withRef({ t: 's', key: s.key, ch: s.channel, at: s.at, sev: s.severity }, s.ref)));
    for (const e of this.#entries.values()) {
      const record: OutboxRecord = { t: 'a', id: e.id, at: e.acceptedAt, alert: serializeAlert(e.alert), ch: [...e.channels.keys()] };
      if (e.refs !== undefined && e.refs.size > 0) record.refs = Object.fromEntries(e.refs);
      lines.push(JSON.stringify(record));
      for (const [ch, n] of e.channels) if (n > 0) lines.push(JSON.stringify({ t: 'n', id: e.id, ch, n } satisfies OutboxRecord));
    }
    const tmp = `${this.#file}.tmp`;
    try {
      const out = await open(tmp, 'w', 0o600);
      try {
        await out.writeFile(lines.length > 0 ? `${lines.join('\n')}\n` : '');
        await out.sync();
      } finally {
        await out.close();
      }
    } catch (error) {
      // A full disk: the journal as it is stays valid, so keep appending to it.
      await unlink(tmp).catch(() => {});
      this.#handle ??= await open(this.#file, 'a', 0o600);
      throw error;
    }
    await this.#handle?.close().catch(() => {});
    this.#handle = undefined;
    await rename(tmp, this.#file);
    await syncDirectory(this.#dir);
    this.#handle = await open(this.#file, 'a', 0o600);
    this.#sinceCompaction = 0;
  }

  async #lock(): Promise<void> {
    for (let tries = 0; tries < 2; tries++) {
      try {
        const handle = await open(this.#lockFile, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
        await handle.writeFile(`${JSON.stringify({ pid: process.pid, started: PROCESS_STARTED })}\n`);
        await handle.close();
        this.#locked = true;
        return;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new IoError(`Cannot create the outbox lock ${this.#lockFile}`, { path: this.#lockFile, syscall: 'open', cause });
        }
      }
      const { pid, started } = parseLock(await readFile(this.#lockFile, 'utf8').catch(() => ''));
      if (pid !== undefined && isAlive(pid, started)) {
        throw new StateError(`The outbox ${this.#dir} is in use by process ${pid}${pid === process.pid ? ' (this process: another Notifier)' : ''}; give each Notifier its own directory`);
      }
      // The holder died (e.g. killed by SIGKILL) without unlocking: the lock is stale.
      this.#logger.warn('Outbox: removing a stale lock', { file: this.#lockFile, pid: pid ?? null });
      await unlink(this.#lockFile).catch(() => {});
    }
    throw new StateError(`Cannot lock the outbox ${this.#dir}: another process keeps taking the lock`);
  }

  async #unlock(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await unlink(this.#lockFile).catch(() => {});
  }
}

// When this process started (ms since the epoch), recorded in the lock: in a container the
// application is often pid 1 in every incarnation, so a pid alone cannot tell "another
// Notifier in this process" from "the previous incarnation of this container".
const PROCESS_STARTED = Math.round(Date.now() - process.uptime() * 1000);

function parseLock(text: string): { pid: number | undefined; started: number | undefined } {
  const asPid = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { pid: undefined, started: undefined };
  }
  if (typeof value === 'number') return { pid: asPid(value), started: undefined }; // a bare pid
  if (typeof value !== 'object' || value === null) return { pid: undefined, started: undefined };
  const { pid, started } = value as { pid?: unknown; started?: unknown };
  return { pid: asPid(pid), started: typeof started === 'number' ? started : undefined };
}

function isAlive(pid: number, started: number | undefined): boolean {
  if (pid === process.pid) return started === undefined || Math.abs(started - PROCESS_STARTED) < 2000;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  await handle.sync().catch(() => {}); // some file systems refuse fsync on directories
  await handle.close();
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
