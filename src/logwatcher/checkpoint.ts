import { mkdir, readFile } from 'node:fs/promises';
import { systemClock } from '../core/clock.js';
import { writeFileAtomic } from '../core/durable-fs.js';
import { dirname } from 'node:path';
import { IoError, ParseError } from '../core/errors.js';
import type { FileIdentity } from './identity.js';

/**
 * Where reading of one file stands: its identity, the byte offset just past the last
 * line whose listeners ran, and that line's number.
 * @internal
 */
export interface FilePosition extends FileIdentity {
  /** Where the file was when the position was taken (informational; identity decides). */
  readonly path: string;
  /** Byte offset of the first unread line. */
  readonly offset: number;
  /** Number of the last line handled (0 before the first). */
  readonly lineNumber: number;
}

/** The positions of one followed path: its current file and older ones still draining. @internal */
export interface PathState {
  readonly current?: FilePosition;
  readonly draining: readonly FilePosition[];
}

/** What the state file holds. @internal */
export interface CheckpointState {
  readonly files: Readonly<Record<string, PathState>>;
  /** The journald cursor of the last entry handled. */
  readonly journalCursor?: string;
  /** When the state was written (ms since the epoch, wall clock). */
  readonly savedAt?: number;
}

const VERSION = 1;

/**
 * Reads a state file. A missing file is an empty state; anything unreadable or malformed
 * throws a {@link ParseError} (or {@link IoError}) that the watcher reports before
 * falling back to `startAt` — a corrupt state file must never stop log monitoring.
 * @internal
 */
export async function loadCheckpoint(path: string): Promise<CheckpointState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: {} };
    throw new IoError(`Cannot read the state file ${path}`, { path, syscall: 'open', cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseError(`The state file ${path} is not valid JSON`, { source: path, cause: error });
  }
  return parseState(data, path);
}

function parseState(data: unknown, source: string): CheckpointState {
  const fail = (why: string): never => {
    throw new ParseError(`The state file ${source} is malformed: ${why}`, { source });
  };
  if (!isRecord(data) || data['version'] !== VERSION) fail(`expected version ${VERSION}`);
  const record = data as Record<string, unknown>;
  const files: Record<string, PathState> = {};
  const rawFiles = record['files'];
  if (!isRecord(rawFiles)) fail('`files` is not an object');
  for (const [path, raw] of Object.entries(rawFiles as Record<string, unknown>)) {
    if (!isRecord(raw)) fail(`entry for ${JSON.stringify(path)} is not an object`);
    const entry = raw as Record<string, unknown>;
    const current = entry['current'] === undefined ? undefined : parsePosition(entry['current'], fail);
    const drainingRaw = entry['draining'] ?? [];
    if (!Array.isArray(drainingRaw)) fail(`draining of ${JSON.stringify(path)} is not an array`);
    const draining = (drainingRaw as unknown[]).map((p) => parsePosition(p, fail));
    files[path] = current === undefined ? { draining } : { current, draining };
  }
  const cursor = record['journalCursor'];
  if (cursor !== undefined && typeof cursor !== 'string') fail('`journalCursor` is not a string');
  const savedAt = record['savedAt'];
  if (savedAt !== undefined && !Number.isSafeInteger(savedAt)) fail('`savedAt` is not a time');
  return {
    files,
    ...(typeof cursor === 'string' ? { journalCursor: cursor } : {}),
    ...(typeof savedAt === 'number' ? { savedAt } : {}),
  };
}

function parsePosition(raw: unknown, fail: (why: string) => never): FilePosition {
  if (!isRecord(raw)) return fail('a position is not an object');
  const r = raw;
  const str = (k: string, re: RegExp): string => (typeof r[k] === 'string' && re.test(r[k]) ? r[k] : fail(`bad ${k}`));
  const int = (k: string): number => (Number.isSafeInteger(r[k]) && (r[k] as number) >= 0 ? (r[k] as number) : fail(`bad ${k}`));
  const position: FilePosition = {
    path: str('path', /^/),
    dev: str('dev', /^\d+$/),
    ino: str('ino', /^\d+$/),
    fingerprint: str('fingerprint', /^[0-9a-f]{64}$/),
    fingerprintLength: int('fingerprintLength'),
    offset: int('offset'),
    lineNumber: int('lineNumber'),
  };
  return position;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Writes the state atomically and durably through core's durable-fs: a random
 * O_EXCL|O_NOFOLLOW temporary file in the state file's directory (pinned without following
 * symlinks), fsync, rename over the old one, fsync of the directory — so a crash or a full
 * disk leaves either the old state or the new one, never half of each, and a symlink planted
 * in the directory cannot redirect the write.
 * @internal
 */
export async function saveCheckpoint(path: string, state: CheckpointState): Promise<void> {
  // The real clock, not a component's injected one: `savedAt` is compared with file birth
  // times (see Tailer.init), which the file system stamps from the wall clock.
  const body = `${JSON.stringify({ version: VERSION, ...state, savedAt: systemClock() }, null, 1)}\n`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, body, { mode: 0o600 });
  } catch (error) {
    throw new IoError(`Cannot write the state file ${path}`, { path, cause: error });
  }
}
