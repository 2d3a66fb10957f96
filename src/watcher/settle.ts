import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';

/** @internal */
export interface SettleOptions {
  /** How long size and mtime must stay the same before a file counts as written (ms). */
  readonly settleMs: number;
  /** A file still changing after this long is released anyway (a log that never stops growing). */
  readonly maxWaitMs: number;
  readonly clock: () => number;
  /** One-shot timer (the component's, so `stop()` clears it); returns a cancel function. */
  readonly setTimer: (callback: () => void, ms: number) => () => void;
  /** A file that settled, with the `lstat` that showed it stable. */
  readonly onStable: (path: string, stats: Stats) => void;
  /** The path is gone (or unreadable: `error` says which). */
  readonly onGone: (path: string, error: NodeJS.ErrnoException) => void;
}

interface Pending {
  /** size:mtime:ino last seen. */
  shape: string;
  readonly since: number;
  due: number;
}

const shapeOf = (st: Stats): string => `${st.ino}:${st.size}:${st.mtimeMs}`;

/**
 * Holds files until they stop changing, so a file is scanned once it is written, not
 * half-way (a 50 MB upload would otherwise be scanned a hundred times). A file is stable
 * when its size and mtime did not change for `settleMs`: when the first look already shows
 * an mtime older than that, it is released at once, otherwise it is looked at again
 * `settleMs` later. Anything but a regular file (symlink, FIFO) has nothing to settle.
 *
 * One timer for all files: `settleMs` is the same for every file, so the order in which
 * files become due is the order in which they were (re)inserted into the map.
 *
 * @internal
 */
export class SettleTracker {
  readonly #options: SettleOptions;
  readonly #pending = new Map<string, Pending>();
  /** Paths being looked at right now (an lstat in flight). */
  readonly #checking = new Set<string>();
  #cancelTimer: (() => void) | undefined;
  #timerDue = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(options: SettleOptions) {
    this.#options = options;
  }

  /** Files waiting to settle (or being looked at). */
  get size(): number {
    return this.#pending.size + this.#checking.size;
  }

  /** Whether `path` is waiting. */
  has(path: string): boolean {
    return this.#pending.has(path) || this.#checking.has(path);
  }

  /** Something happened to `path`: watch it until it is stable. `stats` saves an lstat when the caller has one. */
  observe(path: string, stats?: Stats): void {
    if (this.#closed || this.has(path)) return; // the next look compares anyway
    if (stats) {
      this.#first(path, stats);
      return;
    }
    this.#checking.add(path);
    lstat(path).then(
      (st) => {
        this.#checking.delete(path);
        if (!this.#closed) this.#first(path, st);
      },
      (error: NodeJS.ErrnoException) => {
        this.#checking.delete(path);
        if (!this.#closed) this.#options.onGone(path, error);
      },
    );
  }

  /** Stops waiting for `path` (it was deleted). */
  cancel(path: string): void {
    this.#pending.delete(path);
  }

  /** Drops everything; later lookups finish silently. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
    this.#cancelTimer?.();
  }

  #first(path: string, st: Stats): void {
    const now = this.#options.clock();
    if (!st.isFile() || now - st.mtimeMs >= this.#options.settleMs) {
      this.#options.onStable(path, st);
      return;
    }
    this.#pending.set(path, { shape: shapeOf(st), since: now, due: now + this.#options.settleMs });
    this.#arm();
  }

  #arm(): void {
    const first = this.#pending.values().next();
    if (first.done) return;
    const due = first.value.due;
    if (due >= this.#timerDue) return;
    this.#cancelTimer?.();
    this.#timerDue = due;
    this.#cancelTimer = this.#options.setTimer(
      () => {
        this.#timerDue = Number.POSITIVE_INFINITY;
        this.#cancelTimer = undefined;
        this.#tick();
      },
      Math.max(0, due - this.#options.clock()),
    );
  }

  #tick(): void {
    const now = this.#options.clock();
    const due: [string, Pending][] = [];
    for (const entry of this.#pending) {
      if (entry[1].due > now) break;
      due.push(entry);
    }
    for (const [path, pending] of due) {
      this.#pending.delete(path);
      this.#checking.add(path);
      lstat(path).then(
        (st) => {
          this.#checking.delete(path);
          if (this.#closed) return;
          const later = this.#options.clock();
          if (st.isFile() && shapeOf(st) !== pending.shape && later - pending.since < this.#options.maxWaitMs) {
            // Still being written: look again later (re-inserted last, so the map stays in due order).
            this.#pending.set(path, { shape: shapeOf(st), since: pending.since, due: later + this.#options.settleMs });
            this.#arm();
            return;
          }
          this.#options.onStable(path, st);
        },
        (error: NodeJS.ErrnoException) => {
          this.#checking.delete(path);
          if (!this.#closed) this.#options.onGone(path, error);
        },
      );
    }
    this.#arm();
  }
}
