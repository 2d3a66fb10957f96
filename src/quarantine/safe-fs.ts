import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, normalize, sep } from 'node:path';

/** Flags for opening a file we are about to judge: never through a symlink, never blocking on a FIFO. @internal */
export const OPEN_NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

const CHUNK = 1 << 20;

/** SHA-256 of everything behind a handle, read from offset 0 (the handle's own position is not used). @internal */
export async function hashHandle(handle: FileHandle): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { sha256: hash.digest('hex'), bytes: position };
}

/** Copies everything behind `from` (from offset 0) into `to`, returning the SHA-256 of what was copied. @internal */
export async function copyHandle(from: FileHandle, to: FileHandle): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  for (;;) {
    const { bytesRead } = await from.read(buffer, 0, CHUNK, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    let written = 0;
    while (written < bytesRead) {
      const { bytesWritten } = await to.write(chunk, written, bytesRead - written, position + written);
      written += bytesWritten;
    }
    position += bytesRead;
  }
  return { sha256: hash.digest('hex'), bytes: position };
}

/**
 * Why a restore target path is unsafe, or `undefined` when it is absolute, normalized and
 * free of `.`/`..` segments. @internal
 */
export function unsafePathReason(path: string): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'the path is empty';
  if (path.includes('\0')) return 'the path contains a NUL byte';
  if (!isAbsolute(path)) return 'the path is relative';
  const segments = path.split(sep);
  if (segments.includes('..') || segments.includes('.')) return "the path contains '.' or '..' segments";
  if (normalize(path) !== path || path.endsWith(sep)) return 'the path is not normalized';
  return undefined;
}

/**
 * Why the parent directories of `path` are unsafe to create a file in, or `undefined`:
 * every ancestor must exist and be a real directory, not a symlink, so the file lands
 * exactly where the path says. @internal
 */
export async function unsafeParentReason(path: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    let stats;
    try {
      stats = await lstat(dir);
    } catch (error) {
      return `the parent directory ${dir} cannot be inspected (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    if (stats.isSymbolicLink()) return `the parent directory ${dir} is a symbolic link`;
    if (!stats.isDirectory()) return `the parent ${dir} is not a directory`;
  }
  return undefined;
}

/** fsyncs a directory so a rename or unlink in it survives a crash. @internal */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The errno of a system error, if any. @internal */
export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
