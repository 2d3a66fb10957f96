import type { Clock } from '../core/clock.js';
import { displayPath } from '../core/text.js';
import { createWarning, type Warning } from '../core/warning.js';
import type { BigIntStats } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { IoError } from '../core/errors.js';
import type { FilePosition, PathState } from './checkpoint.js';
import { createHash } from 'node:crypto';
import { FINGERPRINT_BYTES, findRotated, openFlags, readPrefix, sameContent, sameInode } from './identity.js';
import { LineSplitter } from './lines.js';

/**
 * Why a followed file changed under the watcher.
 *
 * - `rename`: the file was moved away (logrotate's default `create` mode); it is drained to
 *   its end, including lines written to it after the move, before the new file is read.
 * - `recreate`: the file was deleted and a new one created at the path (the inode may be
 *   the same number: identity includes a content fingerprint).
 * - `delete`: the file was deleted and nothing has replaced it yet.
 * - `truncate`: the file shrank or its first bytes changed in place (`copytruncate`); the
 *   copy is searched for the unread tail, then the file is read again from its start.
 * - `create`: a file appeared at a path that had none (at first, or after a `rename`/`delete`).
 */
export type RotateReason = 'rename' | 'recreate' | 'delete' | 'truncate' | 'create';

/** Payload of the `'rotate'` event. */
export interface RotateEvent {
  /** The followed path. */
  readonly file: string;
  /** What happened. */
  readonly reason: RotateReason;
  /** Where the previous generation was found and drained from, when the watcher searched for it. */
  readonly previousPath?: string;
  /** True when the rotation happened while the watcher was stopped and was found on restart. */
  readonly whileStopped: boolean;
}

/**
 * Payload of the LogWatcher's `'warning'` event: the shared {@link Warning} shape (`path`
 * exact, `displayPath` escaped) with a LogWatcher `code`:
 * - `file-missing`: a watched path does not exist (or a glob matches nothing): reported at
 *   start and again every `missingWarningInterval` while it stays missing;
 * - `line-truncated`: a line was longer than `maxLineLength`; its start was handled and
 *   `cutBytes` bytes were dropped;
 * - `rotated-lost`: the file rotated while stopped and its previous generation was not
 *   found (deleted or compressed), so lines written after the last checkpoint are lost;
 * - `state-discarded`: the state file was unreadable or malformed; reading starts at `startAt`;
 * - `not-regular`: the path is not a regular file (a FIFO, a directory, a symlink in a glob);
 * - `unreadable`: the file cannot be opened or read (often EACCES); retried every poll. For
 *   the journal: what journalctl reported on stderr (e.g. insufficient permissions).
 */
export interface LogWatcherWarning extends Warning {
  readonly code: 'file-missing' | 'line-truncated' | 'rotated-lost' | 'state-discarded' | 'not-regular' | 'unreadable';
  /** For `line-truncated`: the number of the cut line. */
  readonly lineNumber?: number;
  /** For `line-truncated`: how many bytes were dropped. */
  readonly cutBytes?: number;
}

/** A LogWatcher warning in the shared shape. @internal */
export function logWarning(
  code: LogWatcherWarning['code'],
  message: string,
  path: string,
  extra: { cause?: unknown; lineNumber?: number; cutBytes?: number } = {},
): LogWatcherWarning {
  const { cause, ...rest } = extra;
  return { ...createWarning(code, message, cause === undefined ? { path } : { path, cause }), code, ...rest };
}

/** Where a tailer delivers what it reads; the LogWatcher implements it. @internal */
export interface TailerSink {
  line(text: string, file: string, lineNumber: number): void;
  rotate(event: RotateEvent): void;
  warn(warning: LogWatcherWarning): void;
  bytes(count: number): void;
  /** Another follower already holds this inode open, or knows where it was left. */
  known(st: BigIntStats): 'open' | FilePosition | undefined;
  /** A file is closed for good: remember where it was left, for glob overlaps. */
  closed(position: FilePosition): void;
}

