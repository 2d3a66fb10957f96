/**
 * The ban state on disk: an append-only JSON-lines journal (one fsync'd write per batch
 * of bans, so thousands of bans a second cost a few small writes, not a rewrite of 20,000
 * entries each time), compacted by an atomic rewrite on open and when it has grown.
 * Every file operation goes through a directory pinned without following symlinks.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { IoError } from '../core/errors.js';
import { PinnedDirectory, splitParent } from '../core/durable-fs.js';
import { parseNetwork, formatNetwork } from './address.js';
import { createWarning, type Warning } from '../core/warning.js';

/** A ban as stored: times in ms since the epoch. */
export interface StoredBan {
  /** The banned network's canonical text. */
  readonly address: string;
  /** The rule that caused it (`sshd.brute-force`, `manual`, `subnet`). */
  readonly rule: string;
  /** Why, for people. */
  readonly reason: string;
  /** When it started. */
  readonly since: number;
  /** When it ends. */
  readonly until: number;
  /** How many times this network has been banned (1 for the first ban). */
  readonly count: number;
}

/** What an offender's past bans leave behind for escalation after the ban ended. */
export interface OffenderRecord {
  /** The network's canonical text. */
  readonly address: string;
  /** How many times it was banned. */
  readonly count: number;
  /** When its last ban ended (or ends). */
  readonly lastUntil: number;
}

/** A journal record. */
export type StateRecord = ({ readonly t: 'ban' } & StoredBan) | { readonly t: 'unban'; readonly address: string } | ({ readonly t: 'offender' } & OffenderRecord);

const HEADER = { hostwarden: 'bans', version: 1 } as const;

/** The two moments of an append: in the file, and on disk. */
export interface AppendReceipt {
  /** In the file (survives a SIGKILL). */
  readonly written: Promise<void>;
  /** fdatasync'd (survives a power loss). */
  readonly durable: Promise<void>;
}

interface Waiter {
  resolveWritten: () => void;
  rejectWritten: (e: Error) => void;
  resolveDurable: () => void;
  rejectDurable: (e: Error) => void;
}

type Operation =
  | { readonly kind: 'lines'; readonly lines: string[]; readonly waiters: Waiter[] }
  | { readonly kind: 'compact'; readonly lines: readonly string[]; readonly waiters: Waiter[]; readonly resolve: () => void; readonly reject: (e: Error) => void };

/** What {@link BanStateFile.open} read back. */
export interface LoadedState {
  /** Bans that were active when last written (expired ones included: the caller drops them). */
  readonly bans: Map<string, StoredBan>;
  /** Past offenders. */
  readonly offenders: Map<string, OffenderRecord>;
  /** Lines that could not be used, each reported. */
  readonly warnings: Warning[];
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkAddress(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const n = parseNetwork(v);
  return n ? formatNetwork(n) : undefined;
}

/** Parses one journal line into a record, or `undefined` when it is not a valid one. */
export function parseRecord(line: string): StateRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const address = checkAddress(r['address']);
  if (address === undefined) return undefined;
  if (r['t'] === 'unban') return { t: 'unban', address };
  if (r['t'] === 'offender' && isFiniteNumber(r['count']) && isFiniteNumber(r['lastUntil'])) {
    return { t: 'offender', address, count: r['count'], lastUntil: r['lastUntil'] };
  }
  if (
    r['t'] === 'ban' &&
    typeof r['rule'] === 'string' &&
    typeof r['reason'] === 'string' &&
    isFiniteNumber(r['since']) &&
    isFiniteNumber(r['until']) &&
    isFiniteNumber(r['count'])
  ) {
    return { t: 'ban', address, rule: r['rule'], reason: r['reason'], since: r['since'], until: r['until'], count: r['count'] };
  }
  return undefined;
}

/**
 * The journal file of a {@link BanManager}. Appends are queued and written in order;
 * concurrent appends share one write and one `fdatasync`.
 */
export class BanStateFile {
  readonly path: string;
  readonly #dir: PinnedDirectory;
  readonly #name: string;
  #handle: FileHandle | undefined;
  #ops: Operation[] = [];
  #working: Promise<void> | undefined;
  #unsynced: Waiter[] = [];
  #syncing: Promise<void> | undefined;
  #records = 0;
  #closed = false;

  private constructor(path: string, dir: PinnedDirectory, name: string) {
    this.path = path;
    this.#dir = dir;
    this.#name = name;
  }

  /**
   * Opens (creating the directory with mode 0700 if needed) and reads the journal.
   * A missing file is an empty state; a line cut by a crash or a line that is not a
   * record is skipped with a warning; a file that is not a ban journal at all throws.
   */
  static async open(path: string): Promise<{ file: BanStateFile; state: LoadedState }> {
    const [parent, name] = splitParent(path) as [string, string];
    const dir = await PinnedDirectory.open(parent, { createMode: 0o700 });
    const file = new BanStateFile(path, dir, name);
    try {
      await file.#lock();
      const state = await file.#read();
      return { file, state };
    } catch (error) {
      await file.#unlock();
      await dir.close();
      throw error;
    }
  }

