import { lstatSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
import { isValidUtf8 } from '../core/text.js';
import picomatch from 'picomatch';
import { readdirp, type EntryInfo } from 'readdirp';
import type { EntryKind, SkipReason } from './types.js';

/** What the walk yields: an entry to judge, a directory entered, or a path it could not look at. @internal */
export type WalkItem =
  | { readonly type: 'entry'; readonly entry: WalkEntry }
  | { readonly type: 'directory' }
  | { readonly type: 'skip'; readonly path: string; readonly rawPath?: Buffer; readonly reason: SkipReason; readonly detail: string; readonly error?: Error };

/** An entry as listed: its name and the type the directory listing gave (no stat yet). @internal */
export interface WalkEntry {
  /** The path; lossy (U+FFFD) when {@link WalkEntry.rawPath} is set. */
  readonly path: string;
  /** The exact bytes of a path that is not valid UTF-8 (the file is opened by these). */
  readonly rawPath?: Buffer;
  readonly relativePath: string;
  /** From the dirent; `'unknown'` on file systems that do not fill d_type. */
  readonly kind: EntryKind;
  /** The device of the root it was found under (for `oneFileSystem` on nested walks). */
  readonly rootDev: number;
}

/** A directory met as an entry (no d_type, or a file replaced by a directory): walked on its own, never through a link. @internal */
export interface NestedRoot {
  readonly path: string;
  readonly rawPath?: Buffer;
  readonly relativePath: string;
  readonly rootDev: number;
}

/** @internal */
export interface WalkOptions {
  readonly oneFileSystem: boolean;
  readonly isExcluded: (relativePath: string, absolutePath: string, name: string) => boolean;
  /** Directories already walked in this scan (dev:ino), shared by all roots so overlapping roots and bind mounts cannot loop. */
  readonly visited: Set<string>;
  readonly signal: AbortSignal;
}

/**
 * Walks a directory that turned up as an entry. Unlike a user's root it is not resolved:
 * it must still be a real directory (not a symlink), on the same file system when asked.
 *
 * @internal
 */
export async function* walkNested(nested: NestedRoot, options: WalkOptions): AsyncGenerator<WalkItem> {
  if (nested.rawPath) {
    yield* walkRaw(nested.rawPath, nested.relativePath, nested.rootDev, options);
    return;
  }
  let stats: Stats;
  try {
    stats = await lstat(nested.path);
  } catch (error) {
    yield { type: 'skip', path: nested.path, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
    return;
  }
  if (!stats.isDirectory()) {
    yield { type: 'skip', path: nested.path, reason: 'changed', detail: 'no longer a directory' };
    return;
  }
  if (options.oneFileSystem && stats.dev !== nested.rootDev) {
    yield { type: 'skip', path: nested.path, reason: 'other-filesystem', detail: `device ${stats.dev}` };
    return;
  }
  yield* walkRoot(nested.path, options, { stats, relativePrefix: nested.relativePath, rootDev: nested.rootDev });
}

/**
 * Builds the exclusion test from globs: a glob without `/` matches any path component's
 * name (`node_modules`, `*.log`), one starting with `/` matches the absolute path, any
 * other the path relative to the root.
 *
 * @internal
 */
export function exclusionMatcher(globs: readonly string[]): WalkOptions['isExcluded'] {
  if (globs.length === 0) return () => false;
  const byName = globs.filter((g) => !g.includes('/'));
  const byAbsolute = globs.filter((g) => g.startsWith('/'));
  const byRelative = globs.filter((g) => g.includes('/') && !g.startsWith('/'));
  const options = { dot: true };
  const name = byName.length > 0 ? picomatch(byName, options) : undefined;
  const absolute = byAbsolute.length > 0 ? picomatch(byAbsolute, options) : undefined;
  const relative = byRelative.length > 0 ? picomatch(byRelative, options) : undefined;
  return (rel, abs, base) => (name?.(base) ?? false) || (absolute?.(abs) ?? false) || (relative?.(rel) ?? false);
}

/** What a directory entry is, from `lstat` stats or a dirent (same predicates). @internal */
export function entryKind(stats: Pick<Stats, 'isFile' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>): EntryKind {
  if (stats.isFile()) return 'file';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isBlockDevice()) return 'block-device';
  if (stats.isCharacterDevice()) return 'character-device';
  return 'unknown';
}

const direntKind = entryKind;

/** Maps an errno from the walk to a skip reason. @internal */
export function skipReasonOf(error: unknown): SkipReason {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? 'vanished' : 'unreadable';
}

/**
 * Walks one root with readdirp without ever following a symlink.
 *
 * readdirp resolves every symlink with `realpath` and descends into symlinked
 * directories, even outside the root. Here every entry is `lstat`ed and the
 * directory filter refuses symlinks, so a link is yielded as an entry of kind
 * `'symlink'` (judged by name) and never entered. The `realpath` warnings readdirp
 * emits while classifying links (dangling links, loops, "circular symlink") are
 * about targets we never visit, so they are dropped; every other `'warn'` (a
 * directory we may not read, an entry that vanished before its `lstat`) becomes a
 * skip, which would otherwise vanish because readdirp only emits it.
 *
 * @internal
 */
export async function* walkRoot(
  root: string,
  options: WalkOptions,
  nested?: { readonly stats: Stats; readonly relativePrefix: string; readonly rootDev: number },
): AsyncGenerator<WalkItem> {
  let rootPath: string;
  let rootStats: Stats;
  if (nested) {
    rootPath = root;
    rootStats = nested.stats;
  } else {
    try {
      // The root was named by the user: resolve it once (e.g. /home -> /usr/home), then never again.
      rootPath = await realpath(root);
      rootStats = await lstat(rootPath);
    } catch (error) {
      yield { type: 'skip', path: root, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
      return;
    }
    if (!rootStats.isDirectory()) {
      yield { type: 'entry', entry: { path: rootPath, relativePath: basename(rootPath), kind: entryKind(rootStats), rootDev: rootStats.dev } };
      return;
    }
  }
  const rootDev = nested?.rootDev ?? rootStats.dev;
  const prefix = nested ? `${nested.relativePrefix}${sep}` : '';
  const rootKey = `${rootStats.dev}:${rootStats.ino}`;
  if (options.visited.has(rootKey)) return;
  options.visited.add(rootKey);
  yield { type: 'directory' };

  const pending: WalkItem[] = [];
  // Entries whose names readdirp decoded with U+FFFD (directories never reach the loop below).
  const lossy: EntryInfo[] = [];
  const rootPrefix = rootPath.endsWith(sep) ? rootPath : rootPath + sep;
  const stream = readdirp(rootPath, {
    type: 'all',
    // Dirent mode: the listing's d_type says what each entry is, so the walk itself stats
    // only directories; files are stat'ed (and opened) in the scanner's worker threads.
    alwaysStat: false,
    // readdirp's own default; keeps its batches small so memory stays flat on wide trees.
    highWaterMark: 256,
    directoryFilter: (entry: EntryInfo) => {
      if (!entry.dirent || entry.dirent.isSymbolicLink()) return false; // yielded as a 'symlink' entry instead
      // A name readdirp decoded lossily cannot be opened by that string: walked by its bytes instead.
      if (entry.basename.includes('\uFFFD')) {
        lossy.push(entry);
        return false;
      }
      if (options.isExcluded(prefix + entry.path, entry.fullPath, entry.basename)) return false;
      let stats: Stats;
      try {
        // Synchronous on purpose: readdirp's filter is synchronous, and one lstat per
        // directory (not per file) costs microseconds.
        stats = lstatSync(entry.fullPath);
      } catch (error) {
        pending.push({ type: 'skip', path: entry.fullPath, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) });
        return false;
      }
      if (!stats.isDirectory()) return false; // replaced since the listing; yielded as an entry
      if (options.oneFileSystem && stats.dev !== rootDev) {
        pending.push({ type: 'skip', path: entry.fullPath, reason: 'other-filesystem', detail: `device ${stats.dev}` });
        return false;
      }
      const key = `${stats.dev}:${stats.ino}`;
      if (options.visited.has(key)) {
        pending.push({ type: 'skip', path: entry.fullPath, reason: 'loop', detail: 'directory already walked (bind mount or overlapping root)' });
        return false;
      }
      options.visited.add(key);
      pending.push({ type: 'directory' });
      return true;
    },
    fileFilter: (entry: EntryInfo) => !options.isExcluded(prefix + entry.path, entry.fullPath, entry.basename),
  });
  const resolvedLossy = new Set<string>();
  stream.on('warn', (error: NodeJS.ErrnoException) => {
    // Link classification noise: we never follow links, so their targets do not matter.
    if (error.syscall === 'realpath' || error.code === 'READDIRP_RECURSIVE_ERROR') return;
    const path = error.path ?? rootPath;
    if (path !== rootPath && !path.startsWith(rootPrefix)) return; // about a link's target
    pending.push({ type: 'skip', path, reason: skipReasonOf(error), detail: errnoDetail(error), error });
  });
  const onAbort = (): void => {
    stream.destroy();
  };
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // readdirp decodes names as UTF-8: a name that is not valid UTF-8 arrives with U+FFFD
    // and could hide malware. Its directory is listed again by bytes, once per lossy name.
    async function* resolveLossy(entry: EntryInfo): AsyncGenerator<WalkItem> {
      if (resolvedLossy.has(entry.fullPath)) return;
      resolvedLossy.add(entry.fullPath);
      if (options.isExcluded(prefix + entry.path, entry.fullPath, entry.basename)) return;
      yield* rawEntries(entry.fullPath, prefix + entry.path, rootDev, options);
    }
    for await (const entry of stream as AsyncIterable<EntryInfo>) {
      while (pending.length > 0) yield pending.shift() as WalkItem;
      while (lossy.length > 0) yield* resolveLossy(lossy.shift() as EntryInfo);
      if (entry.basename.includes('\uFFFD')) {
        yield* resolveLossy(entry);
        continue;
      }
      // Directories are walked, not judged (readdirp yields them too with type 'all').
      if (!entry.dirent || entry.dirent.isDirectory()) continue;
      yield { type: 'entry', entry: { path: entry.fullPath, relativePath: prefix + entry.path, kind: direntKind(entry.dirent), rootDev } };
    }
    while (pending.length > 0) yield pending.shift() as WalkItem;
    while (lossy.length > 0) yield* resolveLossy(lossy.shift() as EntryInfo);
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

/** `ENOENT (lstat)` style detail for a system error. @internal */
export function errnoDetail(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  if (e?.code) return e.syscall ? `${e.code} (${e.syscall})` : e.code;
  return error instanceof Error ? error.message : String(error);
}

/** @internal */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

// Every entry of `parent` whose name decodes (lossily) to the name readdirp gave, by its
// exact bytes: files as entries with a rawPath, directories walked by bytes (valid UTF-8
// names that merely contain U+FFFD are handled by their string path as usual).
async function* rawEntries(lossyPath: string, relativePath: string, rootDev: number, options: WalkOptions): AsyncGenerator<WalkItem> {
  const parent = dirname(lossyPath);
  const name = basename(lossyPath);
  let names: Buffer[];
  try {
    names = await readdir(parent, { encoding: 'buffer' });
  } catch (error) {
    yield { type: 'skip', path: parent, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
    return;
  }
  const parentBytes = Buffer.from(parent.endsWith(sep) ? parent : parent + sep);
  for (const raw of names) {
    if (raw.toString('utf8') !== name) continue;
    const valid = isValidUtf8(raw);
    const rawPath = Buffer.concat([parentBytes, raw]);
    yield* rawItem(valid ? undefined : rawPath, lossyPath, relativePath, rootDev, options);
  }
}

async function* rawItem(rawPath: Buffer | undefined, path: string, relativePath: string, rootDev: number, options: WalkOptions): AsyncGenerator<WalkItem> {
  let stats: Stats;
  try {
    stats = await lstat(rawPath ?? path);
  } catch (error) {
    yield { type: 'skip', path, ...(rawPath ? { rawPath } : {}), reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
    return;
  }
  if (!stats.isDirectory()) {
    yield { type: 'entry', entry: { path, ...(rawPath ? { rawPath } : {}), relativePath, kind: entryKind(stats), rootDev } };
    return;
  }
  if (rawPath) yield* walkRaw(rawPath, relativePath, rootDev, options, stats);
  else yield* walkRoot(path, options, { stats, relativePrefix: relativePath, rootDev });
}

/**
 * Walks a directory whose path is not valid UTF-8, by bytes (readdirp only speaks UTF-8
 * strings): the same rules as {@link walkRoot} — no symlink followed, loops and other file
 * systems (when asked) not entered, exclusions applied to the lossy path. @internal
 */
export async function* walkRaw(dir: Buffer, relativePath: string, rootDev: number, options: WalkOptions, known?: Stats): AsyncGenerator<WalkItem> {
  const path = dir.toString('utf8');
  let stats: Stats;
  try {
    stats = known ?? (await lstat(dir));
  } catch (error) {
    yield { type: 'skip', path, rawPath: dir, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
    return;
  }
  if (!stats.isDirectory()) {
    yield { type: 'entry', entry: { path, rawPath: dir, relativePath, kind: entryKind(stats), rootDev } };
    return;
  }
  if (options.oneFileSystem && stats.dev !== rootDev) {
    yield { type: 'skip', path, rawPath: dir, reason: 'other-filesystem', detail: `device ${stats.dev}` };
    return;
  }
  const key = `${stats.dev}:${stats.ino}`;
  if (options.visited.has(key)) {
    yield { type: 'skip', path, rawPath: dir, reason: 'loop', detail: 'directory already walked (bind mount or overlapping root)' };
    return;
  }
  options.visited.add(key);
  yield { type: 'directory' };
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    yield { type: 'skip', path, rawPath: dir, reason: skipReasonOf(error), detail: errnoDetail(error), error: asError(error) };
    return;
  }
  for (const dirent of entries) {
    options.signal.throwIfAborted();
    const childRaw = Buffer.concat([dir, Buffer.from(sep), dirent.name]);
    const childPath = childRaw.toString('utf8');
    const childRelative = `${relativePath}${sep}${dirent.name.toString('utf8')}`;
    if (options.isExcluded(childRelative, childPath, dirent.name.toString('utf8'))) continue;
    if (dirent.isDirectory()) yield* walkRaw(childRaw, childRelative, rootDev, options);
    else yield { type: 'entry', entry: { path: childPath, rawPath: childRaw, relativePath: childRelative, kind: direntKind(dirent), rootDev } };
  }
}

/** A path given to `FileScanner.scanPaths`. @internal */
export interface Target {
  readonly path: string;
  readonly rawPath?: Buffer;
}

// One path of scanPaths: a directory is walked like a nested root (never through a link),
// anything else is one entry, stat'ed (without following) by the workers like any other.
export async function* targetItems(target: Target, options: WalkOptions): AsyncGenerator<WalkItem> {
  let stats;
  try {
    stats = await lstat(target.rawPath ?? target.path);
  } catch (error) {
    yield {
      type: 'skip',
      path: target.path,
      ...(target.rawPath ? { rawPath: target.rawPath } : {}),
      reason: skipReasonOf(error),
      detail: errnoDetail(error),
      error: asError(error),
    };
    return;
  }
  const relativePath = basename(target.path);
  if (stats.isDirectory()) {
    yield* walkNested({ path: target.path, ...(target.rawPath ? { rawPath: target.rawPath } : {}), relativePath, rootDev: stats.dev }, options);
    return;
  }
  yield { type: 'entry', entry: { path: target.path, ...(target.rawPath ? { rawPath: target.rawPath } : {}), relativePath, kind: 'unknown', rootDev: stats.dev } };
}