/** @internal */
export interface TailerOptions {
  readonly maxLineLength: number;
  readonly rotateGrace: number;
  readonly maxReadPerPoll: number;
  readonly noFollow: boolean;
  /** The owner's clock (ms since the epoch): when a file went idle, for `rotateGrace`. */
  readonly clock: Clock;
  /** True once the owner is stopping: reading ends after the chunk in hand. */
  readonly stopping: () => boolean;
}

interface OpenFile {
  fh: FileHandle;
  path: string;
  dev: string;
  ino: string;
  fingerprint: string;
  fingerprintLength: number;
  /** The file's first bytes as read (up to 1 KiB): the fingerprint grows from what was read for lines, never from a second read that could see newer content. */
  readonly prefix: Buffer;
  readPos: number;
  lineNumber: number;
  lastSize: number;
  lastMtime: bigint;
  idleSince: number;
  readonly splitter: LineSplitter;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/**
 * Follows one path like `tail -F`: holds the file open, notices rotation by identity
 * (dev, inode, content fingerprint), drains a renamed file to its end before the new
 * one, rereads a truncated one, and waits for a missing one.
 * @internal
 */
export class Tailer {
  readonly path: string;
  readonly #o: TailerOptions;
  readonly #sink: TailerSink;
  #current: OpenFile | undefined;
  #old: OpenFile[] = [];
  #reported: string | undefined;
  #missing = false;

  constructor(path: string, options: TailerOptions, sink: TailerSink) {
    this.path = path;
    this.#o = options;
    this.#sink = sink;
  }

