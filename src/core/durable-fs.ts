import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readlink, rename, rmdir, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { IoError } from './errors.js';

/**
 * Directory-pinned and durable file operations: the one mechanism in hostwarden for
 * touching the file system where someone else may be racing us (a user's home
 * directory scanned as root) and for writing state that must survive a crash.
 *
 * Symlinks in a path are refused, except links only root could have made (root's own, in
 * a root-owned directory nobody else may write), such as Debian's `/var/run` → `/run`.
 *
 * Why: `O_NOFOLLOW` protects only the last component of a path. A user who owns a
 * directory in the middle of a path can swap it for a symlink to `/etc` between our check
 * and our `rename`/`unlink`, and a path-based call then lands in `/etc`. A
 * {@link PinnedDirectory} is opened one component at a time from `/`, each with
 * `O_NOFOLLOW | O_DIRECTORY`, and verified (dev, inode, owner) once; every later create,
 * rename, link, unlink and open names a single entry *relative to that open handle*
 * through Linux's `/proc/self/fd/<fd>/<name>`, which the kernel resolves through the
 * open file (the directory inode itself, wherever it has moved), never by re-walking the
 * path. That gives Node the `*at()` system calls' semantics without a native addon.
 *
 * Linux only (it needs `/proc`); paths may be strings or Buffers (names that are not
 * valid UTF-8 are handled byte for byte).
 *
 * @packageDocumentation
 */

/** A path as the kernel sees it: a string, or the exact bytes for names that are not UTF-8. */
export type RawPath = string | Buffer;

/** Flags that open a directory for pinning: never through a symlink, never a non-directory. @internal */
const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** What a caller checked about a directory; {@link PinnedDirectory.open} refuses any other. */
export interface DirectoryExpectation {
  /** Device id the directory must have. */
  readonly dev?: number;
  /** Inode number the directory must have. */
  readonly ino?: number;
  /** Owner uid the directory must have. */
  readonly uid?: number;
}

/** Options of {@link PinnedDirectory.open}. */
export interface PinOptions {
  /**
   * Create missing components (each relative to its pinned parent, never through a
   * symlink) with this mode.
   * @defaultValue missing components are an `ENOENT` error
   */
  readonly createMode?: number;
  /** Refuse unless the final directory matches these (checked on the open handle, not the path). */
  readonly expect?: DirectoryExpectation;
}

/** What the atomic writers accept: the whole content, or chunks (for content too large to build as one string). */
export type AtomicData = string | Uint8Array | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** Options of the atomic writers. */
export interface AtomicWriteOptions {
  /**
   * Permission bits of the new file.
   * @defaultValue `0o600`
   */
  readonly mode?: number;
}

/** Thrown when a pinned directory is not the one the caller checked. */
function mismatch(path: RawPath, what: string): IoError {
  return new IoError(`${describe(path)} ${what}`, { path: typeof path === 'string' ? path : path.toString('latin1'), syscall: 'verify' });
}

function describe(path: RawPath): string {
  return typeof path === 'string' ? path : path.toString('latin1');
}

/**
 * An open, verified directory; every operation names one entry relative to it.
 *
 * @example
 * await using dir = await PinnedDirectory.open('/var/lib/hostwarden', { createMode: 0o700 });
 * await dir.writeFileAtomic('state.json', JSON.stringify(state));
 */
export class PinnedDirectory implements AsyncDisposable {
  /** The path it was opened by (for messages only: the path may name something else by now). */
  readonly path: RawPath;
  /** The directory's `fstat` at pin time (dev, ino, uid, gid, mode are what was verified). */
  readonly stats: Stats;
  readonly #handle: FileHandle;
  #closed = false;

  private constructor(path: RawPath, handle: FileHandle, stats: Stats) {
    this.path = path;
    this.#handle = handle;
    this.stats = stats;
  }

