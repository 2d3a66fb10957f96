import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * How many leading bytes identify a file's content. Log lines start with a timestamp,
 * so 1 KiB tells two generations of a log apart even when the kernel reuses an inode.
 * @internal
 */
export const FINGERPRINT_BYTES = 1024;

/**
 * What a file is: (dev, inode) plus a hash of its first bytes. Inode alone is not enough:
 * ext4 hands a freed inode to the next file created, so delete+recreate (or logrotate's
 * `create`) often yields a new file with the old number.
 * @internal
 */
export interface FileIdentity {
  /** Device number, as a decimal string (exact beyond 2^53). */
  readonly dev: string;
  /** Inode number, as a decimal string. */
  readonly ino: string;
  /** sha256 (hex) of the first `fingerprintLength` bytes. */
  readonly fingerprint: string;
  /** How many bytes the fingerprint covers (less than 1 KiB while the file is small). */
  readonly fingerprintLength: number;
}

/** Reads up to `length` first bytes of an open file into `into`; returns how many there were. @internal */
export async function readPrefix(fh: FileHandle, into: Buffer, length: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(into, got, length - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Hashes the first `length` bytes of an open file. @internal */
export async function fingerprintOf(fh: FileHandle, length: number): Promise<{ fingerprint: string; fingerprintLength: number }> {
  const buf = Buffer.alloc(length);
  const got = await readPrefix(fh, buf, length);
  return { fingerprint: createHash('sha256').update(buf.subarray(0, got)).digest('hex'), fingerprintLength: got };
}

/** Whether the open file still starts with the bytes `identity` fingerprinted. @internal */
export async function sameContent(fh: FileHandle, identity: Pick<FileIdentity, 'fingerprint' | 'fingerprintLength'>): Promise<boolean> {
  if (identity.fingerprintLength === 0) return true;
  const now = await fingerprintOf(fh, identity.fingerprintLength);
  return now.fingerprintLength === identity.fingerprintLength && now.fingerprint === identity.fingerprint;
}

/** Anything with a device and an inode number: a saved identity or a (bigint) stat. @internal */
export interface InodeRef {
  readonly dev: string | bigint;
  readonly ino: string | bigint;
}

/** Whether two stats name the same inode. @internal */
export function sameInode(a: InodeRef, b: InodeRef): boolean {
  return String(a.dev) === String(b.dev) && String(a.ino) === String(b.ino);
}

/** Compressed rotations are never read back: their bytes are not the log's bytes. */
const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|lzma|lzo|z|zip|7z|br)$/i;

/** Flags for opening a log: never block on a FIFO, optionally refuse a symlink. @internal */
export function openFlags(noFollow: boolean): number {
  return constants.O_RDONLY | constants.O_NONBLOCK | (noFollow ? constants.O_NOFOLLOW : 0);
}

/** A rotated generation of a log found among its siblings. @internal */
export interface RotatedFile {
  /** Where it is now (`auth.log.1`, `auth.log-20240301`…). */
  readonly path: string;
  /** Open for reading; the caller owns it. */
  readonly fh: FileHandle;
  /** Its (dev, inode) now. */
  readonly stats: BigIntStats;
}

/**
 * Looks for the file `identity` named among the siblings of `path` — the names logrotate
 * and savelog give a rotated log (`auth.log.1`, `auth.log-20240301`, `auth.log.0`) — by
 * fingerprint, preferring the same inode. Compressed generations, symlinks and anything
 * that is not a regular file are skipped. Needed after a restart (the log rotated while
 * the watcher was stopped) and after copytruncate (the copy holds the unread tail).
 * @internal
 */
export async function findRotated(path: string, identity: FileIdentity, minSize: number): Promise<RotatedFile | undefined> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const candidates = names.filter((name) => name !== base && name.startsWith(base) && !COMPRESSED.test(name));
  let fallback: RotatedFile | undefined;
  for (const name of candidates) {
    const candidate = join(dir, name);
    let st: BigIntStats;
    try {
      st = await lstat(candidate, { bigint: true });
    } catch {
      continue;
    }
    if (!st.isFile() || st.size < BigInt(minSize)) continue;
    let fh: FileHandle | undefined;
    try {
      fh = await open(candidate, openFlags(true));
      const opened = await fh.stat({ bigint: true });
      if (!sameInode(st, opened) || !(await sameContent(fh, identity))) {
        await fh.close();
        continue;
      }
      const found: RotatedFile = { path: candidate, fh, stats: opened };
      if (sameInode(identity, opened)) {
        await fallback?.fh.close();
        return found;
      }
      if (fallback) await fh.close();
      else fallback = found;
    } catch {
      await fh?.close().catch(() => {});
    }
  }
  return fallback;
}
