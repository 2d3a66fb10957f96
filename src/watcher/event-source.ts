import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crawl, VisitedDirectories, type CrawlOptions } from './crawl.js';
import { ParcelHost, type HostedSubscription } from './parcel-host.js';

/** What the event source reports to the watcher. @internal */
export interface EventSourceHandlers {
  /** Something happened at `path` (`stats` when the source already looked). */
  changed(path: string, stats?: Stats): void;
  /** `path` was deleted or moved away. */
  deleted(path: string): void;
  /** A name that is not valid UTF-8 turned up (events name it with U+FFFD; a listing finds its bytes). */
  undecodable(rawPath: Buffer, stats: Stats | undefined): void;
  /** How many raw events one batch held (for burst detection). */
  batch(count: number): void;
  /** The kernel watcher failed: events may be lost from now on. */
  failed(error: Error): void;
  /** Every event handed over has been looked at (and new directories listed). */
  quiet(): void;
}

/** @internal */
export interface EventSourceOptions {
  /** Real paths of the directories to watch. */
  readonly roots: readonly string[];
  /** Absolute paths parcel must not watch (other file systems, the quarantine). */
  readonly ignorePaths: readonly string[];
  /** How new directories are listed (the same exclusions as the crawl). */
  readonly crawl: Pick<CrawlOptions, 'isExcluded' | 'oneFileSystem'>;
  /** Extra subscriptions for subtrees parcel may have missed before a full restart is cheaper. */
  readonly maxAuxiliary: number;
  /** Whether parcel's worker thread keeps the process alive. */
  readonly persistent: boolean;
  readonly handlers: EventSourceHandlers;
}

/** A watch limit or descriptor limit stopped the subscription. @internal */
export class WatchLimitError extends Error {
  override readonly name = 'WatchLimitError';
}

/**
 * Kernel events through `@parcel/watcher` (inotify, read on parcel's own thread, so a busy
 * JavaScript thread does not lose them), with the gap parcel leaves closed: parcel adds a
 * watch for a new directory but does not list it, so whatever was created in it before the
 * watch — the file of `mkdir -p a/b && echo x > a/b/f`, the subdirectories of a tree moved
 * in — is never reported, and those subdirectories are never watched. Here every new
 * directory is listed at once (each entry becomes a hint), and when it already holds
 * subdirectories it gets its own recursive subscription, so they are watched from then on.
 *
 * Events are hints, not truth: parcel drops inotify's queue overflow silently. The
 * reconciler's crawls give correctness; this gives speed.
 *
 * @internal
 */
export class EventSource {
  readonly #options: EventSourceOptions;
  readonly #subscriptions = new Map<string, HostedSubscription>();
  readonly #auxiliary = new Map<string, HostedSubscription>();
  #host: ParcelHost | undefined;
  /** New directories whose subscription is being made. */
  readonly #subscribing = new Set<string>();
  #stopped = false;
  #looking = 0;
  readonly #lookingAt = new Set<string>();

  constructor(options: EventSourceOptions) {
    this.#options = options;
  }

  /** Events still being looked at (an lstat, a new directory's listing). */
  get busy(): number {
    return this.#looking;
  }

  /** Whether an event about `path` is being looked at. */
  isLooking(path: string): boolean {
    return this.#lookingAt.has(path);
  }

  /** Extra subscriptions for subtrees created after start. */
  get auxiliary(): number {
    return this.#auxiliary.size;
  }

  /**
   * Subscribes every root. On failure nothing stays subscribed (so a watch limit hit
   * half-way does not hold the user's watches) and the error says why.
   *
   * @throws {@link WatchLimitError} when `max_user_watches` or the descriptor limit ran out.
   */
  async start(): Promise<void> {
    // parcel runs in a worker thread (parcel-host.ts), started on first use, not at
    // import, so a program that never watches pays nothing for it.
    this.#host = ParcelHost.shared();
    try {
      for (const root of this.#options.roots) {
        const subscription = await this.#host.subscribe(root, this.#options.ignorePaths, this.#options.persistent, this.#callback);
        // Stopped meanwhile: stop() could not see this one, and a persistent one would hold the process.
        if (this.#stopped) {
          await subscription.unsubscribe();
          return;
        }
        this.#subscriptions.set(root, subscription);
      }
    } catch (error) {
      await this.stop();
      this.#stopped = false;
      const message = error instanceof Error ? error.message : String(error);
      if (/No space left on device|Too many open files|ENOSPC|EMFILE/.test(message)) throw new WatchLimitError(message, { cause: error });
      throw error;
    }
  }

