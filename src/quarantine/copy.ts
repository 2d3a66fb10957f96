// Copies into and out of the quarantine when it is on another file system than the file:
// never replacing anything, verified by hash, acting only through pinned directory handles.
import { constants, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { PinnedDirectory, RawPath } from '../core/durable-fs.js';
import type { QuarantineRecord } from './record.js';
import { copyHandle, errnoOf, hashHandle } from './safe-fs.js';

/**
 * Isolation across file systems: copies `source` into `dataName` in the pinned quarantine
 * directory (created `O_EXCL | O_NOFOLLOW`, mode 0000), fsyncs and verifies it by hash, and
 * only then unlinks the original name from its pinned parent — after checking that the name
 * still holds the same inode, size and mtime. @internal
 */
export async function copyIn(
  parent: PinnedDirectory,
  name: RawPath,
  q: PinnedDirectory,
  dataName: string,
  source: FileHandle,
  st: Stats,
  sha256: string,
  refuse: (why: string) => never,
): Promise<void> {
  // O_RDWR so the copy can be read back for verification although its mode is 0000.
  const out = await q.openFile(dataName, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o000);
  try {
    const copied = await copyHandle(source, out);
    if (copied.sha256 !== sha256) refuse('it changed while being copied');
    await out.sync();
    const check = await hashHandle(out);
    if (check.sha256 !== copied.sha256) refuse('the copy does not match the original');
  } finally {
    await out.close();
  }
  await q.sync();
  const now = await parent.lstat(name).catch(() => undefined);
  if (!now || now.dev !== st.dev || now.ino !== st.ino || now.size !== st.size || now.mtimeMs !== st.mtimeMs) refuse('it changed or was replaced while being copied');
  // Other hard links to the same inode stay behind: make them unreadable too.
  if (st.nlink > 1) await source.chmod(0);
  await parent.unlink(name);
}

/**
 * Restore across file systems: creates `name` in the pinned parent with `O_EXCL |
 * O_NOFOLLOW` (never replacing anything), copies and verifies the content, applies the
 * recorded metadata and fsyncs; on failure removes only the file it created. @internal
 */
export async function copyOut(
  source: FileHandle,
  parent: PinnedDirectory,
  name: RawPath,
  record: QuarantineRecord,
  refuse: (why: string, cause?: unknown) => never,
): Promise<void> {
  const out = await parent
    .openFile(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
    .catch((error: unknown) =>
      refuse(errnoOf(error) === 'EEXIST' ? 'something already exists there (never overwritten)' : `creating it failed (${errnoOf(error) ?? 'error'})`, error),
    );
  const created = await out.stat();
  try {
    const copied = await copyHandle(source, out);
    if (copied.sha256 !== record.sha256) refuse('the quarantined content changed while being copied');
    await applyMetadata(out, record);
    await out.sync();
  } catch (error) {
    await out.close().catch(() => {});
    // Only the file we created: the name is checked to still be that inode.
    const now = await parent.lstat(name).catch(() => undefined);
    if (now?.ino === created.ino && now.dev === created.dev) await parent.unlink(name).catch(() => {});
    throw error;
  }
  await out.close();
}

/** Owner (as root), mode and times, through a handle; the mode after the owner, as chown clears setuid bits. @internal */
export async function applyMetadata(handle: FileHandle, record: QuarantineRecord): Promise<void> {
  if (process.getuid?.() === 0) await handle.chown(record.uid, record.gid);
  await handle.chmod(record.mode);
  await handle.utimes(record.atime, record.mtime);
}