  /** How many files are open: the current one plus renamed ones still draining. */
  get openFiles(): number {
    return (this.#current ? 1 : 0) + this.#old.length;
  }

  /** Whether the path did not exist at the last look (ENOENT/ENOTDIR). */
  get missing(): boolean {
    return this.#missing && this.#current === undefined;
  }

  /** Whether the path currently has an open file. */
  get following(): boolean {
    return this.#current !== undefined;
  }

  /** Inodes this tailer holds open. */
  holds(st: BigIntStats): boolean {
    return (this.#current !== undefined && sameInode(this.#current, st)) || this.#old.some((f) => sameInode(f, st));
  }

  /**
   * Positions the tailer before the first poll: at the saved checkpoint (finding the
   * file among its rotated siblings if it moved while stopped), else at `startAt` — except
   * that a file born after `createdAfter` (the last save: it appeared while the watcher
   * was stopped) is new, and read from its start.
   */
  async init(saved: PathState | undefined, startAt: 'beginning' | 'end', createdAfter?: number): Promise<void> {
    const opened = await this.#openPath();
    if (saved?.current) {
      const pos = saved.current;
      if (opened && sameInode(pos, opened.st) && (await sameContent(opened.fh, pos))) {
        if (Number(opened.st.size) >= pos.offset) {
          this.#current = await this.#track(opened.fh, opened.st, pos.offset, pos.lineNumber);
        } else {
          // Truncated (copytruncate) while stopped: the copy holds what was not read yet.
          await this.#adoptRotated(pos, 'truncate');
          this.#current = await this.#track(opened.fh, opened.st, 0, 0);
        }
      } else {
        // Same inode, other content: rewritten in place (copytruncate) or the inode reused.
        await this.#adoptRotated(pos, opened && sameInode(pos, opened.st) ? 'truncate' : 'rename');
        if (opened) this.#current = await this.#track(opened.fh, opened.st, 0, 0);
      }
      for (const old of saved.draining) {
        const found = await findRotated(this.path, old, old.offset);
        if (found && !this.holds(found.stats)) {
          this.#old.push(await this.#track(found.fh, found.stats, old.offset, old.lineNumber, found.path));
        } else {
          await found?.fh.close();
        }
      }
    } else if (opened) {
      // A glob may match a rotated name (`app.log*`): a file another path still drains, or
      // drained before, continues where it was left instead of being read twice.
      const known = this.#sink.known(opened.st);
      if (known === 'open') {
        await opened.fh.close();
      } else if (known && (await sameContent(opened.fh, known))) {
        this.#current = await this.#track(opened.fh, opened.st, known.offset, known.lineNumber);
      } else if (startAt === 'end' && !(createdAfter !== undefined && opened.st.birthtimeMs > BigInt(createdAfter))) {
        const { offset, lineNumber } = await endOfLastLine(opened.fh, Number(opened.st.size), this.#o.maxLineLength);
        this.#current = await this.#track(opened.fh, opened.st, offset, lineNumber);
      } else {
        this.#current = await this.#track(opened.fh, opened.st, 0, 0);
      }
    }
  }

  /**
   * One look at the path: detect truncation and rotation, drain old generations, then read
   * the current file. Returns true when it stopped early at `maxReadPerPoll` with more to read.
   */
  async poll(buf: Buffer, spare: Buffer): Promise<boolean> {
    const now = this.#o.clock();
    await this.#checkCurrent();
    await this.#checkPath(now);
    let budget = this.#o.maxReadPerPoll;
    for (const file of [...this.#old]) {
      const read = await this.#read(file, buf, spare, budget);
      budget -= read;
      if (budget <= 0) return true;
      if (read > 0) file.idleSince = now;
      else if (now - file.idleSince >= this.#o.rotateGrace) await this.#close(file);
    }
    if (this.#current) {
      const read = await this.#read(this.#current, buf, spare, budget);
      if (read >= budget) return true;
    }
    return false;
  }

  /** Where each open file stands, for the state file. */
  positions(): PathState {
    const draining = this.#old.map((f) => positionOf(f));
    return this.#current ? { current: positionOf(this.#current), draining } : { draining };
  }

  /** Closes every file (positions stay as they were; take them first). */
  async close(): Promise<void> {
    const files = [...this.#old, ...(this.#current ? [this.#current] : [])];
    this.#old = [];
    this.#current = undefined;
    await Promise.all(files.map((f) => f.fh.close().catch(() => {})));
  }

  // copytruncate shows as a smaller size, or — when the writer refilled the file past our
  // position before we looked — as different first bytes.
  async #checkCurrent(): Promise<void> {
    const cur = this.#current;
    if (!cur) return;
    const st = await cur.fh.stat({ bigint: true });
    const size = Number(st.size);
    // Unchanged size and mtime: nothing to check (a refill to the very same size still
    // changes the mtime).
    if (size === cur.lastSize && st.mtimeNs === cur.lastMtime) return;
    const shrank = size < cur.readPos;
    if (shrank || !(await sameContent(cur.fh, cur))) {
      await this.#adoptRotated(positionOf(cur), 'truncate', false);
      cur.readPos = 0;
      cur.lineNumber = 0;
      cur.splitter.reset();
      // Rebuilt from the bytes the next read returns.
      cur.fingerprintLength = 0;
      cur.fingerprint = hashPrefix(cur.prefix, 0);
    }
    cur.lastSize = size;
    cur.lastMtime = st.mtimeNs;
  }

  async #checkPath(at: number): Promise<void> {
    let st: BigIntStats;
    try {
      st = this.#o.noFollow ? await lstat(this.path, { bigint: true }) : await stat(this.path, { bigint: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      this.#missing = MISSING.has(code);
      if (this.#missing) {
        if (this.#current) {
          const cur = this.#current;
          this.#current = undefined;
          cur.idleSince = at;
          this.#old.push(cur);
          const { nlink } = await cur.fh.stat();
          this.#sink.rotate({ file: this.path, reason: nlink > 0 ? 'rename' : 'delete', whileStopped: false });
        }
      } else {
        this.#reportOnce(code, 'unreadable', `Cannot stat ${displayPath(this.path)}: ${code}`, error);
      }
      return;
    }
    if (this.#current && sameInode(this.#current, st)) return;
    const back = this.#old.findIndex((f) => sameInode(f, st));
    if (back !== -1) {
      // Moved away and back (or renamed over): the same open file, so no line is repeated.
      const [file] = this.#old.splice(back, 1);
      if (this.#current) this.#old.push(this.#current);
      this.#current = file;
      return;
    }
    const opened = await this.#openPath();
    if (!opened) return;
    let reason: RotateReason = 'create';
    if (this.#current) {
      const cur = this.#current;
      const { nlink } = await cur.fh.stat();
      reason = nlink > 0 ? 'rename' : 'recreate';
      cur.idleSince = at;
      this.#old.push(cur);
      this.#current = undefined;
    }
    // A new generation is read from its first line, whatever `startAt` said at start.
    const known = this.#sink.known(opened.st);
    if (known === 'open') {
      await opened.fh.close();
      return;
    }
    if (known && (await sameContent(opened.fh, known))) {
      this.#current = await this.#track(opened.fh, opened.st, known.offset, known.lineNumber);
    } else {
      this.#current = await this.#track(opened.fh, opened.st, 0, 0);
    }
    this.#sink.rotate({ file: this.path, reason, whileStopped: false });
  }

  // Opens the path and checks it is the regular file it claims to be.
  async #openPath(): Promise<{ fh: FileHandle; st: BigIntStats } | undefined> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.path, openFlags(this.#o.noFollow));
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        await fh.close();
        this.#reportOnce('not-regular', 'not-regular', `${displayPath(this.path)} is not a regular file; it is not read`);
        return undefined;
      }
      this.#reported = undefined;
      this.#missing = false;
      return { fh, st };
    } catch (error) {
      await fh?.close().catch(() => {});
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      this.#missing = MISSING.has(code);
      if (this.#missing) return undefined;
      if (code === 'ELOOP') this.#reportOnce(code, 'not-regular', `${displayPath(this.path)} is a symbolic link; links found by a glob are not followed`);
      else this.#reportOnce(code, 'unreadable', `Cannot open ${displayPath(this.path)}: ${code}`, error);
      return undefined;
    }
  }

  // After a restart or copytruncate: find the previous generation by fingerprint and
  // queue its unread tail, so it is read before the current file.
  async #adoptRotated(pos: FilePosition, reason: RotateReason, whileStopped = true): Promise<void> {
    const found = await findRotated(this.path, pos, pos.offset);
    if (found && !this.holds(found.stats)) {
      this.#old.push(await this.#track(found.fh, found.stats, pos.offset, pos.lineNumber, found.path));
      this.#sink.rotate({ file: this.path, reason, previousPath: found.path, whileStopped });
      return;
    }
    await found?.fh.close();
    this.#sink.rotate({ file: this.path, reason, whileStopped });
    if (whileStopped || reason !== 'truncate') {
      this.#sink.warn(
        logWarning(
          'rotated-lost',
          `${displayPath(this.path)} was rotated while the watcher was stopped and its previous file was not found (deleted or compressed); lines written to it after the last checkpoint were not read`,
          this.path,
        ),
      );
    }
  }

  async #track(fh: FileHandle, st: BigIntStats, offset: number, lineNumber: number, path = this.path): Promise<OpenFile> {
    const size = Number(st.size);
    const prefix = Buffer.alloc(FINGERPRINT_BYTES);
    const length = await readPrefix(fh, prefix, Math.min(size, FINGERPRINT_BYTES));
    return {
      fh,
      path,
      dev: String(st.dev),
      ino: String(st.ino),
      fingerprint: hashPrefix(prefix, length),
      fingerprintLength: length,
      prefix,
      readPos: offset,
      lineNumber,
      lastSize: size,
      lastMtime: st.mtimeNs,
      idleSince: this.#o.clock(),
      splitter: new LineSplitter(this.#o.maxLineLength),
    };
  }

  /**
   * Reads `file` from its read position, up to about `budget` bytes, and hands its lines on.
   * While a full buffer's lines are matched, the next read already runs into `spare` (the
   * two take turns): a busy log is drained without waiting for each read in between.
   */
  async #read(file: OpenFile, buf: Buffer, spare: Buffer, budget: number): Promise<number> {
    let total = 0;
    const emit = (line: string, cutBytes: number): void => {
      file.lineNumber++;
      if (cutBytes > 0) {
        this.#sink.warn(
          logWarning(
            'line-truncated',
            `Line ${file.lineNumber} of ${displayPath(this.path)} is longer than maxLineLength (${this.#o.maxLineLength} bytes); ${cutBytes} bytes were cut`,
            this.path,
            {
              lineNumber: file.lineNumber,
              cutBytes,
            },
          ),
        );
      }
      this.#sink.line(line, this.path, file.lineNumber);
    };
    let current = buf;
    let next = spare;
    let ahead: Promise<{ bytesRead: number }> | undefined;
    try {
      while (total < budget && !this.#o.stopping()) {
        const reading = ahead ?? file.fh.read(current, 0, current.length, file.readPos);
        ahead = undefined;
        const { bytesRead } = await reading;
        if (bytesRead === 0) break;
        const known = file.fingerprintLength;
        if (known < FINGERPRINT_BYTES && file.readPos <= known && file.readPos + bytesRead > known) {
          const from = known - file.readPos;
          const take = Math.min(bytesRead - from, FINGERPRINT_BYTES - known);
          current.copy(file.prefix, known, from, from + take);
          file.fingerprintLength = known + take;
          file.fingerprint = hashPrefix(file.prefix, file.fingerprintLength);
        }
        file.readPos += bytesRead;
        total += bytesRead;
        this.#sink.bytes(bytesRead);
        // A full buffer says there is more: read it while these lines are matched. Should the
        // loop end first (budget, stop), that read is dropped and made again next time.
        if (bytesRead === current.length && total < budget) ahead = file.fh.read(next, 0, next.length, file.readPos);
        file.splitter.push(current, bytesRead, emit);
        [current, next] = [next, current];
      }
    } catch (error) {
      this.#reportOnce('read', 'unreadable', `Cannot read ${displayPath(file.path)}`, error);
    } finally {
      // A dropped read is waited for (its failure is the next poll's to report): still
      // running, it would write into the buffer the next file's read-ahead uses.
      if (ahead !== undefined) await ahead.catch(() => {});
    }
    return total;
  }

