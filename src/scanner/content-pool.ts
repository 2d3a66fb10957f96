import { Worker } from 'node:worker_threads';
import { OPEN_NOFOLLOW_READ } from '../quarantine/safe-fs.js';
import type { ContentPattern, EntryKind, HashAlgorithm, ScannedFile } from './types.js';

/** One file to read in a worker: opened there by path, checked against the walk's (dev, inode). @internal */
export interface ContentJob {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  /** Bytes of head wanted. */
  readonly head: number;
  /** Whether to read the whole file (hashes or patterns wanted), not just the head. */
  readonly full: boolean;
  readonly hashes: readonly HashAlgorithm[];
  /** Indices into the pool's pattern table. */
  readonly patterns: readonly number[];
  /** Stop reading past this many bytes (the file grew while being read). */
  readonly maxBytes: number;
}

/** What a read produced. @internal */
export interface ContentResult {
  readonly ok: true;
  readonly head: Uint8Array;
  readonly hashes: Partial<Record<HashAlgorithm, string>>;
  /** [pattern index, byte offset of the first occurrence]. */
  readonly matches: readonly (readonly [number, number])[];
  readonly bytesRead: number;
  /** True when the file was longer than `maxBytes` (it grew while being read). */
  readonly truncated: boolean;
}

/** Why a read did not happen: a system error, or the path no longer names the listed file. @internal */
export interface ContentFailure {
  readonly ok: false;
  /** The path names another inode now, or a symlink (ELOOP under O_NOFOLLOW). */
  readonly changed: boolean;
  readonly code: string | undefined;
  readonly syscall: string | undefined;
  readonly message: string;
}

/** @internal */
export type ContentOutcome = ContentResult | ContentFailure;

/** An entry's `lstat`, as the worker saw it: the {@link ScannedFile} stat fields. @internal */
export type WireStats = Pick<ScannedFile, 'size' | 'dev' | 'ino' | 'mode' | 'uid' | 'gid' | 'mtimeMs' | 'ctimeMs'> & {
  readonly kind: EntryKind | 'directory';
};

/**
 * An `lstat`, plus (for a regular file, when asked) its first bytes read through a
 * descriptor checked against that `lstat`, saving a second round trip for the common
 * case of detectors that only look at magic numbers. @internal
 */
export type StatOutcome =
  | {
      readonly ok: true;
      readonly stats: WireStats;
      readonly head?: Uint8Array;
      /** A speculative full read, when one was asked for and the file is regular and small enough. */
      readonly content?: ContentResult;
      readonly openError?: ContentFailure;
    }
  | ContentFailure;

/** Numbers per job in a batch message (see the worker's `decodeBatch`). */
const JOB_WIDTH = 7;

// The worker is plain JavaScript evaluated from a string: a worker file would need a
// loader under tsx and a path under dist, and this one needs nothing but node:fs and
// node:crypto. It opens, checks, reads and closes each file itself with synchronous calls:
// the worker has nothing else to do, each worker is its own thread (N workers read and
// hash N files at once on N cores), and the main thread pays one message per batch of
// files instead of four thread-pool round trips per file.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, fstatSync, lstatSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const chunkSize = workerData.chunkSize;
const overlap = workerData.regexOverlap;
const flags = workerData.openFlags;
const compile = (p) =>
  p.regex ? { regex: new RegExp(p.regex.source, p.regex.flags.replace(/[gy]/g, '')) } : { bytes: Buffer.from(p.bytes) };
