import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';

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
 * free of `.`/`..` segments (checked byte for byte for names that are not UTF-8). @internal
 */
export function unsafePathReason(path: string | Buffer): string | undefined {
  if ((typeof path !== 'string' && !Buffer.isBuffer(path)) || path.length === 0) return 'the path is empty';
  // latin1 maps every byte to one character, so '/', '.' and NUL are seen exactly.
  const text = typeof path === 'string' ? path : path.toString('latin1');
  if (text.includes('\0')) return 'the path contains a NUL byte';
  if (!isAbsolute(text)) return 'the path is relative';
  const segments = text.split(sep);
  if (segments.includes('..') || segments.includes('.')) return "the path contains '.' or '..' segments";
  if (normalize(text) !== text || text.endsWith(sep)) return 'the path is not normalized';
  return undefined;
}

/** The errno of a system error, if any. @internal */
export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