  async #close(file: OpenFile): Promise<void> {
    this.#old = this.#old.filter((f) => f !== file);
    this.#sink.closed(positionOf(file));
    await file.fh.close().catch(() => {});
  }

  // An unreadable file is retried every poll; say so once, not four times a second.
  #reportOnce(key: string, code: LogWatcherWarning['code'], message: string, error?: unknown): void {
    if (this.#reported === key) return;
    this.#reported = key;
    const cause = error === undefined ? undefined : new IoError(message, { path: this.path, cause: error });
    this.#sink.warn(logWarning(code, message, this.path, cause === undefined ? {} : { cause }));
  }
}

function positionOf(f: OpenFile): FilePosition {
  return {
    path: f.path,
    dev: f.dev,
    ino: f.ino,
    fingerprint: f.fingerprint,
    fingerprintLength: f.fingerprintLength,
    offset: f.readPos - f.splitter.pendingBytes,
    lineNumber: f.lineNumber,
  };
}

// `startAt: 'end'` starts after the last complete line (a half-written last line is read
// once it is finished) and counts the lines before it, so line numbers stay true.
async function endOfLastLine(fh: FileHandle, size: number, window: number): Promise<{ offset: number; lineNumber: number }> {
  const tailSize = Math.min(size, window + 1);
  const tail = Buffer.alloc(tailSize);
  await fh.read(tail, 0, tailSize, size - tailSize);
  const nl = tail.lastIndexOf(10);
  const offset = nl === -1 ? (size - tailSize === 0 ? 0 : size) : size - tailSize + nl + 1;
  const buf = Buffer.allocUnsafe(1 << 20);
  let lineNumber = 0;
  for (let pos = 0; pos < offset;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, offset - pos), pos);
    if (bytesRead === 0) break;
    for (let i = buf.indexOf(10, 0); i !== -1 && i < bytesRead; i = buf.indexOf(10, i + 1)) lineNumber++;
    pos += bytesRead;
  }
  return { offset, lineNumber };
}

function hashPrefix(prefix: Buffer, length: number): string {
  return createHash('sha256').update(prefix.subarray(0, length)).digest('hex');
}
