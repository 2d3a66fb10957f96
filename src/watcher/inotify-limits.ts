import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The kernel's inotify limits, as read from `/proc/sys`. @internal */
export interface InotifyLimits {
  /** `max_queued_events`: events an inotify instance holds before it overflows (read at creation). */
  readonly maxQueuedEvents: number | undefined;
}

/** How many more inotify watches this process can add, and which limit says so. @internal */
export interface WatchBudget {
  /** The sysctl that is the tighter limit (`fs.inotify.max_user_watches`, or a user namespace's `user.max_inotify_watches`). */
  readonly name: string;
  /** Its value. */
  readonly limit: number;
  /** Watches that count against it now (held by this user's processes, in this user namespace for the namespace's limit). */
  readonly inUse: number;
}

async function readNumber(procRoot: string, path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt(await readFile(join(procRoot, path), 'utf8'), 10);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the inotify queue limit; a missing value (not Linux, no /proc) is `undefined`. @internal */
export async function readInotifyLimits(procRoot: string): Promise<InotifyLimits> {
  return { maxQueuedEvents: await readNumber(procRoot, 'sys/fs/inotify/max_queued_events') };
}

/**
 * The watch limit that binds this process, with the watches already counted against it.
 * There are two: `fs.inotify.max_user_watches` for a user across the whole machine, and
 * (Linux 5.11+) `user.max_inotify_watches` of the user namespace the process runs in (a
 * container's), which counts only that namespace's watches. Each user's watches are read
 * from `/proc/<pid>/fdinfo` (one `inotify wd:` line per watch, what `inotify-info` shows);
 * processes that vanish or hide their descriptors are not counted. `undefined` when no
 * limit can be read.
 *
 * @internal
 */
export async function watchBudget(procRoot: string, uid: number): Promise<WatchBudget | undefined> {
  const [global, namespaced] = await Promise.all([readNumber(procRoot, 'sys/fs/inotify/max_user_watches'), readNumber(procRoot, 'sys/user/max_inotify_watches')]);
  if (global === undefined && namespaced === undefined) return undefined;
  const ownNamespace = await readlink(join(procRoot, 'self/ns/user')).catch(() => undefined);
  const { all, sameNamespace } = await countWatchesInUse(procRoot, uid, ownNamespace);
  const budgets: WatchBudget[] = [];
  if (global !== undefined) budgets.push({ name: 'fs.inotify.max_user_watches', limit: global, inUse: all });
  if (namespaced !== undefined) budgets.push({ name: 'user.max_inotify_watches', limit: namespaced, inUse: sameNamespace });
  // In the initial namespace both are one value; the machine-wide count is the larger, so it wins ties.
  return budgets.reduce((a, b) => (b.limit - b.inUse < a.limit - a.inUse ? b : a));
}

async function countWatchesInUse(procRoot: string, uid: number, ownNamespace: string | undefined): Promise<{ all: number; sameNamespace: number }> {
  let all = 0;
  let sameNamespace = 0;
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((name) => /^[0-9]+$/.test(name));
  } catch {
    return { all, sameNamespace };
  }
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const owner = await stat(join(procRoot, pid));
        if (owner.uid !== uid) return;
        let watches = 0;
        const fds = await readdir(join(procRoot, pid, 'fd'));
        for (const fd of fds) {
          const target = await readlink(join(procRoot, pid, 'fd', fd)).catch(() => '');
          if (target !== 'anon_inode:inotify') continue;
          const info = await readFile(join(procRoot, pid, 'fdinfo', fd), 'utf8').catch(() => '');
          for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) watches++;
        }
        all += watches;
        const namespace = await readlink(join(procRoot, pid, 'ns/user')).catch(() => undefined);
        if (namespace === ownNamespace) sameNamespace += watches;
      } catch {
        // The process ended, or its fds are not ours to read.
      }
    }),
  );
  return { all, sameNamespace };
}

/** What to tell the operator when the roots need more watches than the limit leaves. @internal */
export function watchLimitMessage(needed: number | undefined, budget: WatchBudget | undefined): string {
  const name = budget?.name ?? 'fs.inotify.max_user_watches';
  const have = budget === undefined ? 'unknown' : `${budget.limit} and ${budget.inUse} are in use by this user`;
  if (needed === undefined) {
    return `the inotify watch limit ran out (${name} = ${have}); one watch is needed per directory, the count follows after the first crawl: raise it (sysctl ${name})`;
  }
  const atLeast = needed + (budget?.inUse ?? 0) + 1024;
  return `${needed} directories need one inotify watch each, but ${name} = ${have}: raise it to at least ${atLeast} (sysctl ${name})`;
}
