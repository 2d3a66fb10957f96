import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PinnedDirectory, splitParent, type RawPath } from '../core/durable-fs.js';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidOptionError, QuarantineError } from '../core/errors.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { expectLogger, expectString } from '../core/validate.js';
import { displayPath, isValidUtf8 } from '../core/text.js';
import { recoverJournal, type RecoveryReport } from './recovery.js';
import { ID_PATTERN, intentToText, parseRecord, recordToJson, type IsolationIntent, type QuarantineRecord } from './record.js';
import { applyMetadata, copyIn, copyOut } from './copy.js';
import { errnoOf, hashHandle, OPEN_NOFOLLOW_READ, unsafePathReason } from './safe-fs.js';

export type { QuarantineRecord } from './record.js';
export type { RecoveryReport } from './recovery.js';

/** Options of {@link Quarantine}. */
export interface QuarantineOptions {
  /**
   * Where isolated files and their manifests live. Created with mode 0700 if missing; it
   * must be a real directory (no symlink anywhere in its path) owned by the current user.
   * Putting it on the same file system as the scanned files makes isolation an atomic rename.
   */
  readonly directory: string;
  /**
   * Where diagnostics go.
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * The clock (ms since the epoch), for `quarantinedAt` and ids.
   * @defaultValue `Date.now`
   */
  readonly clock?: Clock;
}

/** Options of {@link Quarantine.isolate}. */
export interface IsolateOptions {
  /** Why the file is isolated; kept in the manifest. */
  readonly reason: string;
  /**
   * The identity the caller checked (e.g. the scanner's `lstat`): isolation is refused if
   * the path now names another file, even a regular one.
   */
  readonly expect?: IsolateExpectation;
}

/** The identity a caller checked before asking for isolation (see {@link IsolateOptions.expect}). */
export interface IsolateExpectation {
  /** Device id from the caller's `lstat`. */
  readonly dev: number;
  /** Inode number from the caller's `lstat`. */
  readonly ino: number;
  /** Status-change time (ms); also compared, so a recycled inode number is not mistaken for the checked file. */
  readonly ctimeMs?: number;
  /** Size in bytes the caller saw. */
  readonly size?: number;
  /** SHA-256 (hex) the caller computed; the content must still hash to it. */
  readonly sha256?: string;
}

/** Options of {@link Quarantine.restore}. */
export interface RestoreOptions {
  /**
   * Restore to this absolute path instead of the original one (same checks apply).
   * @defaultValue the record's original path (exact bytes)
   */
  readonly to?: string | Buffer;
}

const KNOWN_OPTIONS = ['directory', 'logger', 'clock'];

/**
 * Isolates files like ClamAV's `--move` or maldet's quarantine, without their races.
 *
 * Every operation on the user's side happens relative to directory handles opened from
 * `/` without following a symlink at any component (see `src/core/durable-fs.ts`), so a
 * user who swaps a directory of the path for a symlink to `/etc` mid-operation makes
 * the operation fail, never land in `/etc`. The file is opened `O_NOFOLLOW | O_NONBLOCK`
 * through its pinned parent; its `fstat` must show a regular file with the (dev, inode)
 * the caller checked; it is hashed through that handle, made mode 0000 through the handle,
 * and renamed from the pinned parent into the pinned quarantine directory (or, across
 * file systems, copied with `O_EXCL`, fsynced and verified before the original name is
 * unlinked). An intent is journaled before the first change, and the journal is replayed
 * when the quarantine is first used, so a crash at any point leaves either the original
 * untouched or a complete, restorable entry.
 *
 * @example
 * const quarantine = new Quarantine({ directory: '/var/lib/hostwarden/quarantine' });
 * const record = await quarantine.isolate('/home/bob/invoice.pdf.exe', { reason: 'PE executable named .pdf' });
 * await quarantine.restore(record.id); // false positive: put it back exactly as it was
 */
export class Quarantine {
  /** The quarantine directory (absolute). */
  readonly directory: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #ready: Promise<RecoveryReport> | undefined;

  /** @throws {@link InvalidOptionError} naming the first invalid or unknown option. */
  constructor(options: QuarantineOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('Quarantine', options, KNOWN_OPTIONS);
    this.directory = resolve(expectString('directory', options.directory));
    this.#logger = options.logger === undefined ? silentLogger : expectLogger('logger', options.logger);
    this.#clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
  }