  /**
   * Reads the journal without taking the lock or writing anything (`hostwarden bans list`
   * while the agent runs).
   */
  static async read(path: string): Promise<LoadedState> {
    const [parent, name] = splitParent(path) as [string, string];
    const dir = await PinnedDirectory.open(parent);
    try {
      return await new BanStateFile(path, dir, name).#read();
    } finally {
      await dir.close();
    }
  }

  #locked = false;

  // One process owns a journal at a time (an agent and a `hostwarden bans` command would
  // otherwise compact away each other's records). The lock file holds the owner's pid; a
  // lock whose process is gone (SIGKILL) is taken over.
  async #lock(): Promise<void> {
    const lockName = `${this.#name}.lock`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await this.#dir.openFile(lockName, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          await handle.writeFile(`${process.pid}\n`);
        } finally {
          await handle.close();
        }
        this.#locked = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new IoError(`Cannot lock the ban state file ${this.path}`, { path: this.path, cause: error });
      }
      const owner = await this.#lockOwner(lockName);
      if (owner !== undefined && isAlive(owner)) {
        throw new BanStateLockedError(this.path, owner);
      }
      await this.#dir.unlink(lockName).catch(() => {});
    }
    throw new IoError(`Cannot lock the ban state file ${this.path}: the lock keeps coming back`, { path: this.path });
  }

  async #lockOwner(lockName: string): Promise<number | undefined> {
    try {
      const handle = await this.#dir.openFile(lockName, constants.O_RDONLY);
      try {
        const pid = Number((await handle.readFile('utf8')).trim());
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
  }

  async #unlock(): Promise<void> {
    if (!this.#locked) return;
    this.#locked = false;
    await this.#dir.unlink(`${this.#name}.lock`).catch(() => {});
  }

  async #read(): Promise<LoadedState> {
    const bans = new Map<string, StoredBan>();
    const offenders = new Map<string, OffenderRecord>();
    const warnings: Warning[] = [];
    let text: string;
    try {
      const handle = await this.#dir.openFile(this.#name, constants.O_RDONLY);
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { bans, offenders, warnings };
      throw new IoError(`Cannot read the ban state file ${this.path}`, { path: this.path, cause: error });
    }
    const lines = text.split('\n');
    const last = lines.pop();
    if (last !== undefined && last !== '') {
      warnings.push(createWarning('bans.state-torn', `The last line of ${this.path} was cut (a crash while writing); it is ignored`, { path: this.path }));
    }
    if (lines.length === 0) return { bans, offenders, warnings };
    let header: unknown;
    try {
      header = JSON.parse(lines[0] ?? '');
    } catch {
      header = undefined;
    }
    if (typeof header !== 'object' || header === null || (header as Record<string, unknown>)['hostwarden'] !== 'bans') {
      throw new IoError(`${this.path} is not a hostwarden ban state file; refusing to overwrite it`, { path: this.path, syscall: 'read' });
    }
    for (const [i, line] of lines.entries()) {
      if (i === 0 || line === '') continue;
      const record = parseRecord(line);
      if (!record) {
        warnings.push(createWarning('bans.state-invalid-line', `Line ${i + 1} of ${this.path} is not a ban record; it is ignored`, { path: this.path }));
        continue;
      }
      if (record.t === 'ban') {
        const { t: _t, ...ban } = record;
        bans.set(ban.address, ban);
        offenders.set(ban.address, { address: ban.address, count: ban.count, lastUntil: ban.until });
      } else if (record.t === 'unban') {
        bans.delete(record.address);
      } else {
        const { t: _t, ...offender } = record;
        offenders.set(offender.address, offender);
      }
    }
    return { bans, offenders, warnings };
  }

  /** How many records the journal holds now (compaction resets it). */
  get records(): number {
    return this.#records;
  }

  /**
   * Replaces the journal by a snapshot of `records` — the complete state, including every
   * record appended so far — atomically (temp file, fsync, rename, fsync of the directory),
   * and appends to the new file from then on. Appends not yet written when it is called are
   * covered by the snapshot and settle with it.
   */
  compact(records: Iterable<StateRecord>): Promise<void> {
    const lines = [JSON.stringify(HEADER)];
    for (const record of records) lines.push(JSON.stringify(record));
    const waiters: Waiter[] = [];
    // Pending appends (not started) are in the snapshot: they ride on the rewrite.
    this.#ops = this.#ops.filter((op) => {
      if (op.kind !== 'lines') return true;
      waiters.push(...op.waiters);
      return false;
    });
    const done = new Promise<void>((resolve, reject) => this.#ops.push({ kind: 'compact', lines, waiters, resolve, reject }));
    this.#kick();
    return done;
  }

  /**
   * Appends records. `written` resolves once they are in the file (the kernel's page cache:
   * they survive a SIGKILL of this process), `durable` once they are fdatasync'd (they
   * survive a power loss). Concurrent appends share one write and one fdatasync.
   */
  append(records: readonly StateRecord[]): AppendReceipt {
    if (this.#closed) {
      const closed = Promise.reject(new IoError(`The ban state file ${this.path} is closed`, { path: this.path }));
      closed.catch(() => {});
      return { written: closed, durable: closed };
    }
    let waiter!: Waiter;
    const written = new Promise<void>((resolve, reject) => (waiter = { resolveWritten: resolve, rejectWritten: reject, resolveDurable: () => {}, rejectDurable: () => {} }));
    const durable = new Promise<void>((resolve, reject) => {
      waiter.resolveDurable = resolve;
      waiter.rejectDurable = reject;
    });
    // Whoever only awaits `written` must not leave `durable`'s rejection unhandled.
    durable.catch(() => {});
    const last = this.#ops.at(-1);
    const op = last?.kind === 'lines' ? last : { kind: 'lines' as const, lines: [] as string[], waiters: [] as Waiter[] };
    if (op !== last) this.#ops.push(op);
    for (const record of records) op.lines.push(JSON.stringify(record));
    op.waiters.push(waiter);
    this.#kick();
    return { written, durable };
  }

  #kick(): void {
    if (this.#working) return;
    this.#working = this.#work();
  }

  // One operation at a time, in order: a batch of appends, or a compaction. It clears
  // #working in the same turn it finds the queue empty, so an append made by a caller
  // resumed by the last operation starts a new run instead of waiting for nobody.
  async #work(): Promise<void> {
    for (let op = this.#ops.shift(); ; op = this.#ops.shift()) {
      if (!op) {
        this.#working = undefined;
        return;
      }
      if (op.kind === 'compact') {
        try {
          // The handle is about to close: let the running sync finish with it first.
          while (this.#syncing) await this.#syncing;
          await this.#rewrite(op.lines);
          for (const w of op.waiters) {
            w.resolveWritten();
            w.resolveDurable();
          }
          op.resolve();
        } catch (error) {
          for (const w of op.waiters) {
            w.rejectWritten(error as Error);
            w.rejectDurable(error as Error);
          }
          op.reject(error as Error);
        }
        continue;
      }
      try {
        if (!this.#handle) throw new IoError(`The ban state file ${this.path} is not open`, { path: this.path });
        await this.#handle.write(`${op.lines.join('\n')}\n`);
        this.#records += op.lines.length;
        for (const w of op.waiters) w.resolveWritten();
        // The next batch is written while this one is being synced.
        this.#unsynced.push(...op.waiters);
        this.#syncing ??= this.#sync();
      } catch (error) {
        const failure = error instanceof IoError ? error : new IoError(`Cannot append to the ban state file ${this.path}`, { path: this.path, cause: error });
        for (const w of op.waiters) {
          w.rejectWritten(failure);
          w.rejectDurable(failure);
        }
      }
    }
  }

  // fdatasync until every written batch is durable; one sync covers all writes before it.
  async #sync(): Promise<void> {
    while (this.#unsynced.length > 0) {
      const waiters = this.#unsynced;
      this.#unsynced = [];
      try {
        if (!this.#handle) throw new IoError(`The ban state file ${this.path} is not open`, { path: this.path });
        await this.#handle.datasync();
        for (const w of waiters) w.resolveDurable();
      } catch (error) {
        const failure = error instanceof IoError ? error : new IoError(`Cannot sync the ban state file ${this.path}`, { path: this.path, cause: error });
        for (const w of waiters) w.rejectDurable(failure);
      }
    }
    this.#syncing = undefined;
  }

  async #rewrite(lines: readonly string[]): Promise<void> {
    try {
      await this.#handle?.close();
      this.#handle = undefined;
      await this.#dir.writeFileAtomic(this.#name, `${lines.join('\n')}\n`, { mode: 0o600 });
      this.#handle = await this.#dir.openFile(this.#name, constants.O_WRONLY | constants.O_APPEND);
    } catch (error) {
      throw new IoError(`Cannot write the ban state file ${this.path}`, { path: this.path, cause: error });
    }
    this.#records = lines.length - 1;
  }

  /** Waits for queued appends and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#working || this.#syncing) await (this.#working ?? this.#syncing);
    await this.#handle?.close().catch(() => {});
    this.#handle = undefined;
    await this.#unlock();
    await this.#dir.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Another live process (the agent, usually) owns the ban journal. */
export class BanStateLockedError extends IoError {
  /** The pid of the owner. */
  readonly owner: number;

  constructor(path: string, owner: number) {
    super(`The ban state file ${path} is in use by process ${owner} (a running hostwarden agent?); stop it first`, { path, syscall: 'open' });
    this.owner = owner;
  }
}
