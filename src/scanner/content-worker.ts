// The content worker: a worker thread of ContentPool. It opens, checks, reads, hashes and
// searches files itself with synchronous calls: the worker has nothing else to do, each
// worker is its own thread (N workers read and hash N files at once on N cores), and the
// main thread pays one message per batch of files instead of four thread-pool round trips
// per file. A real module compiled with the rest (it was JavaScript in a string once, and
// broke under `node --input-type=module`); the pool starts it with an explicit `execArgv`.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import {
  decodeBatch,
  KINDS,
  WIRE_WIDTH,
  type BatchMessage,
  type ContentFailure,
  type ContentResult,
  type DecodedJob,
  type PackedExtra,
  type PatternMessage,
  type PatternSpec,
  type WireStats,
  type WorkerData,
} from './content-protocol.js';
import type { HashAlgorithm } from './types.js';

interface CompiledPattern {
  readonly regex?: RegExp;
  readonly bytes?: Buffer;
}

type StatResult =
  { readonly ok: true; readonly stats: WireStats; readonly head?: Uint8Array; readonly content?: ContentResult; readonly openError?: ContentFailure } | ContentFailure;

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('content-worker.ts runs only as a worker thread of ContentPool');

const compile = (p: PatternSpec): CompiledPattern => (p.regex ? { regex: new RegExp(p.regex.source, p.regex.flags.replace(/[gy]/g, '')) } : { bytes: Buffer.from(p.bytes ?? []) });
const patterns: CompiledPattern[] = data.patterns.map(compile);
const buffer = Buffer.allocUnsafe(data.chunkSize);

function failure(error: unknown, changed: boolean): ContentFailure {
  const e = error as NodeJS.ErrnoException | undefined;
  return { ok: false, changed: changed || e?.code === 'ELOOP', code: e?.code, syscall: e?.syscall, message: String(e?.message) };
}

function readAll(fd: number, job: DecodedJob): ContentResult {
  const hashers: [HashAlgorithm, Hash][] = job.hashes.map((name) => [name, createHash(name)]);
  let remaining = job.patterns.slice();
  const matches: [number, number][] = [];
  let keep = 0;
  for (const i of remaining) {
    const p = patterns[i];
    keep = Math.max(keep, p?.regex ? data.regexOverlap : (p?.bytes?.length ?? 1) - 1);
  }
  let tail = Buffer.alloc(0);
  let head = Buffer.alloc(0);
  let pos = 0;
  let truncated = false;
  for (;;) {
    const n = readSync(fd, buffer, 0, data.chunkSize, pos);
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
      let text: string | undefined;
      remaining = remaining.filter((i) => {
        const p = patterns[i];
        let at = -1;
        if (p?.bytes) at = window.indexOf(p.bytes);
        else if (p?.regex) {
          text ??= window.toString('latin1');
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
  const hashes: Partial<Record<HashAlgorithm, string>> = {};
  for (const [name, hasher] of hashers) hashes[name] = hasher.digest('hex');
  return { ok: true, head, hashes, matches, bytesRead: pos, truncated };
}

function run(job: DecodedJob): ContentResult | ContentFailure {
  let fd: number;
  try {
    fd = openSync(job.path, data.openFlags);
  } catch (error) {
    return failure(error, false);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== job.dev || st.ino !== job.ino) {
      return { ok: false, changed: true, code: undefined, syscall: 'fstat', message: 'replaced by another file after it was listed' };
    }
    if (job.full) return readAll(fd, job);
    const n = readSync(fd, buffer, 0, Math.min(job.head, data.chunkSize), 0);
    return { ok: true, head: Buffer.from(buffer.subarray(0, n)), hashes: {}, matches: [], bytesRead: 0, truncated: false };
  } catch (error) {
    return failure(error, false);
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Nothing to do: the descriptor is gone either way.
    }
  }
}

function kindOf(st: Stats): WireStats['kind'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isCharacterDevice()) return 'character-device';
  return 'unknown';
}

function stat(job: DecodedJob): StatResult {
  let st: Stats;
  try {
    st = lstatSync(job.path);
  } catch (error) {
    return failure(error, false);
  }
  const stats: WireStats = {
    kind: kindOf(st),
    size: st.size,
    dev: st.dev,
    ino: st.ino,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
  // Never opened: anything but a regular file (a FIFO would block, a device has side effects).
  if (!st.isFile()) return { ok: true, stats };
  if (job.full && st.size <= job.maxBytes) {
    // Speculative full read: the last files all needed exactly this, so this one likely does too.
    const read = run({ ...job, dev: st.dev, ino: st.ino, full: true });
    return read.ok ? { ok: true, stats, content: read } : { ok: true, stats, openError: read };
  }
  if (job.head === 0 || st.size === 0) return { ok: true, stats };
  const read = run({ ...job, dev: st.dev, ino: st.ino, full: false });
  return read.ok ? { ok: true, stats, head: read.head } : { ok: true, stats, openError: read };
}

// Replies are packed: numbers in one Float64Array, heads in one byte arena (both
// transferred, not copied), and an object only where there is more to say (errors,
// digests, matches). Serializing an object per file cost more than the syscalls.
port.on('message', (message: BatchMessage | PatternMessage) => {
  if (message.type === 'pattern') {
    patterns[message.index] = compile(message.spec);
    return;
  }
  const results = decodeBatch(message).map((job) => (job.op === 'stat' ? stat(job) : run(job)));
  let total = 0;
  for (const r of results) {
    if (!r.ok) continue;
    const head = 'stats' in r ? (r.content ? r.content.head : r.head) : r.head;
    if (head) total += head.length;
  }
  const nums = new Float64Array(results.length * WIRE_WIDTH);
  const arena = new Uint8Array(total);
  const extra: (PackedExtra | ContentFailure | null)[] = new Array<null>(results.length).fill(null);
  let at = 0;
  results.forEach((r, i) => {
    const b = i * WIRE_WIDTH;
    nums[b + 10] = -1;
    if (!r.ok) {
      nums[b] = 1;
      extra[i] = r;
      return;
    }
    const isStat = 'stats' in r;
    const head = isStat ? (r.content ? r.content.head : r.head) : r.head;
    if (head) {
      arena.set(head, at);
      nums[b + 10] = at;
      nums[b + 11] = head.length;
      at += head.length;
    }
    const c = isStat ? r.content : r;
    if (c && (c.bytesRead > 0 || c.truncated || c.matches.length > 0 || Object.keys(c.hashes).length > 0)) {
      extra[i] = { hashes: c.hashes, matches: c.matches, bytesRead: c.bytesRead, truncated: c.truncated };
    }
    if (!isStat) {
      nums[b] = 2;
      return;
    }
    const st = r.stats;
    nums[b + 1] = KINDS.indexOf(st.kind);
    nums[b + 2] = st.size;
    nums[b + 3] = st.dev;
    nums[b + 4] = st.ino;
    nums[b + 5] = st.mode;
    nums[b + 6] = st.uid;
    nums[b + 7] = st.gid;
    nums[b + 8] = st.mtimeMs;
    nums[b + 9] = st.ctimeMs;
    if (r.openError) {
      extra[i] = { openError: r.openError };
    } else if (r.content) {
      extra[i] = { ...((extra[i] as PackedExtra | null) ?? { hashes: {}, matches: [], bytesRead: 0, truncated: false }), speculative: true };
    }
  });
  port.postMessage({ nums, arena, extra }, [nums.buffer, arena.buffer]);
});

// The pool counts a death before this message as a failed start (the scan fails), after it as a crash.
port.postMessage({ type: 'ready' });
