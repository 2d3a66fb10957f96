import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidOptionError, ParseError, QuarantineError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { expectLogger, expectString } from '../core/validate.js';
import { copyHandle, errnoOf, hashHandle, OPEN_NOFOLLOW_READ, syncDirectory, unsafeParentReason, unsafePathReason } from './safe-fs.js';

/** Options of {@link Quarantine}. */
export interface QuarantineOptions {
  /**
   * Where isolated files and their manifests live. Created with mode 0700 if missing; it
   * must be a real directory (not a symlink) owned by the current user. Putting it on the
   * same file system as the scanned files makes isolation an atomic rename.
   */
  readonly directory: string;
  /**
   * Where diagnostics go.
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * The clock, for `quarantinedAt`.
   * @defaultValue `() => new Date()`
   */
  readonly now?: () => Date;
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
   * @defaultValue the record's `originalPath`
   */
  readonly to?: string;
}

/** The manifest of one isolated file. */
export interface QuarantineRecord {
  /** The entry's id, used by `restore` and `remove`. */
  readonly id: string;
  /** Where the file was. */
  readonly originalPath: string;
  /** SHA-256 of the content, checked again before every restore. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
  /** The original permission bits (including setuid/setgid/sticky). */
  readonly mode: number;
  /** The original owner. */
  readonly uid: number;
  /** The original group. */
  readonly gid: number;
  /** The original modification time. */
  readonly mtime: Date;
  /** The original access time. */
  readonly atime: Date;
  /** The original status-change time (informational; the kernel sets it on restore). */
  readonly ctime: Date;
  /** When it was isolated. */
  readonly quarantinedAt: Date;
  /** Why. */
  readonly reason: string;
}

const ID = /^q-[0-9a-z]{1,16}-[0-9a-f]{12}$/;