const patterns = workerData.patterns.map(compile);
const buffer = Buffer.allocUnsafe(chunkSize);
const failure = (error, changed) => ({
  ok: false,
  changed: changed || (error && error.code === 'ELOOP'),
  code: error && error.code,
  syscall: error && error.syscall,
  message: String(error && error.message),
});
function readAll(fd, job) {
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
    const n = readSync(fd, buffer, 0, chunkSize, pos);
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
      tail = Buffer.from(window.subarray(Math.max(0, window.length - keep)));
    }
    pos += chunk.length;
    if (truncated) break;
  }
  const hashes = {};
  for (const [name, hasher] of hashers) hashes[name] = hasher.digest('hex');
  return { ok: true, head, hashes, matches, bytesRead: pos, truncated };
}
function run(job) {
  let fd;
  try {
    fd = openSync(job.path, flags);
  } catch (error) {
    return failure(error, false);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== job.dev || st.ino !== job.ino) {
      return { ok: false, changed: true, code: undefined, syscall: 'fstat', message: 'replaced by another file after it was listed' };
    }
    if (job.full) return readAll(fd, job);
    const n = readSync(fd, buffer, 0, Math.min(job.head, chunkSize), 0);
    return { ok: true, head: Buffer.from(buffer.subarray(0, n)), hashes: {}, matches: [], bytesRead: 0, truncated: false };
  } catch (error) {
    return failure(error, false);
  } finally {
    try { closeSync(fd); } catch {}
  }
}
const kindOf = (st) =>
  st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' :
  st.isSocket() ? 'socket' : st.isBlockDevice() ? 'block-device' : st.isCharacterDevice() ? 'character-device' : 'unknown';
