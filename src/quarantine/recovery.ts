import { constants } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { PinnedDirectory, splitParent, type RawPath } from '../core/durable-fs.js';
import type { Logger } from '../core/logger.js';
import { ID_PATTERN, parseIntent, recordToJson, type IsolationIntent } from './record.js';
import { errnoOf, hashHandle, OPEN_NOFOLLOW_READ } from './safe-fs.js';

/** What {@link Quarantine.recover} found in the journal of interrupted isolations. */
export interface RecoveryReport {
  /** Isolations a crash interrupted after the file had moved: completed into restorable entries (ids). */
  readonly completed: readonly string[];
  /** Isolations a crash interrupted before the file had moved: undone, the original as it was (ids). */
  readonly undone: readonly string[];
  /** Journal entries that could not be settled; kept for the next attempt, and logged (ids). */
  readonly unresolved: readonly string[];
}

/**
 * Replays the isolation journal: each `<id>.pending` (written durably before an isolate
 * changes anything) is settled so that the original is untouched or the entry complete.
 * The original is reached again only through its parent directory pinned with the
 * (dev, inode) recorded at check time, and only if its name still holds the recorded inode.
 *
 * @internal
 */
export async function recoverJournal(q: PinnedDirectory, logger: Logger): Promise<RecoveryReport> {
  const completed: string[] = [];
  const undone: string[] = [];
  const unresolved: string[] = [];
  for (const entry of await q.readdir()) {
    const name = entry.toString('latin1');
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      // A temp file of an atomic write a crash interrupted: never the committed copy.
      await q.unlink(entry).catch(() => {});
      continue;
    }
    const id = name.endsWith('.pending') ? name.slice(0, -'.pending'.length) : '';
    if (!ID_PATTERN.test(id)) continue;
    try {
      const outcome = await settle(q, id);
      (outcome === 'completed' ? completed : outcome === 'undone' ? undone : unresolved).push(id);
      logger.warn(`interrupted quarantine ${id}: ${outcome}`, { id });
    } catch (error) {
      unresolved.push(id);
      logger.error(`interrupted quarantine ${id} could not be settled`, { id, error: String(error) });
    }
  }
  if (completed.length + undone.length > 0) await q.sync();
  return { completed, undone, unresolved };
}

async function settle(q: PinnedDirectory, id: string): Promise<'completed' | 'undone' | 'unresolved'> {
  const handle = await q.openFile(`${id}.pending`, constants.O_RDONLY | constants.O_NONBLOCK);
  let intent: IsolationIntent;
  try {
    intent = parseIntent(await handle.readFile('utf8'), `${id}.pending`);
  } finally {
    await handle.close();
  }
  if (await exists(q, `${id}.json`)) {
    await q.unlink(`${id}.pending`);
    return 'completed';
  }
  const data = await q.lstat(`${id}.data`).catch(() => undefined);
  const holdsOriginal = data !== undefined && data.dev === intent.file.dev && data.ino === intent.file.ino;
  if (intent.sameFileSystem) {
    if (holdsOriginal) return complete(q, id, intent);
    await restoreMode(intent);
    await q.unlink(`${id}.pending`);
    return 'undone';
  }
  // Across file systems the original is unlinked only after the copy is complete and verified.
  if (await originalStillThere(intent)) {
    if (data) await q.unlink(`${id}.data`);
    await restoreMode(intent);
    await q.unlink(`${id}.pending`);
    return 'undone';
  }
  if (data?.isFile()) {
    const copy = await q.openFile(`${id}.data`, constants.O_RDONLY | constants.O_NONBLOCK).catch(async () => {
      await chmod(q.entry(`${id}.data`), 0o400);
      return q.openFile(`${id}.data`, constants.O_RDONLY | constants.O_NONBLOCK);
    });
    try {
      if ((await hashHandle(copy)).sha256 === intent.record.sha256) {
        await copy.chmod(0);
        return complete(q, id, intent);
      }
    } finally {
      await copy.close();
    }
  }
  return 'unresolved';
}

async function complete(q: PinnedDirectory, id: string, intent: IsolationIntent): Promise<'completed'> {
  await q.writeFileAtomic(`${id}.json`, `${JSON.stringify(recordToJson(intent.record), null, 2)}\n`);
  await q.unlink(`${id}.pending`);
  return 'completed';
}

/** The original's parent pinned with the recorded identity, and its name, or undefined if either changed. */
async function pinOriginal(intent: IsolationIntent): Promise<{ parent: PinnedDirectory; name: RawPath } | undefined> {
  const [parentPath, name] = splitParent(intent.record.rawOriginalPath ?? intent.record.originalPath);
  const parent = await PinnedDirectory.open(parentPath, { expect: { dev: intent.parent.dev, ino: intent.parent.ino } }).catch(() => undefined);
  return parent && { parent, name };
}

async function originalStillThere(intent: IsolationIntent): Promise<boolean> {
  const pinned = await pinOriginal(intent);
  if (!pinned) return false;
  try {
    const st = await pinned.parent.lstat(pinned.name).catch(() => undefined);
    return st !== undefined && st.dev === intent.file.dev && st.ino === intent.file.ino;
  } finally {
    await pinned.parent.close();
  }
}

/** Gives the original back the mode isolate took away (it may have been made 0000 before the crash). */
async function restoreMode(intent: IsolationIntent): Promise<void> {
  const pinned = await pinOriginal(intent);
  if (!pinned) return;
  const { parent, name } = pinned;
  try {
    const st = await parent.lstat(name).catch(() => undefined);
    if (!st?.isFile() || st.dev !== intent.file.dev || st.ino !== intent.file.ino || (st.mode & 0o7777) === intent.record.mode) return;
    try {
      const handle = await parent.openFile(name, OPEN_NOFOLLOW_READ);
      try {
        const now = await handle.stat();
        if (now.ino === intent.file.ino && now.dev === intent.file.dev) await handle.chmod(intent.record.mode);
      } finally {
        await handle.close();
      }
    } catch (error) {
      // Not root and the file is 0000: it cannot be opened. Through the name is safe only
      // where nobody else can swap it (our own directory, writable by nobody else).
      const uid = process.getuid?.();
      if (errnoOf(error) !== 'EACCES' || parent.stats.uid !== uid || (parent.stats.mode & 0o022) !== 0) throw error;
      await chmod(parent.entry(name), intent.record.mode);
    }
  } finally {
    await parent.close();
  }
}

async function exists(q: PinnedDirectory, name: string): Promise<boolean> {
  return q.lstat(name).then(
    () => true,
    () => false,
  );
}
