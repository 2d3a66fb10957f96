import { Worker } from 'node:worker_threads';
import { workerEntry, type WorkerEntry } from '../core/worker-entry.js';
import { OPEN_NOFOLLOW_READ } from '../quarantine/safe-fs.js';
import {
  packBatch,
  unpack,
  type ContentJob,
  type ContentOutcome,
  type PackedReply,
  type PatternSpec,
  type StatJob,
  type StatOutcome,
  type WireJob,
  type WorkerData,
} from './content-protocol.js';
import type { ContentPattern } from './types.js';

export type { WorkerEntry } from '../core/worker-entry.js';
export type { ContentFailure, ContentJob, ContentOutcome, ContentResult, StatJob, StatOutcome } from './content-protocol.js';

/**
 * Why the pool could not do a job: `fatal` when no worker can run at all (they could not
 * start, or kept dying), so the scan must fail; otherwise only the jobs of one worker that
 * died were lost, and their files are reported as not scanned. @internal
 */
export class ContentWorkerError extends Error {
  /** Whether the whole pool is unusable. */
  readonly fatal: boolean;

  constructor(message: string, fatal: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ContentWorkerError';
    this.fatal = fatal;
  }
}

/** Test seam: a FileScanner option under this symbol replaces the worker entry. @internal */
export const CONTENT_WORKER_ENTRY: unique symbol = Symbol('hostwarden.contentWorkerEntry');

/** Where the content worker is and how to start it (core `workerEntry`). @internal */
export function contentWorkerEntry(): WorkerEntry {
  return workerEntry(import.meta.url, 'content-worker');
}

interface Task {
  readonly job: WireJob;
  readonly resolve: (outcome: never) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Whether the worker's module loaded and said so (a death before that is a start failure). */
  online: boolean;
  /** Batches sent and not yet answered, oldest first (a worker answers in order). */
  readonly outstanding: Task[][];
}

// Up to two batches per worker keep it busy while the main thread handles the last reply.
const MAX_OUTSTANDING = 2;
const MAX_BATCH = 64;
const MIN_PIPELINED_BATCH = 16;

/**
 * A pool of worker threads that open, read, hash and search files in parallel. One pool
 * lives for one scan. Jobs issued in the same turn of the event loop are sent in batches.
 *
 * @internal
 */