function stat(job) {
  let st;
  try {
    st = lstatSync(job.path);
  } catch (error) {
    return failure(error, false);
  }
  const stats = {
    kind: kindOf(st), size: st.size, dev: st.dev, ino: st.ino, mode: st.mode,
    uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs,
  };
  // Never opened: anything but a regular file (a FIFO would block, a device has side effects).
  if (!st.isFile()) return { ok: true, stats };
  if (job.full && st.size <= job.maxBytes) {
    // Speculative full read: the last files all needed exactly this, so this one likely does too.
    const read = run({ path: job.path, dev: st.dev, ino: st.ino, head: job.head, full: true, hashes: job.hashes, patterns: job.patterns, maxBytes: job.maxBytes });
    return read.ok ? { ok: true, stats, content: read } : { ok: true, stats, openError: read };
  }
  if (job.head === 0 || st.size === 0) return { ok: true, stats };
  const read = run({ path: job.path, dev: st.dev, ino: st.ino, head: job.head, full: false });
  return read.ok ? { ok: true, stats, head: read.head } : { ok: true, stats, openError: read };
}
const KINDS = ['file', 'directory', 'symlink', 'fifo', 'socket', 'block-device', 'character-device', 'unknown'];
const W = 12;
// A batch arrives as one string of NUL-separated paths (no path holds a NUL), a
// Float64Array of JOB_WIDTH numbers per job and a table of the distinct "hashes|patterns"
// needs: cloning one array per job cost more than the syscalls of the job.
const JOB_WIDTH = ${JOB_WIDTH};
function decodeBatch(message) {
  const paths = message.paths.split('\0');
  const nums = message.nums;
  const needs = message.needs.map((text) => {
    const [hashes, patterns] = text.split('|');
    return { hashes: hashes ? hashes.split(',') : [], patterns: patterns ? patterns.split(',').map(Number) : [] };
  });
  return paths.map((path, i) => {
    const b = i * JOB_WIDTH;
    const need = needs[nums[b + 5]];
    return {
      op: nums[b] === 0 ? 'stat' : 'read', path, head: nums[b + 1], full: nums[b + 2] === 1,
      hashes: need.hashes, patterns: need.patterns, dev: nums[b + 3], ino: nums[b + 4], maxBytes: nums[b + 6],
    };
  });
}
// Replies are packed: numbers in one Float64Array, heads in one byte arena (both
// transferred, not copied), and an object only where there is more to say (errors,
// digests, matches). Serializing an object per file cost more than the syscalls.
parentPort.on('message', (message) => {
  if (message.type === 'pattern') {
    patterns[message.index] = compile(message.spec);
    return;
  }
  const results = decodeBatch(message).map((job) => (job.op === 'stat' ? stat(job) : run(job)));
  let total = 0;
  for (const r of results) {
    const head = r.content ? r.content.head : r.head;
    if (head) total += head.length;
  }
  const nums = new Float64Array(results.length * W);
  const arena = new Uint8Array(total);
  const extra = new Array(results.length).fill(null);
  let at = 0;
  results.forEach((r, i) => {
    const b = i * W;
    nums[b + 10] = -1;
    if (!r.ok) {
      nums[b] = 1;
      extra[i] = r;
      return;
    }
    const head = r.content ? r.content.head : r.head;
    if (head) {
      arena.set(head, at);
      nums[b + 10] = at;
      nums[b + 11] = head.length;
      at += head.length;
    }
    const c = r.stats ? r.content : r;
    if (c && (c.bytesRead > 0 || c.truncated || c.matches.length > 0 || Object.keys(c.hashes).length > 0)) {
      extra[i] = { hashes: c.hashes, matches: c.matches, bytesRead: c.bytesRead, truncated: c.truncated };
    }
    if (!r.stats) {
      nums[b] = 2;
      return;
    }
    const st = r.stats;
    nums[b + 1] = KINDS.indexOf(st.kind);
    nums[b + 2] = st.size; nums[b + 3] = st.dev; nums[b + 4] = st.ino; nums[b + 5] = st.mode;
    nums[b + 6] = st.uid; nums[b + 7] = st.gid; nums[b + 8] = st.mtimeMs; nums[b + 9] = st.ctimeMs;
    if (r.openError) {
      extra[i] = { openError: r.openError };
    } else if (r.content) {
      extra[i] = extra[i] || { hashes: {}, matches: [], bytesRead: 0, truncated: false };
      extra[i].speculative = true;
    }
  });
  parentPort.postMessage({ nums, arena, extra }, [nums.buffer, arena.buffer]);
});
`;

// The worker protocol, packed (see the worker source): one array per job, and per batch
// reply a Float64Array of WIRE_WIDTH numbers per result, a byte arena for heads, and extras.
const WIRE_WIDTH = 12;
const KINDS: readonly WireStats['kind'][] = ['file', 'directory', 'symlink', 'fifo', 'socket', 'block-device', 'character-device', 'unknown'];
const EMPTY = new Uint8Array(0);

interface PackedReply {
  readonly nums: Float64Array;
  readonly arena: Uint8Array;
  readonly extra: readonly (PackedExtra | ContentFailure | null)[];
}

interface PackedExtra {
  readonly hashes?: Partial<Record<HashAlgorithm, string>>;
  readonly matches?: readonly (readonly [number, number])[];
  readonly bytesRead?: number;
  readonly truncated?: boolean;
  readonly speculative?: boolean;
  readonly openError?: ContentFailure;
}

/** The batch message the worker's `decodeBatch` reads (see there). */
function packBatch(jobs: readonly WireJob[]): { type: 'batch'; paths: string; nums: Float64Array<ArrayBuffer>; needs: string[] } {
  const nums = new Float64Array(jobs.length * JOB_WIDTH);
  const needs: string[] = [];
  const needIndex = new Map<string, number>();
  const paths: string[] = [];
  jobs.forEach((job, i) => {
    const b = i * JOB_WIDTH;
    const need = `${job.hashes.join(',')}|${job.patterns.join(',')}`;
    let n = needIndex.get(need);
    if (n === undefined) {
      n = needs.push(need) - 1;
      needIndex.set(need, n);
    }
    paths.push(job.path);
    nums[b] = job.op === 'stat' ? 0 : 1;
    nums[b + 1] = job.head;
    nums[b + 2] = job.full ? 1 : 0;
    nums[b + 3] = job.op === 'read' ? job.dev : 0;
    nums[b + 4] = job.op === 'read' ? job.ino : 0;
    nums[b + 5] = n;
    nums[b + 6] = job.maxBytes;
  });
  return { type: 'batch', paths: paths.join('\0'), nums, needs };
}

function unpack(reply: PackedReply, i: number, op: WireJob['op']): ContentOutcome | StatOutcome {
  const { nums, arena } = reply;
  const b = i * WIRE_WIDTH;
  const extra = reply.extra[i] ?? null;
  if (nums[b] === 1) return extra as ContentFailure;
  const x = (extra ?? {}) as PackedExtra;
  const offset = nums[b + 10] as number;
  const head = offset >= 0 ? arena.subarray(offset, offset + (nums[b + 11] as number)) : undefined;
  const content = (): ContentResult => ({
    ok: true,
    head: head ?? EMPTY,
    hashes: x.hashes ?? {},
    matches: x.matches ?? [],
    bytesRead: x.bytesRead ?? 0,
    truncated: x.truncated ?? false,
  });
  if (op === 'read') return content();
  const stats: WireStats = {
    kind: KINDS[nums[b + 1] as number] ?? 'unknown',
    size: nums[b + 2] as number,
    dev: nums[b + 3] as number,
    ino: nums[b + 4] as number,
    mode: nums[b + 5] as number,
    uid: nums[b + 6] as number,
    gid: nums[b + 7] as number,
    mtimeMs: nums[b + 8] as number,
    ctimeMs: nums[b + 9] as number,
  };
  if (x.openError) return { ok: true, stats, openError: x.openError };
  if (x.speculative) return { ok: true, stats, content: content() };
  return head ? { ok: true, stats, head } : { ok: true, stats };
}

interface PatternSpec {
  readonly regex?: { readonly source: string; readonly flags: string };
  readonly bytes?: Uint8Array;
}

/** A stat job; with `full`, regular files are also read in full (hashes, patterns) in the same trip. @internal */
export interface StatJob {
  readonly path: string;
  readonly head: number;
  readonly full: boolean;
  readonly hashes: readonly HashAlgorithm[];
  readonly patterns: readonly number[];
  readonly maxBytes: number;
}

type WireJob = (ContentJob & { readonly op: 'read' }) | (StatJob & { readonly op: 'stat' });

interface Task {
  readonly job: WireJob;
  readonly resolve: (outcome: never) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
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
  readonly #data: { chunkSize: number; regexOverlap: number; openFlags: number; patterns: PatternSpec[] };
  // Patterns are registered as detectors first ask for them, keyed by content (not object
  // identity), so a detector that builds its needs afresh per file cannot grow the table.
  readonly #patternIndex = new Map<string, number>();
  readonly #byObject = new WeakMap<ContentPattern, number>();
  #flushScheduled = false;
  #turn = 0;
  #closed = false;

  constructor(threads: number, chunkSize: number, regexOverlap: number) {
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

  #submit<T>(job: WireJob): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('content pool is closed'));
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

  /** Terminates the workers; pending reads reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new Error('content pool is closed');
    for (const task of this.#queue.splice(0)) task.reject(error);
    for (const slot of this.#slots) for (const batch of slot.outstanding.splice(0)) for (const task of batch) task.reject(error);
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #spawn(): Slot {
    // Small heaps: a worker holds one chunk buffer and a few digests; the default young
    // generation alone would add tens of MB of RSS per thread.
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#data, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 } });
    const slot: Slot = { worker, outstanding: [] };
    worker.on('message', (reply: PackedReply) => {
      const batch = slot.outstanding.shift() ?? [];
      batch.forEach((task, i) => task.resolve(unpack(reply, i, task.job.op) as never));
      this.#dispatch();
    });
    // A worker that dies (out of memory, a bug) fails its batches, and a fresh one takes its place.
    let dead = false;
    const onDeath = (error: Error): void => {
      if (dead) return;
      dead = true;
      for (const batch of slot.outstanding.splice(0)) for (const task of batch) task.reject(error);
      if (this.#closed) return;
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots[index] = this.#spawn();
      this.#dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', (code) => {
      if (!this.#closed) onDeath(new Error(`content worker exited with code ${code}`));
    });
    return slot;
  }

  #dispatch(): void {
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
