import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The kernel's inotify limits, as read from `/proc/sys/fs/inotify`. @internal */
export interface InotifyLimits {
  /** `max_user_watches`: watched directories per user, across all processes. */
  readonly maxUserWatches: number | undefined;
  /** `max_queued_events`: events an inotify instance holds before it overflows (read at creation). */
  readonly maxQueuedEvents: number | undefined;
}

/** Reads the inotify limits; a missing value (not Linux, no /proc) is `undefined`. @internal */
export async function readInotifyLimits(procRoot: string): Promise<InotifyLimits> {
  const read = async (name: string): Promise<number | undefined> => {
    try {
      const n = Number.parseInt(await readFile(join(procRoot, 'sys/fs/inotify', name), 'utf8'), 10);
      return Number.isFinite(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const [maxUserWatches, maxQueuedEvents] = await Promise.all([read('max_user_watches'), read('max_queued_events')]);
  return { maxUserWatches, maxQueuedEvents };
}

/**
 * Counts the inotify watches that processes of user `uid` hold now, from
 * `/proc/<pid>/fdinfo` (one `inotify wd:` line per watch) — what `inotify-info` shows.
 * The watch limit is per user, so these are the watches this process cannot have.
 * Best effort: processes that vanish or hide their fds are not counted.
 *
 * @internal
 */
export async function countWatchesInUse(procRoot: string, uid: number): Promise<number> {
  let total = 0;
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return 0;
  }
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const owner = await stat(join(procRoot, pid));
        if (owner.uid !== uid) return;
        const fds = await readdir(join(procRoot, pid, 'fd'));
        for (const fd of fds) {
          const target = await readlink(join(procRoot, pid, 'fd', fd)).catch(() => '');
          if (target !== 'anon_inode:inotify') continue;
          const info = await readFile(join(procRoot, pid, 'fdinfo', fd), 'utf8').catch(() => '');
          for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) total++;
        }
      } catch {
        // The process ended, or its fds are not ours to read.
      }
    }),
  );
  return total;
}

/** What to tell the operator when the roots need more watches than the limit leaves. @internal */
export function watchLimitMessage(needed: number | undefined, max: number | undefined, inUse: number): string {
  const have = max === undefined ? 'unknown' : String(max);
  if (needed === undefined) {
    return `the inotify watch limit ran out (fs.inotify.max_user_watches = ${have}, ${inUse} in use by this user); one watch is needed per directory: raise it (sysctl fs.inotify.max_user_watches)`;
  }
  return `${needed} directories need one inotify watch each, but fs.inotify.max_user_watches = ${have} and ${inUse} are in use by this user: raise it to at least ${needed + inUse + 1024} (sysctl fs.inotify.max_user_watches)`;
}