export class ContentPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #data: WorkerData & { patterns: PatternSpec[] };
  readonly #entry: WorkerEntry;
  #failure: ContentWorkerError | undefined;
  #deaths = 0;
  // Patterns are registered as detectors first ask for them, keyed by content (not object
  // identity), so a detector that builds its needs afresh per file cannot grow the table.
  readonly #patternIndex = new Map<string, number>();
  readonly #byObject = new WeakMap<ContentPattern, number>();
  #flushScheduled = false;
  #turn = 0;
  #closed = false;

  #unref = false;

  constructor(threads: number, chunkSize: number, regexOverlap: number, entry: WorkerEntry = contentWorkerEntry()) {
    this.#entry = entry;
    this.#data = { chunkSize, regexOverlap, openFlags: OPEN_NOFOLLOW_READ, patterns: [] };
    for (let i = 0; i < threads; i++) this.#slots.push(this.#spawn());
  }

  /** The pool's index for a pattern, registering it with every worker the first time. */
  indexOf(contentPattern: ContentPattern): number {
    const known = this.#byObject.get(contentPattern);
    if (known !== undefined) return known;
    const pattern = contentPattern.pattern;
    const spec: PatternSpec =
      pattern instanceof RegExp
        ? { regex: { source: pattern.source, flags: pattern.flags } }
        : { bytes: typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : Uint8Array.from(pattern) };
    const key = spec.regex ? `r/${spec.regex.flags}/${spec.regex.source}` : `b/${Buffer.from(spec.bytes ?? []).toString('hex')}`;
    let index = this.#patternIndex.get(key);
    if (index === undefined) {
      index = this.#data.patterns.length;
      this.#data.patterns.push(spec);
      this.#patternIndex.set(key, index);
      for (const slot of this.#slots) slot.worker.postMessage({ type: 'pattern', index, spec });
    }
    this.#byObject.set(contentPattern, index);
    return index;
  }

  /** Opens, checks and reads one file in a worker. */
  read(job: ContentJob): Promise<ContentOutcome> {
    return this.#submit({ op: 'read', ...job });
  }

  /** `lstat`s an entry in a worker, and for a regular file reads up to `head` bytes through a checked descriptor. */
  stat(job: StatJob): Promise<StatOutcome> {
    return this.#submit({ op: 'stat', ...job });
  }

  /** Why the pool cannot work any more, if it cannot. */
  get failure(): ContentWorkerError | undefined {
    return this.#failure;
  }

  #submit<T>(job: WireJob): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ContentWorkerError('content pool is closed', true));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve: resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#dispatch();
        });
      }
    });
  }

  /**
   * Lets the process exit while the workers idle (a session of a component that is not
   * `persistent`): they, and any started later to replace one, no longer hold it open.
   */
  unref(): void {
    this.#unref = true;
    for (const slot of this.#slots) slot.worker.unref();
  }

  /** Terminates the workers; pending reads reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rejectAll(new ContentWorkerError('content pool is closed', true));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #rejectAll(error: Error): void {
    for (const task of this.#queue.splice(0)) task.reject(error);
    for (const slot of this.#slots) for (const batch of slot.outstanding.splice(0)) for (const task of batch) task.reject(error);
  }

  // The whole pool is unusable: every job now and later fails with this, so the scan fails.
  #fail(error: ContentWorkerError): void {
    this.#failure ??= error;
    this.#rejectAll(this.#failure);
  }

  #spawn(): Slot {
    // Small heaps: a worker holds one chunk buffer and a few digests; the default young
    // generation alone would add tens of MB of RSS per thread.
    const worker = new Worker(this.#entry.url, {
      execArgv: this.#entry.execArgv,
      workerData: this.#data,
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 },
    });
    const slot: Slot = { worker, outstanding: [], online: false };
    worker.on('message', (reply: PackedReply | { readonly type: 'ready' }) => {
      if ('type' in reply) {
        // The module loaded and listens: from now on a death is a crash, not a failed start.
        slot.online = true;
        return;
      }
      const batch = slot.outstanding.shift() ?? [];
      batch.forEach((task, i) => task.resolve(unpack(reply, i, task.job.op) as never));
      this.#dispatch();
    });
    let dead = false;
    const onDeath = (error: Error): void => {
      if (dead || this.#closed) return;
      dead = true;
      if (!slot.online) {
        // It never ran: the others will not either (a missing module, bad flags). Fail, do not respawn forever.
        this.#fail(new ContentWorkerError(`content workers could not start: ${error.message}`, true, { cause: error }));
        return;
      }
      // A worker that dies (out of memory, a crash) loses its batches: those files are not scanned.
      const lost = new ContentWorkerError(`the content worker holding this file died: ${error.message}`, false, { cause: error });
      for (const batch of slot.outstanding.splice(0)) for (const task of batch) task.reject(lost);
      if (++this.#deaths > 2 * this.#slots.length + 2) {
        this.#fail(new ContentWorkerError(`content workers keep dying (${this.#deaths} deaths, last: ${error.message})`, true, { cause: error }));
        return;
      }
      const index = this.#slots.indexOf(slot);
      if (index >= 0 && !this.#failure) this.#slots[index] = this.#spawn();
      this.#dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', (code) => onDeath(new Error(`content worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    if (this.#unref) worker.unref();
    return slot;
  }

  #dispatch(): void {
    if (this.#failure) return;
    while (this.#queue.length > 0) {
      // The least busy worker, taking turns on ties so every worker gets a share.
      let best: Slot | undefined;
      let idle = 0;
      for (let i = 0; i < this.#slots.length; i++) {
        const slot = this.#slots[(this.#turn + i) % this.#slots.length] as Slot;
        if (slot.outstanding.length === 0) idle++;
        if (!best || slot.outstanding.length < best.outstanding.length) best = slot;
      }
      if (!best || best.outstanding.length >= MAX_OUTSTANDING) return;
      // An idle worker takes its share of what is queued; a busy one only a batch worth a message.
      if (best.outstanding.length > 0 && this.#queue.length < MIN_PIPELINED_BATCH) return;
      const share = idle > 1 ? Math.ceil(this.#queue.length / idle) : this.#queue.length;
      const batch = this.#queue.splice(0, Math.min(MAX_BATCH, share));
      this.#turn = (this.#slots.indexOf(best) + 1) % this.#slots.length;
      best.outstanding.push(batch);
      const message = packBatch(batch.map((t) => t.job));
      best.worker.postMessage(message, [message.nums.buffer]);
    }
  }
}