  /**
   * Prepares the directory and replays the journal of isolations a crash interrupted.
   * Called by every other method on first use; call it yourself to learn what was recovered.
   */
  recover(): Promise<RecoveryReport> {
    this.#ready ??= (async () => {
      const q = await this.#pin();
      try {
        const report = await recoverJournal(q, this.#logger);
        return report;
      } finally {
        await q.close();
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /**
   * Moves a regular file into the quarantine, mode 0000, with a manifest. `path` may be a
   * Buffer for a name that is not valid UTF-8; it is used byte for byte.
   *
   * @throws {@link QuarantineError} when the path is not a regular file (symlink,
   * directory, special file), a directory in its path is a symlink, it changed identity
   * during the checks, or it could not be moved; the file is then left in place.
   */
  async isolate(path: string | Buffer, options: IsolateOptions): Promise<QuarantineRecord> {
    const target = absolute(path);
    const shown = displayPath(target);
    const reason = expectString('reason', options?.reason);
    const refuse = (why: string, cause?: unknown): never => {
      throw new QuarantineError(`Refusing to quarantine ${shown}: ${why}`, cause === undefined ? { path: shown } : { path: shown, cause });
    };
    if (unsafePathReason(target) !== undefined) refuse(unsafePathReason(target) as string);
    await this.recover();
    const [parentPath, name] = splitParent(target);
    const q = await this.#pin();
    let parent: PinnedDirectory | undefined;
    let handle: FileHandle | undefined;
    try {
      parent = await PinnedDirectory.open(parentPath).catch((error: unknown) => refuse(parentProblem(error), error));
      const before = await parent.lstat(name).catch((error: unknown) => refuse(`it cannot be inspected (${errnoOf(error) ?? 'error'})`, error));
      if (before.isSymbolicLink()) refuse('it is a symbolic link');
      if (!before.isFile()) refuse('it is not a regular file');
      const expect = options.expect;
      if (
        expect &&
        (expect.dev !== before.dev ||
          expect.ino !== before.ino ||
          (expect.ctimeMs !== undefined && expect.ctimeMs !== before.ctimeMs) ||
          (expect.size !== undefined && expect.size !== before.size))
      ) {
        refuse('the path now names a different file than the one that was checked');
      }
      handle = await parent
        .openFile(name, OPEN_NOFOLLOW_READ)
        .catch((error: unknown) => refuse(errnoOf(error) === 'ELOOP' ? 'it became a symbolic link' : `it cannot be opened (${errnoOf(error) ?? 'error'})`, error));
      const st = await handle.stat();
      if (!st.isFile() || st.dev !== before.dev || st.ino !== before.ino) refuse('it was replaced between lstat and open');
      if (st.nlink > 1 && st.uid !== parent.stats.uid) {
        // Its mode is the inode's: making it 0000 would change every other name of it,
        // which may be outside the scanned tree.
        refuse(`it has ${st.nlink - 1} other hard link(s) and belongs to uid ${st.uid}, not to the owner of its directory`);
      }
      const { sha256, bytes } = await hashHandle(handle);
      if (bytes !== st.size) refuse('it changed size while being hashed');
      if (expect?.sha256 !== undefined && expect.sha256 !== sha256) refuse('its content changed since it was checked');

      const now = this.#clock();
      const id = `q-${Math.max(0, Math.floor(now)).toString(36)}-${randomBytes(6).toString('hex')}`;
      const record: QuarantineRecord = {
        id,
        originalPath: typeof target === 'string' ? target : target.toString('utf8'),
        ...(typeof target === 'string' ? {} : { rawOriginalPath: Buffer.from(target) }),
        sha256,
        size: st.size,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtime,
        atime: st.atime,
        ctime: st.ctime,
        quarantinedAt: new Date(now),
        reason,
      };
      const sameFileSystem = q.stats.dev === st.dev;
      const intent: IsolationIntent = {
        record,
        parent: { dev: parent.stats.dev, ino: parent.stats.ino, uid: parent.stats.uid },
        file: { dev: st.dev, ino: st.ino },
        sameFileSystem,
      };
      // The journal entry is durable before anything changes: recovery can always finish or undo.
      await q.writeFileAtomic(`${id}.pending`, intentToText(intent));
      try {
        if (sameFileSystem) await this.#moveIn(parent, name, q, id, handle, st, record, refuse);
        else await copyIn(parent, name, q, `${id}.data`, handle, st, sha256, refuse);
        await q.writeFileAtomic(`${id}.json`, `${JSON.stringify(recordToJson(record), null, 2)}\n`);
        await q.unlink(`${id}.pending`);
        await q.sync();
        await parent.sync().catch(() => {});
      } catch (error) {
        await this.#undo(parent, name, q, id, handle, st, record, sameFileSystem);
        if (error instanceof QuarantineError) throw error;
        return refuse(`moving it failed (${errnoOf(error) ?? (error instanceof Error ? error.message : 'error')})`, error);
      }
      this.#logger.info('file quarantined', { id, path: shown, sha256, reason, ...(st.nlink > 1 ? { otherHardLinks: st.nlink - 1 } : {}) });
      return record;
    } finally {
      await handle?.close().catch(() => {});
      await parent?.close();
      await q.close();
    }
  }

  /** Every isolated file's record, oldest first. Unreadable manifests are skipped (and logged). */
  async list(): Promise<QuarantineRecord[]> {
    await this.recover();
    const q = await this.#pin();
    const records: QuarantineRecord[] = [];
    try {
      for (const entry of await q.readdir()) {
        const name = entry.toString('latin1');
        const id = name.endsWith('.json') ? name.slice(0, -5) : '';
        if (!ID_PATTERN.test(id)) continue;
        try {
          records.push(await this.#read(q, id));
        } catch (error) {
          this.#logger.warn('unreadable quarantine manifest', { id, error: String(error) });
        }
      }
    } finally {
      await q.close();
    }
    return records.sort((a, b) => a.quarantinedAt.getTime() - b.quarantinedAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * One record by id.
   *
   * @throws {@link QuarantineError} for an unknown or malformed id; {@link ParseError} for a damaged manifest.
   */
  async get(id: string): Promise<QuarantineRecord> {
    checkId(id);
    await this.recover();
    const q = await this.#pin();
    try {
      return await this.#read(q, id);
    } finally {
      await q.close();
    }
  }

  /**
   * Puts an isolated file back with its content, mode, times and (when running as root)
   * owner, then deletes the entry. The target's parent is pinned without following any
   * symlink, and the file is created there by `link()` or `O_EXCL`, so it lands exactly
   * where the path says and never replaces anything.
   *
   * @throws {@link QuarantineError} when the target path is relative or contains `..`, a
   * directory in it is a symlink or missing, something already exists there, or the
   * quarantined content no longer matches its SHA-256.
   */
  async restore(id: string, options: RestoreOptions = {}): Promise<QuarantineRecord> {
    const record = await this.get(id);
    const target = options.to ?? record.rawOriginalPath ?? record.originalPath;
    const shown = displayPath(target);
    const refuse = (why: string, cause?: unknown): never => {
      throw new QuarantineError(`Refusing to restore ${id} to ${shown}: ${why}`, cause === undefined ? { path: shown } : { path: shown, cause });
    };
    const pathProblem = unsafePathReason(target);
    if (pathProblem) refuse(pathProblem);
    const [parentPath, name] = splitParent(target);
    const q = await this.#pin();
    let parent: PinnedDirectory | undefined;
    let handle: FileHandle | undefined;
    let restored = false;
    const data = `${id}.data`;
    try {
      parent = await PinnedDirectory.open(parentPath).catch((error: unknown) => refuse(parentProblem(error), error));
      const dataStats = await q.lstat(data).catch((error: unknown) => refuse('its data file is missing', error));
      if (!dataStats.isFile()) refuse('its data file is not a regular file');
      const existing = await parent.lstat(name).catch(() => undefined);
      if (existing) {
        if (existing.dev === dataStats.dev && existing.ino === dataStats.ino) {
          // A restore that crashed after linking: finish it.
          restored = true;
          await this.#forget(q, id);
          return record;
        }
        refuse('something already exists there (never overwritten)');
      }
      // Readable for the check; the entry lives in our 0700 directory, checked to be a regular file.
      await chmod(q.entry(data), 0o400);
      handle = await q.openFile(data, constants.O_RDONLY | constants.O_NONBLOCK);
      const { sha256 } = await hashHandle(handle);
      if (sha256 !== record.sha256) refuse('the quarantined content does not match its recorded SHA-256');
      const sameFileSystem = dataStats.dev === parent.stats.dev;
      if (sameFileSystem) {
        await applyMetadata(handle, record);
        // link() never replaces an existing name, unlike rename().
        await q
          .link(data, parent, name)
          .catch((error: unknown) =>
            refuse(errnoOf(error) === 'EEXIST' ? 'something already exists there (never overwritten)' : `linking failed (${errnoOf(error) ?? 'error'})`, error),
          );
        restored = true;
      } else {
        await copyOut(handle, parent, name, record, refuse);
        restored = true;
      }
      await parent.sync().catch(() => {});
      await this.#forget(q, id);
      this.#logger.info('file restored from quarantine', { id, path: shown });
      return record;
    } finally {
      if (!restored)
        await q.openFile(data, OPEN_NOFOLLOW_READ).then(
          async (h) => {
            await h.chmod(0).catch(() => {});
            await h.close();
          },
          () => {},
        );
      await handle?.close().catch(() => {});
      await parent?.close();
      await q.close();
    }
  }

  /**
   * Deletes an isolated file and its manifest for good.
   *
   * @throws {@link QuarantineError} for an unknown or malformed id.
   */
  async remove(id: string): Promise<void> {
    await this.get(id);
    const q = await this.#pin();
    try {
      await this.#forget(q, id);
    } finally {
      await q.close();
    }
    this.#logger.info('quarantined file deleted', { id });
  }

  // The manifest goes first: a crash in between leaves an unlisted data file, never a listed entry without data.
  async #forget(q: PinnedDirectory, id: string): Promise<void> {
    await q.unlink(`${id}.json`).catch(ignoreMissing);
    await q.sync();
    await q.unlink(`${id}.data`).catch(ignoreMissing);
    await q.sync();
  }

  async #read(q: PinnedDirectory, id: string): Promise<QuarantineRecord> {
    let text: string;
    try {
      const handle = await q.openFile(`${id}.json`, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw new QuarantineError(`No quarantine entry ${id}`, { cause: error });
    }
    return parseRecord(text, `${this.directory}/${id}.json`);
  }

  async #pin(): Promise<PinnedDirectory> {
    const uid = process.getuid?.();
    let q: PinnedDirectory;
    try {
      q = await PinnedDirectory.open(this.directory, { createMode: 0o700 });
    } catch (error) {
      throw new QuarantineError(`The quarantine directory ${this.directory} is not a real directory (${errnoOf(error) ?? String(error)})`, { path: this.directory, cause: error });
    }
    if (uid !== undefined && q.stats.uid !== uid) {
      await q.close();
      throw new QuarantineError(`The quarantine directory ${this.directory} belongs to uid ${q.stats.uid}, not to this process (uid ${uid})`, { path: this.directory });
    }
    if ((q.stats.mode & 0o777) !== 0o700) await q.chmod(0o700);
    return q;
  }

  async #moveIn(
    parent: PinnedDirectory,
    name: RawPath,
    q: PinnedDirectory,
    id: string,
    handle: FileHandle,
    st: Stats,
    record: QuarantineRecord,
    refuse: (why: string) => never,
  ): Promise<void> {
    // Unreadable before it moves (through the handle: the inode we checked), so it is never readable inside the quarantine.
    await handle.chmod(0);
    await parent.rename(name, q, `${id}.data`);
    const moved = await q.lstat(`${id}.data`);
    if (moved.dev !== st.dev || moved.ino !== st.ino) {
      // The name was swapped in the instant between the check and the rename: put back
      // what was moved (into the same pinned directory, never replacing anything).
      await putBack(q, `${id}.data`, parent, name);
      await handle.chmod(record.mode);
      refuse('it was replaced while being moved');
    }
  }

  // Puts things back after a failed isolate: the original where it was, with its mode; the partial entry gone.
  async #undo(
    parent: PinnedDirectory,
    name: RawPath,
    q: PinnedDirectory,
    id: string,
    handle: FileHandle,
    st: Stats,
    record: QuarantineRecord,
    sameFileSystem: boolean,
  ): Promise<void> {
    const data = await q.lstat(`${id}.data`).catch(() => undefined);
    const original = await parent.lstat(name).catch(() => undefined);
    if (sameFileSystem) {
      if (data && data.ino === st.ino && data.dev === st.dev && !original) await putBack(q, `${id}.data`, parent, name).catch(() => {});
    } else if (data && original?.ino === st.ino) {
      await q.unlink(`${id}.data`).catch(() => {});
    }
    const stillQuarantined = await q.lstat(`${id}.data`).then(
      () => true,
      () => false,
    );
    if (!stillQuarantined) {
      await handle.chmod(record.mode).catch(() => {});
      await q.unlink(`${id}.json`).catch(() => {});
      await q.unlink(`${id}.pending`).catch(() => {});
    }
    await q.sync().catch(() => {});
  }
}

/** Moves an entry back to where it came from without replacing anything there. */
async function putBack(from: PinnedDirectory, fromName: RawPath, to: PinnedDirectory, toName: RawPath): Promise<void> {
  await from.moveNoReplace(fromName, to, toName);
}

function absolute(path: RawPath): RawPath {
  if (typeof path === 'string') return resolve(expectString('path', path));
  if (!Buffer.isBuffer(path) || path.length === 0) throw new InvalidOptionError('path', path, 'a non-empty string or Buffer');
  if (isValidUtf8(path)) return resolve(path.toString('utf8'));
  return path[0] === 0x2f ? path : Buffer.concat([Buffer.from(`${process.cwd()}/`), path]);
}

function parentProblem(error: unknown): string {
  const code = errnoOf(error);
  if (code === 'ENOTDIR' || code === 'ELOOP') return 'a directory in its path is a symbolic link or not a directory';
  if (code === 'ENOENT') return 'a directory in its path is missing';
  return `a directory in its path cannot be opened (${code ?? String(error)})`;
}

function checkId(id: string): void {
  // Ids become file names: anything else could walk out of the directory.
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new QuarantineError(`Not a quarantine id: ${JSON.stringify(String(id).slice(0, 80))}`);
}

function ignoreMissing(error: unknown): void {
  if (errnoOf(error) !== 'ENOENT') throw error;
}
