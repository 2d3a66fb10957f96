// The message protocol between the content pool (main thread) and its workers
// (content-worker.ts), shared by both sides so the two cannot drift apart.
import type { EntryKind, HashAlgorithm, ScannedFile } from './types.js';

/** One file to read in a worker: opened there by path, checked against the walk's (dev, inode). @internal */
export interface ContentJob {
  readonly path: string;
  /** The exact bytes of the path when it is not valid UTF-8 (then `path` is only its lossy decoding). */
  readonly rawPath?: Buffer | undefined;
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

/** Numbers per job in a batch message (see {@link decodeBatch}). @internal */
export const JOB_WIDTH = 7;

/**
 * A batch as sent to a worker: one string of NUL-separated paths (no path holds a NUL),
 * a Float64Array of {@link JOB_WIDTH} numbers per job and a table of the distinct
 * "hashes|patterns" needs — cloning one object per job cost more than its syscalls.
 * Paths that are not valid UTF-8 travel as bytes in `raw` (index, bytes). @internal
 */
export interface BatchMessage {
  readonly type: 'batch';
  readonly paths: string;
  readonly nums: Float64Array<ArrayBuffer>;
  readonly needs: string[];
  readonly raw?: [number, Uint8Array][];
}

/** A pattern registration message. @internal */
export interface PatternMessage {
  readonly type: 'pattern';
  readonly index: number;
  readonly spec: PatternSpec;
}

/** What the pool hands a worker at start. @internal */
export interface WorkerData {
  readonly chunkSize: number;
  readonly regexOverlap: number;
  readonly openFlags: number;
  readonly patterns: readonly PatternSpec[];
}

/** One decoded job on the worker side. @internal */
export interface DecodedJob {
  readonly op: 'stat' | 'read';
  readonly path: string | Buffer;
  readonly head: number;
  readonly full: boolean;
  readonly hashes: readonly HashAlgorithm[];
  readonly patterns: readonly number[];
  readonly dev: number;
  readonly ino: number;
  readonly maxBytes: number;
}

/** The worker side of {@link packBatch}. @internal */
export function decodeBatch(message: BatchMessage): DecodedJob[] {
  const paths: (string | Buffer)[] = message.paths.split('\0');
  for (const [i, bytes] of message.raw ?? []) paths[i] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nums = message.nums;
  const needs = message.needs.map((text) => {
    const [hashes, patterns] = text.split('|');
    return { hashes: (hashes ? hashes.split(',') : []) as HashAlgorithm[], patterns: patterns ? patterns.split(',').map(Number) : [] };
  });
  return paths.map((path, i) => {
    const b = i * JOB_WIDTH;
    const need = needs[nums[b + 5] as number] ?? { hashes: [], patterns: [] };
    return {
      op: nums[b] === 0 ? 'stat' : 'read',
      path,
      head: nums[b + 1] as number,
      full: nums[b + 2] === 1,
      hashes: need.hashes,
      patterns: need.patterns,
      dev: nums[b + 3] as number,
      ino: nums[b + 4] as number,
      maxBytes: nums[b + 6] as number,
    };
  });
}

// The worker protocol, packed (see the worker source): one array per job, and per batch
// reply a Float64Array of WIRE_WIDTH numbers per result, a byte arena for heads, and extras.
export const WIRE_WIDTH = 12;
export const KINDS: readonly WireStats['kind'][] = ['file', 'directory', 'symlink', 'fifo', 'socket', 'block-device', 'character-device', 'unknown'];
const EMPTY = new Uint8Array(0);

export interface PackedReply {
  readonly nums: Float64Array;
  readonly arena: Uint8Array;
  readonly extra: readonly (PackedExtra | ContentFailure | null)[];
}

export interface PackedExtra {
  readonly hashes?: Partial<Record<HashAlgorithm, string>>;
  readonly matches?: readonly (readonly [number, number])[];
  readonly bytesRead?: number;
  readonly truncated?: boolean;
  readonly speculative?: boolean;
  readonly openError?: ContentFailure;
}

/** The batch message the worker's `decodeBatch` reads (see there). */
export function packBatch(jobs: readonly WireJob[]): BatchMessage {
  const nums = new Float64Array(jobs.length * JOB_WIDTH);
  const needs: string[] = [];
  const needIndex = new Map<string, number>();
  const paths: string[] = [];
  let raw: [number, Uint8Array][] | undefined;
  jobs.forEach((job, i) => {
    const b = i * JOB_WIDTH;
    const need = `${job.hashes.join(',')}|${job.patterns.join(',')}`;
    let n = needIndex.get(need);
    if (n === undefined) {
      n = needs.push(need) - 1;
      needIndex.set(need, n);
    }
    paths.push(job.path);
    if (job.rawPath !== undefined) (raw ??= []).push([i, job.rawPath]);
    nums[b] = job.op === 'stat' ? 0 : 1;
    nums[b + 1] = job.head;
    nums[b + 2] = job.full ? 1 : 0;
    nums[b + 3] = job.op === 'read' ? job.dev : 0;
    nums[b + 4] = job.op === 'read' ? job.ino : 0;
    nums[b + 5] = n;
    nums[b + 6] = job.maxBytes;
  });
  return { type: 'batch', paths: paths.join('\0'), nums, needs, ...(raw === undefined ? {} : { raw }) };
}

export function unpack(reply: PackedReply, i: number, op: WireJob['op']): ContentOutcome | StatOutcome {
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

export interface PatternSpec {
  readonly regex?: { readonly source: string; readonly flags: string };
  readonly bytes?: Uint8Array;
}

/** A stat job; with `full`, regular files are also read in full (hashes, patterns) in the same trip. @internal */
export interface StatJob {
  readonly path: string;
  /** The exact bytes of the path when it is not valid UTF-8. */
  readonly rawPath?: Buffer | undefined;
  readonly head: number;
  readonly full: boolean;
  readonly hashes: readonly HashAlgorithm[];
  readonly patterns: readonly number[];
  readonly maxBytes: number;
}

export type WireJob = (ContentJob & { readonly op: 'read' }) | (StatJob & { readonly op: 'stat' });