/**
 * Isolates files like ClamAV's `--move` or maldet's quarantine, without their races: the
 * file is opened with `O_NOFOLLOW | O_NONBLOCK`, its `fstat` must show a regular file
 * with the same (dev, inode) as the `lstat` of the path, it is hashed through that
 * handle, made mode 0000, then renamed into the quarantine directory (or, across file
 * systems, copied with `O_EXCL`, fsynced, verified by hash, and only then unlinked — after
 * checking once more that the path still names the same inode). Symlinks, directories,
 * FIFOs, sockets and devices are refused. Any failed check throws a
 * {@link QuarantineError} and leaves the file where it was.
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
  readonly #now: () => Date;
  #ready: Promise<void> | undefined;

  constructor(options: QuarantineOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    this.directory = resolve(expectString('directory', options.directory));
    this.#logger = options.logger === undefined ? silentLogger : expectLogger('logger', options.logger);
    if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidOptionError('now', options.now, 'a function returning a Date');
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Moves a regular file into the quarantine, mode 0000, with a manifest.
   *
   * @throws {@link QuarantineError} when the path is not a regular file (symlink,
   * directory, special file), changed identity during the checks, or could not be moved;
   * the file is then left in place.
   */
  async isolate(path: string, options: IsolateOptions): Promise<QuarantineRecord> {
    const target = resolve(expectString('path', path));
    const reason = expectString('reason', options?.reason);
    await this.#ensureDirectory();
    const refuse = (why: string, cause?: unknown): never => {
      throw new QuarantineError(`Refusing to quarantine ${target}: ${why}`, cause === undefined ? { path: target } : { path: target, cause });
    };

    let before: Stats;
    try {
      before = await lstat(target);
    } catch (error) {
      return refuse(`it cannot be inspected (${errnoOf(error) ?? 'error'})`, error);
    }
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

    let handle: FileHandle;
    try {
      handle = await open(target, OPEN_NOFOLLOW_READ);
    } catch (error) {
      return refuse(errnoOf(error) === 'ELOOP' ? 'it became a symbolic link' : `it cannot be opened (${errnoOf(error) ?? 'error'})`, error);
    }
    const id = `q-${this.#now().getTime().toString(36)}-${randomBytes(6).toString('hex')}`;
    const dataPath = this.#dataPath(id);
    const manifestPath = this.#manifestPath(id);
    let landed = false;
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.dev !== before.dev || st.ino !== before.ino) refuse('it was replaced between lstat and open');
      const { sha256, bytes } = await hashHandle(handle);
      if (bytes !== st.size) refuse('it changed size while being hashed');
      if (options.expect?.sha256 !== undefined && options.expect.sha256 !== sha256) refuse('its content changed since it was checked');

      const record: QuarantineRecord = {
        id,
        originalPath: target,
        sha256,
        size: st.size,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtime,
        atime: st.atime,
        ctime: st.ctime,
        quarantinedAt: this.#now(),
        reason,
      };
      await writeFile(manifestPath, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

      const sameFileSystem = (await stat(this.directory)).dev === st.dev;
      if (sameFileSystem) {
        // Unreadable before it moves, so it is never readable inside the quarantine.
        await handle.chmod(0);
        const now = await lstat(target).catch(() => undefined);
        if (!now || now.dev !== st.dev || now.ino !== st.ino) {
          await handle.chmod(record.mode);
          refuse('it was replaced before it could be moved');
        }
        await rename(target, dataPath);
        landed = true;
        const moved = await lstat(dataPath);
        if (moved.dev !== st.dev || moved.ino !== st.ino) {
          // The path was swapped in the instant between the check and the rename: put
          // back what was moved, unchanged, and leave the checked file alone.
          await rename(dataPath, target).catch(() => {});
          landed = false;
          await handle.chmod(record.mode);
          refuse('it was replaced while being moved');
        }
      } else {
        await this.#copyIn(handle, dataPath, sha256);
        landed = true;
        const now = await lstat(target).catch(() => undefined);
        if (!now || now.dev !== st.dev || now.ino !== st.ino || now.size !== st.size || now.mtimeMs !== st.mtimeMs) {
          refuse('it changed or was replaced while being copied');
        }
        // Other hard links to the same inode stay behind: make them unreadable too
        // (on one file system the chmod above already did, as the inode is shared).
        if (st.nlink > 1) await handle.chmod(0);
        await unlink(target);
        await syncDirectory(dirname(target)).catch(() => {});
      }
      await syncDirectory(this.directory);
      this.#logger.info('file quarantined', { id, path: target, sha256, reason, ...(st.nlink > 1 ? { otherHardLinks: st.nlink - 1 } : {}) });
      return record;
    } catch (error) {
      if (landed && !(await this.#stillInPlace(target))) {
        // Same file system: the rename happened, so undo it. Across file systems the
        // original was never unlinked, so only the copy goes.
        await rename(dataPath, target).catch(() => {});
      }
      await rm(dataPath, { force: true }).catch(() => {});
      await rm(manifestPath, { force: true }).catch(() => {});
      if (error instanceof QuarantineError) throw error;
      return refuse(`moving it failed (${errnoOf(error) ?? (error instanceof Error ? error.message : 'error')})`, error);
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Every isolated file's record, oldest first. Unreadable manifests are skipped (and logged). */
  async list(): Promise<QuarantineRecord[]> {
    await this.#ensureDirectory();
    const records: QuarantineRecord[] = [];
    for (const name of await readdir(this.directory)) {
      const id = name.endsWith('.json') ? name.slice(0, -5) : '';
      if (!ID.test(id)) continue;
      try {
        records.push(await this.get(id));
      } catch (error) {
        this.#logger.warn('unreadable quarantine manifest', { id, error: String(error) });
      }
    }
    return records.sort((a, b) => a.quarantinedAt.getTime() - b.quarantinedAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * One record by id.
   *
   * @throws {@link QuarantineError} for an unknown or malformed id; {@link ParseError} for a damaged manifest.
   */
  async get(id: string): Promise<QuarantineRecord> {
    this.#checkId(id);
    let text: string;
    try {
      text = await readFile(this.#manifestPath(id), 'utf8');
    } catch (error) {
      throw new QuarantineError(`No quarantine entry ${id}`, { cause: error });
    }
    return parseRecord(text, this.#manifestPath(id));
  }

  /**
   * Puts an isolated file back with its content, mode, times and (when running as root)
   * owner, then deletes the entry.
   *
   * @throws {@link QuarantineError} when the target path is relative or contains `..`, a
   * parent directory is a symlink or missing, something already exists there (it is never
   * overwritten), or the quarantined content no longer matches its SHA-256.
   */
  async restore(id: string, options: RestoreOptions = {}): Promise<QuarantineRecord> {
    const record = await this.get(id);
    const target = options.to ?? record.originalPath;
    const refuse = (why: string, cause?: unknown): never => {
      throw new QuarantineError(`Refusing to restore ${id} to ${target}: ${why}`, cause === undefined ? { path: target } : { path: target, cause });
    };
    const pathProblem = unsafePathReason(target);
    if (pathProblem) refuse(pathProblem);
    const parentProblem = await unsafeParentReason(target);
    if (parentProblem) refuse(parentProblem);
    if (await lstat(target).then(() => true, () => false)) refuse('something already exists there (never overwritten)');

    const dataPath = this.#dataPath(id);
    const dataStats = await lstat(dataPath).catch((error: unknown) => refuse('its data file is missing', error));
    if (!dataStats.isFile()) refuse('its data file is not a regular file');
    // Readable for the check, then carrying the original metadata, all inside the 0700 directory.
    await chmod(dataPath, 0o400);
    let restored = false;
    try {
      const handle = await open(dataPath, OPEN_NOFOLLOW_READ);
      try {
        const { sha256 } = await hashHandle(handle);
        if (sha256 !== record.sha256) refuse('the quarantined content does not match its recorded SHA-256');
        const sameFileSystem = (await stat(dirname(target))).dev === dataStats.dev;
        if (sameFileSystem) {
          if (process.getuid?.() === 0) await chown(dataPath, record.uid, record.gid);
          await chmod(dataPath, record.mode);
          await utimes(dataPath, record.atime, record.mtime);
          // link() never replaces an existing name, unlike rename().
          await link(dataPath, target).catch((error: unknown) =>
            refuse(errnoOf(error) === 'EEXIST' ? 'something already exists there (never overwritten)' : `linking failed (${errnoOf(error) ?? 'error'})`, error),
          );
          restored = true;
          const landed = await lstat(target).catch(() => undefined);
          if (!landed || landed.ino !== dataStats.ino || (await unsafeParentReason(target))) {
            await unlink(target).catch(() => {});
            restored = false;
            refuse('a parent directory changed while restoring');
          }
        } else {
          await this.#copyOut(handle, target, record, refuse);
          restored = true;
        }
      } finally {
        await handle.close();
      }
      await unlink(dataPath);
      await rm(this.#manifestPath(id), { force: true });
      await syncDirectory(this.directory);
      await syncDirectory(dirname(target)).catch(() => {});
      this.#logger.info('file restored from quarantine', { id, path: target });
      return record;
    } finally {
      if (!restored) await chmod(dataPath, 0).catch(() => {});
    }
  }

  /**
   * Deletes an isolated file and its manifest for good.
   *
   * @throws {@link QuarantineError} for an unknown or malformed id.
   */
  async remove(id: string): Promise<void> {
    await this.get(id);
    await rm(this.#dataPath(id), { force: true });
    await rm(this.#manifestPath(id), { force: true });
    await syncDirectory(this.directory);
    this.#logger.info('quarantined file deleted', { id });
  }

  #dataPath(id: string): string {
    return join(this.directory, `${id}.data`);
  }

  #manifestPath(id: string): string {
    return join(this.directory, `${id}.json`);
  }

  #checkId(id: string): void {
    // Ids become file names: anything else could walk out of the directory.
    if (typeof id !== 'string' || !ID.test(id)) throw new QuarantineError(`Not a quarantine id: ${JSON.stringify(String(id).slice(0, 80))}`);
  }

  async #stillInPlace(path: string): Promise<boolean> {
    return lstat(path).then(() => true, () => false);
  }

  #ensureDirectory(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      const st = await lstat(this.directory);
      if (st.isSymbolicLink() || !st.isDirectory()) {
        throw new QuarantineError(`The quarantine directory ${this.directory} is not a real directory`, { path: this.directory });
      }
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) {
        throw new QuarantineError(`The quarantine directory ${this.directory} belongs to uid ${st.uid}, not to this process (uid ${uid})`, { path: this.directory });
      }
      if ((st.mode & 0o777) !== 0o700) await chmod(this.directory, 0o700);
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #copyIn(source: FileHandle, dataPath: string, sha256: string): Promise<void> {
    // O_RDWR so the copy can be read back for verification although its mode is 0000.
    const out = await open(dataPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o000);
    try {
      const copied = await copyHandle(source, out);
      if (copied.sha256 !== sha256) throw new Error('the file changed while being copied');
      await out.sync();
      const check = await hashHandle(out);
      if (check.sha256 !== sha256) throw new Error('the copy does not match the original');
    } finally {
      await out.close();
    }
  }

  async #copyOut(source: FileHandle, target: string, record: QuarantineRecord, refuse: (why: string, cause?: unknown) => never): Promise<void> {
    const out = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((error: unknown) =>
      refuse(errnoOf(error) === 'EEXIST' ? 'something already exists there (never overwritten)' : `creating it failed (${errnoOf(error) ?? 'error'})`, error),
    );
    try {
      const copied = await copyHandle(source, out);
      if (copied.sha256 !== record.sha256) throw new QuarantineError('the quarantined content changed while being copied', { path: target });
      if (process.getuid?.() === 0) await out.chown(record.uid, record.gid);
      await out.chmod(record.mode);
      await out.utimes(record.atime, record.mtime);
      await out.sync();
    } catch (error) {
      await out.close().catch(() => {});
      await unlink(target).catch(() => {});
      throw error;
    }
    await out.close();
    if (await unsafeParentReason(target)) {
      await unlink(target).catch(() => {});
      refuse('a parent directory changed while restoring');
    }
  }
}

function parseRecord(text: string, source: string): QuarantineRecord {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ParseError(`Damaged quarantine manifest ${source}`, { source, cause: error });
  }
  const date = (key: string): Date => {
    const d = new Date(String(raw[key]));
    if (Number.isNaN(d.getTime())) throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return d;
  };
  const num = (key: string): number => {
    if (typeof raw[key] !== 'number') throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return raw[key];
  };
  const str = (key: string): string => {
    if (typeof raw[key] !== 'string') throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return raw[key];
  };
  return {
    id: str('id'),
    originalPath: str('originalPath'),
    sha256: str('sha256'),
    size: num('size'),
    mode: num('mode'),
    uid: num('uid'),
    gid: num('gid'),
    mtime: date('mtime'),
    atime: date('atime'),
    ctime: date('ctime'),
    quarantinedAt: date('quarantinedAt'),
    reason: str('reason'),
  };
}