  /** Unsubscribes everything. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#subscriptions.values(), ...this.#auxiliary.values()];
    this.#subscriptions.clear();
    this.#auxiliary.clear();
    await Promise.all(all.map((s) => s.unsubscribe().catch(() => {})));
    this.#host = undefined;
  }

  // Called with each batch that parcel's worker forwards. It must never throw: the throw
  // would escape the host's message listener.
  readonly #callback = (error: Error | null, paths: readonly string[], types: string): void => {
    if (this.#stopped) return;
    try {
      if (error) {
        this.#options.handlers.failed(error);
        return;
      }
      this.#options.handlers.batch(paths.length);
      for (let i = 0; i < paths.length; i++) {
        const path = paths[i] as string;
        const type = types[i];
        if (type === 'd') {
          this.#options.handlers.deleted(path);
          const aux = this.#auxiliary.get(path);
          if (aux) {
            this.#auxiliary.delete(path);
            void aux.unsubscribe().catch(() => {});
          }
        } else {
          this.#looking++;
          this.#lookingAt.add(path);
          void this.#look(path, type === 'c').finally(() => {
            this.#lookingAt.delete(path);
            if (--this.#looking === 0) this.#options.handlers.quiet();
          });
        }
      }
    } catch (thrown) {
      this.#options.handlers.failed(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  };

  async #look(path: string, created: boolean): Promise<void> {
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#options.handlers.changed(path);
      } else if (path.includes('\uFFFD')) {
        // parcel decodes names as UTF-8: a name that is not cannot be opened by this path.
        await this.#listUndecodable(dirname(path));
      } else {
        this.#options.handlers.deleted(path);
      }
      return;
    }
    if (this.#stopped) return;
    if (!st.isDirectory()) {
      this.#options.handlers.changed(path, st);
      return;
    }
    // Renamed in, or new: whatever it holds arrived without events.
    if (created) await this.#listNew(path);
  }

  async #listNew(dir: string): Promise<void> {
    const subdirectories = await this.#list(dir);
    // Two events for one new directory must not make two subscriptions: the second would
    // replace the first in the map, and the first, never unsubscribed, would hold the process.
    if (subdirectories === 0 || this.#auxiliary.has(dir) || this.#subscribing.has(dir) || this.#stopped) return;
    if (this.#auxiliary.size >= this.#options.maxAuxiliary) {
      this.#options.handlers.failed(new Error(`more than ${this.#options.maxAuxiliary} new directory trees to watch separately; resubscribing`));
      return;
    }
    this.#subscribing.add(dir);
    try {
      if (this.#host === undefined) return;
      const subscription = await this.#host.subscribe(dir, this.#options.ignorePaths, this.#options.persistent, this.#callback);
      if (this.#stopped) {
        await subscription.unsubscribe();
        return;
      }
      this.#auxiliary.set(dir, subscription);
    } catch (error) {
      // Gone again already, or no watches left: the reconciler will see to it.
      if ((error as Error).message.includes('No space left')) this.#options.handlers.failed(error as Error);
      return;
    } finally {
      this.#subscribing.delete(dir);
    }
    // Files written into the subdirectories between the first listing and their watches
    // were reported by neither: list once more, now that every later change has an event.
    await this.#list(dir);
  }

  // Hands every entry under `dir` on as a hint; returns how many subdirectories it has.
  async #list(dir: string): Promise<number> {
    let subdirectories = 0;
    for await (const item of crawl(dir, { ...this.#options.crawl, visited: new VisitedDirectories() })) {
      if (this.#stopped) break;
      if (item.type === 'entry') this.#options.handlers.changed(item.path, item.stats);
      else if (item.type === 'directory' && item.path !== dir) subdirectories++;
      else if (item.type === 'non-utf8') this.#options.handlers.undecodable(item.rawPath, item.stats);
    }
    return subdirectories;
  }

  async #listUndecodable(dir: string): Promise<void> {
    for await (const item of crawl(dir, { ...this.#options.crawl, visited: new VisitedDirectories() })) {
      if (item.type === 'non-utf8') this.#options.handlers.undecodable(item.rawPath, item.stats);
      if (item.type === 'directory' && item.path !== dir) break;
    }
  }
}