  /**
   * Opens `path` one component at a time from `/`, each with `O_NOFOLLOW | O_DIRECTORY`
   * relative to the one before, then checks `expect` against the handle.
   *
   * A symlink in the path is refused, with one exception: a link that only root could
   * have made or changed — owned by root, in a directory owned by root that no one else
   * may write — is followed, component by component in the same way (at most 40 hops).
   * That keeps system paths such as `/var/run` → `/run` or `/lib` → `usr/lib` usable,
   * while a link a user planted (in their home, in `/tmp`) is never followed.
   *
   * @throws a system error (`ENOTDIR`/`ELOOP` for a symlink or non-directory component,
   * `ENOENT`…) or an {@link IoError} when `expect` does not match.
   */
  static async open(path: RawPath, options: PinOptions = {}): Promise<PinnedDirectory> {
    const pending: RawPath[] = splitAbsolute(path);
    let handle = await open('/', OPEN_DIRECTORY);
    let hops = 0;
    try {
      while (pending.length > 0) {
        const name = pending.shift() as RawPath;
        // '..' only ever comes from the target of a trusted link; it names the real parent.
        const entry = isDotDot(name) ? `/proc/self/fd/${handle.fd}/..` : entryPath(handle.fd, name);
        let next: FileHandle;
        try {
          next = await open(entry, OPEN_DIRECTORY);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if ((code === 'ENOTDIR' || code === 'ELOOP') && (await isTrustedLink(handle, entry))) {
            if (++hops > MAX_LINK_HOPS) throw Object.assign(new Error(`Too many symbolic links in ${describe(path)}`), { code: 'ELOOP' });
            const target = await readlink(entry, { encoding: 'buffer' });
            if (target[0] === 0x2f) {
              await handle.close();
              handle = await open('/', OPEN_DIRECTORY);
            }
            pending.unshift(...linkComponents(target));
            continue;
          }
          if (code !== 'ENOENT' || options.createMode === undefined) throw error;
          await mkdir(entry, options.createMode).catch((mkdirError: unknown) => {
            if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError;
          });
          next = await open(entry, OPEN_DIRECTORY);
        }
        await handle.close();
        handle = next;
      }
      const stats = await handle.stat();
      const expect = options.expect;
      if (expect?.dev !== undefined && expect.dev !== stats.dev) throw mismatch(path, `is on device ${stats.dev}, expected ${expect.dev}`);
      if (expect?.ino !== undefined && expect.ino !== stats.ino) throw mismatch(path, `is inode ${stats.ino}, expected ${expect.ino}`);
      if (expect?.uid !== undefined && expect.uid !== stats.uid) throw mismatch(path, `belongs to uid ${stats.uid}, expected ${expect.uid}`);
      return new PinnedDirectory(path, handle, stats);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** The open file descriptor (valid until {@link PinnedDirectory.close}). */
  get fd(): number {
    if (this.#closed) throw new IoError(`The pinned directory ${describe(this.path)} is closed`, { syscall: 'fd' });
    return this.#handle.fd;
  }

  /** A path that names `name` inside this directory through its handle (single component only). */
  entry(name: RawPath): RawPath {
    return entryPath(this.fd, name);
  }

  /** Opens a child directory relative to this one, without following a symlink. */
  async openDirectory(name: RawPath, options: PinOptions = {}): Promise<PinnedDirectory> {
    const entry = this.entry(name);
    let handle: FileHandle;
    try {
      handle = await open(entry, OPEN_DIRECTORY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.createMode === undefined) throw error;
      await mkdir(entry, options.createMode).catch((mkdirError: unknown) => {
        if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError;
      });
      handle = await open(entry, OPEN_DIRECTORY);
    }
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    const child = new PinnedDirectory(joinRaw(this.path, name), handle, stats);
    const expect = options.expect;
    const wrong =
      (expect?.dev !== undefined && expect.dev !== stats.dev) || (expect?.ino !== undefined && expect.ino !== stats.ino) || (expect?.uid !== undefined && expect.uid !== stats.uid);
    if (wrong) {
      await child.close();
      throw mismatch(child.path, 'is not the directory that was checked');
    }
    return child;
  }

  /** Opens an entry with `O_NOFOLLOW` always added, so a symlink there is refused (`ELOOP`). */
  openFile(name: RawPath, flags: number, mode?: number): Promise<FileHandle> {
    return open(this.entry(name), flags | constants.O_NOFOLLOW, mode);
  }

  /** `lstat` of one entry (a symlink is described, not followed). */
  lstat(name: RawPath): Promise<Stats> {
    return lstat(this.entry(name));
  }

  /** The entries' names as Buffers (exact bytes, whatever their encoding). */
  async readdir(): Promise<Buffer[]> {
    return readdir(`/proc/self/fd/${this.fd}`, { encoding: 'buffer' });
  }

  /** Creates a subdirectory (fails with `EEXIST` if anything is there). */
  async mkdir(name: RawPath, mode: number): Promise<void> {
    await mkdir(this.entry(name), mode);
  }

  /** Removes one entry that is not a directory (a symlink is removed itself, never followed). */
  unlink(name: RawPath): Promise<void> {
    return unlink(this.entry(name));
  }

  /** Removes one empty subdirectory. */
  rmdir(name: RawPath): Promise<void> {
    return rmdir(this.entry(name));
  }

  /** Renames an entry into `to` (which may be this directory), replacing what is there like rename(2). */
  rename(name: RawPath, to: PinnedDirectory, toName: RawPath): Promise<void> {
    return rename(this.entry(name), to.entry(toName));
  }

  /** Hard-links an entry into `to`; never replaces anything (`EEXIST`) and never follows a symlink. */
  link(name: RawPath, to: PinnedDirectory, toName: RawPath): Promise<void> {
    return link(this.entry(name), to.entry(toName));
  }

  /**
   * Moves an entry into `to` without ever replacing an existing name there: a hard link
   * (which fails with `EEXIST`) and then the unlink of the old name. Both names exist
   * for an instant; a crash in between leaves two names for one inode, never a loss.
   */
  async moveNoReplace(name: RawPath, to: PinnedDirectory, toName: RawPath): Promise<void> {
    await this.link(name, to, toName);
    await this.unlink(name);
  }

  /** Changes the pinned directory's own mode, through its handle. */
  chmod(mode: number): Promise<void> {
    return this.#handle.chmod(mode);
  }

  /** fsyncs the directory, so renames, links and unlinks in it survive a crash. */
  sync(): Promise<void> {
    return this.#handle.sync();
  }

  /**
   * Writes a file atomically inside this directory: a random temp name created with
   * `O_EXCL | O_NOFOLLOW` (a planted file or symlink makes it fail, never followed),
   * written, fsynced, renamed over `name`, then the directory is fsynced. Readers see
   * the old content or the new, never a mix; a crash leaves at most a stray `.tmp`.
   */
  async writeFileAtomic(name: RawPath, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
    const temp = tempName(name);
    const handle = await this.openFile(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode ?? 0o600);
    try {
      await writeFile(handle, data);
      // The mode given to open() is reduced by the umask; state files want exactly what was asked.
      await handle.chmod(options.mode ?? 0o600);
      await handle.sync();
      await handle.close();
      await this.rename(temp, this, name);
    } catch (error) {
      await handle.close().catch(() => {});
      await this.unlink(temp).catch(() => {});
      throw error;
    }
    await this.sync();
  }

  /** Closes the handle; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  /** Same as {@link PinnedDirectory.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Writes `data` to `path` atomically and durably (see {@link PinnedDirectory.writeFileAtomic}),
 * pinning its parent directory without following symlinks at any component.
 *
 * @example
 * await writeFileAtomic('/var/lib/hostwarden/bans.json', JSON.stringify(bans), { mode: 0o600 });
 */
export async function writeFileAtomic(path: RawPath, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  const [parent, name] = splitParent(path);
  const dir = await PinnedDirectory.open(parent);
  try {
    await dir.writeFileAtomic(name, data, options);
  } finally {
    await dir.close();
  }
}

/** fsyncs the directory at `path` (pinned without following symlinks), so entries created or removed in it survive a crash. */
export async function syncDirectory(path: RawPath): Promise<void> {
  const dir = await PinnedDirectory.open(path);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Opens a file with no symlink followed anywhere in its path (every directory is
 * pinned component by component; the file itself gets `O_NOFOLLOW`).
 *
 * @example
 * const handle = await openNoFollow('/var/lib/hostwarden/outbox.jsonl', constants.O_RDONLY);
 */
export async function openNoFollow(path: RawPath, flags: number, mode?: number): Promise<FileHandle> {
  const [parent, name] = splitParent(path);
  const dir = await PinnedDirectory.open(parent);
  try {
    return await dir.openFile(name, flags, mode);
  } finally {
    await dir.close();
  }
}

/**
 * Splits a path into its parent directory and last component (absolute paths only;
 * relative ones are taken from the current directory). @internal
 */
export function splitParent(path: RawPath): [RawPath, RawPath] {
  const components = splitAbsolute(path);
  const name = components.pop();
  if (name === undefined) throw new IoError('The root directory has no parent entry', { path: '/', syscall: 'open' });
  if (typeof path === 'string') return [`/${components.join('/')}`, name];
  return [Buffer.concat(components.flatMap((c) => [Buffer.from('/'), asBuffer(c)]).concat(components.length === 0 ? [Buffer.from('/')] : [])), name];
}

/** The components of an absolute path (relative ones start at the current directory); `.` and empty ones dropped, `..` refused. */
function splitAbsolute(path: RawPath): RawPath[] {
  if (typeof path === 'string') {
    if (path.includes('\0')) throw new IoError('A path contains a NUL byte', { syscall: 'open' });
    const absolute = path.startsWith('/') ? path : `${process.cwd()}/${path}`;
    const parts = absolute.split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) throw new IoError(`Refusing a path with '..' components: ${absolute}`, { path: absolute, syscall: 'open' });
    return parts;
  }
  if (path.includes(0)) throw new IoError('A path contains a NUL byte', { syscall: 'open' });
  const absolute = path[0] === 0x2f ? path : Buffer.concat([Buffer.from(`${process.cwd()}/`), path]);
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= absolute.length; i++) {
    if (i === absolute.length || absolute[i] === 0x2f) {
      const part = absolute.subarray(start, i);
      start = i + 1;
      if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
        throw new IoError(`Refusing a path with '..' components: ${absolute.toString('latin1')}`, { syscall: 'open' });
      }
      parts.push(part);
    }
  }
  return parts;
}

/** Symbolic links followed at most while pinning one path (Linux's own limit). */
const MAX_LINK_HOPS = 40;

function isDotDot(name: RawPath): boolean {
  return typeof name === 'string' ? name === '..' : name.length === 2 && name[0] === 0x2e && name[1] === 0x2e;
}

// A link only root could have made or changed: root's, in a root-owned directory that
// neither group nor others may write (a sticky /tmp does not count).
async function isTrustedLink(dir: FileHandle, entry: RawPath): Promise<boolean> {
  const link = await lstat(entry).catch(() => undefined);
  if (!link?.isSymbolicLink() || link.uid !== 0) return false;
  const parent = await dir.stat();
  return parent.uid === 0 && (parent.mode & 0o022) === 0;
}

// A trusted link's target as components; '..' is kept (resolved against the real parent).
function linkComponents(target: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= target.length; i++) {
    if (i === target.length || target[i] === 0x2f) {
      const part = target.subarray(start, i);
      start = i + 1;
      if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
      parts.push(part);
    }
  }
  return parts;
}

function entryPath(fd: number, name: RawPath): RawPath {
  checkName(name);
  return typeof name === 'string' ? `/proc/self/fd/${fd}/${name}` : Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), name]);
}

