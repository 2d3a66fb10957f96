import { Worker } from 'node:worker_threads';
import type { ContentPattern, HashAlgorithm } from './types.js';

/** One full read of a file: what to compute, through an already verified descriptor. @internal */
export interface ContentJob {
  readonly fd: number;
  readonly head: number;
  readonly hashes: readonly HashAlgorithm[];
  /** Indices into the pool's pattern table. */
  readonly patterns: readonly number[];
  /** Stop reading past this many bytes (the file grew while being read). */
  readonly maxBytes: number;
}

/** What a full read produced. @internal */
export interface ContentResult {
  readonly head: Uint8Array;
  readonly hashes: Partial<Record<HashAlgorithm, string>>;
  /** [pattern index, byte offset of the first occurrence]. */
  readonly matches: readonly (readonly [number, number])[];
  readonly bytesRead: number;
  /** True when the file was longer than `maxBytes` (it grew while being read). */
  readonly truncated: boolean;
}

interface WireError {
  readonly message: string;
  readonly code?: string;
  readonly syscall?: string;
}

type Reply = { id: number; result: ContentResult } | { id: number; error: WireError };

// The worker is plain JavaScript evaluated from a string: a worker file would need a
// loader under tsx and a path under dist, and this one needs nothing but node:fs and
// node:crypto. Reads are synchronous on purpose: the worker has nothing else to do, and
// each worker is its own thread, so N workers hash N files at once on N cores.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const chunkSize = workerData.chunkSize;
const overlap = workerData.regexOverlap;
const compile = (p) =>
  p.regex ? { regex: new RegExp(p.regex.source, p.regex.flags.replace(/[gy]/g, '')) } : { bytes: Buffer.from(p.bytes) };
const patterns = workerData.patterns.map(compile);
const buffer = Buffer.allocUnsafe(chunkSize);
parentPort.on('message', (job) => {
  if (job.type === 'pattern') {
    patterns[job.index] = compile(job.spec);
    return;
  }
  try {
    const hashers = job.hashes.map((name) => [name, createHash(name)]);
    let remaining = job.patterns.slice();
    const matches = [];
    let keep = 0;
    for (const i of remaining) keep = Math.max(keep, patterns[i].regex ? overlap : patterns[i].bytes.length - 1);
    let tail = Buffer.alloc(0);
    let head = Buffer.alloc(0);
    let pos = 0;
    let truncated = false;
    for (;;) {
      const n = readSync(job.fd, buffer, 0, chunkSize, pos);
      if (n === 0) break;
      let chunk = buffer.subarray(0, n);
      if (pos + n > job.maxBytes) {
        truncated = true;
        chunk = chunk.subarray(0, Math.max(0, job.maxBytes - pos));
      }
      if (pos === 0) head = Buffer.from(chunk.subarray(0, job.head));
      for (const [, hasher] of hashers) hasher.update(chunk);
      if (remaining.length > 0) {
        const window = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
        const base = pos - tail.length;
        let text;
        remaining = remaining.filter((i) => {
          const p = patterns[i];
          let at = -1;
          if (p.bytes) at = window.indexOf(p.bytes);
          else {
            if (text === undefined) text = window.latin1Slice(0, window.length);
            const m = p.regex.exec(text);
            if (m) at = m.index;
          }
          if (at < 0) return true;
          matches.push([i, base + at]);
          return false;
        });
        const from = Math.max(0, window.length - keep);
        tail = Buffer.from(window.subarray(from));
      }
      pos += chunk.length;
      if (truncated) break;
    }
    const hashes = {};
    for (const [name, hasher] of hashers) hashes[name] = hasher.digest('hex');
    parentPort.postMessage({ id: job.id, result: { head, hashes, matches, bytesRead: pos, truncated } });
  } catch (error) {
    parentPort.postMessage({ id: job.id, error: { message: String(error && error.message), code: error && error.code, syscall: error && error.syscall } });
  }
});
`;

interface PatternSpec {
  readonly regex?: { readonly source: string; readonly flags: string };
  readonly bytes?: Uint8Array;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Task {
  readonly id: number;
  readonly job: ContentJob;
  readonly resolve: (result: ContentResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A pool of worker threads that read, hash and search files in parallel. One pool
 * lives for one scan; its pattern table is fixed when it starts.
 *
 * @internal
 */
export class ContentPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #running = new Map<Worker, Task>();
  readonly #data: { chunkSize: number; regexOverlap: number; patterns: PatternSpec[] };
  // Patterns are registered as detectors first ask for them, keyed by content (not object
  // identity), so a detector that builds its needs afresh per file cannot grow the table.
  readonly #patternIndex = new Map<string, number>();
  readonly #byObject = new WeakMap<ContentPattern, number>();
  #nextId = 0;
  #closed = false;

  constructor(threads: number, chunkSize: number, regexOverlap: number) {
    this.#data = { chunkSize, regexOverlap, patterns: [] };
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

  /** Reads the file behind `job.fd` in a worker. */
  read(job: ContentJob): Promise<ContentResult> {
    if (this.#closed) return Promise.reject(new Error('content pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates the workers; pending reads reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#queue.splice(0)) task.reject(new Error('content pool is closed'));
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#data });
    const slot: Slot = { worker, busy: false };
    worker.on('message', (reply: Reply) => {
      const task = this.#running.get(worker);
      this.#running.delete(worker);
      slot.busy = false;
      if (task && task.id === reply.id) {
        if ('result' in reply) task.resolve(reply.result);
        else task.reject(Object.assign(new Error(reply.error.message), reply.error));
      }
      this.#dispatch();
    });
    // A worker that dies (out of memory, a bug) fails its task, and a fresh one takes its place.
    const onDeath = (error: Error): void => {
      const task = this.#running.get(worker);
      this.#running.delete(worker);
      task?.reject(error);
      if (this.#closed) return;
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots[index] = this.#spawn();
      this.#dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', (code) => {
      if (!this.#closed && this.#running.has(worker)) onDeath(new Error(`content worker exited with code ${code}`));
    });
    return slot;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.busy) continue;
      const task = this.#queue.shift() as Task;
      slot.busy = true;
      this.#running.set(slot.worker, task);
      slot.worker.postMessage({ type: 'job', id: task.id, ...task.job });
    }
  }
}