/** One entry name: never empty, `.`, `..`, or containing `/` or NUL, so it cannot leave the pinned directory. */
function checkName(name: RawPath): void {
  const bytes = asBuffer(name);
  if (bytes.length === 0 || bytes.includes(0x2f) || bytes.includes(0) || (bytes.length <= 2 && bytes.every((b) => b === 0x2e))) {
    throw new IoError(`Not a single directory entry name: ${JSON.stringify(describe(name))}`, { syscall: 'open' });
  }
}

function tempName(name: RawPath): RawPath {
  const suffix = `.${randomBytes(8).toString('hex')}.tmp`;
  // Keep the temp name within NAME_MAX (255 bytes) however long the target is.
  const base = asBuffer(name).subarray(0, 200);
  return typeof name === 'string' && Buffer.byteLength(name) <= 200 ? `.${name}${suffix}` : Buffer.concat([Buffer.from('.'), base, Buffer.from(suffix)]);
}

function joinRaw(parent: RawPath, name: RawPath): RawPath {
  if (typeof parent === 'string' && typeof name === 'string') return parent.endsWith('/') ? `${parent}${name}` : `${parent}/${name}`;
  const p = asBuffer(parent);
  return Buffer.concat([p, p[p.length - 1] === 0x2f ? Buffer.alloc(0) : Buffer.from('/'), asBuffer(name)]);
}

function asBuffer(path: RawPath): Buffer {
  return typeof path === 'string' ? Buffer.from(path) : path;
}
