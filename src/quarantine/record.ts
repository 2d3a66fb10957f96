import { ParseError } from '../core/errors.js';

/** The manifest of one isolated file. */
export interface QuarantineRecord {
  /** The entry's id, used by `restore` and `remove`. */
  readonly id: string;
  /**
   * Where the file was. For a name that is not valid UTF-8 this is its lossy decoding
   * (with U+FFFD) and {@link QuarantineRecord.rawOriginalPath} holds the exact bytes.
   */
  readonly originalPath: string;
  /** The exact bytes of the original path, present only when they are not valid UTF-8. */
  readonly rawOriginalPath?: Buffer;
  /** SHA-256 of the content, checked again before every restore. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
  /** The original permission bits (including setuid/setgid/sticky). */
  readonly mode: number;
  /** The original owner. */
  readonly uid: number;
  /** The original group. */
  readonly gid: number;
  /** The original modification time. */
  readonly mtime: Date;
  /** The original access time. */
  readonly atime: Date;
  /** The original status-change time (informational; the kernel sets it on restore). */
  readonly ctime: Date;
  /** When it was isolated. */
  readonly quarantinedAt: Date;
  /** Why. */
  readonly reason: string;
}

/**
 * What the journal keeps about an isolation in progress, beyond the record: enough to
 * find the original again through a verified directory (never by path alone).
 *
 * @internal
 */
export interface IsolationIntent {
  readonly record: QuarantineRecord;
  /** The original's parent directory as pinned at check time. */
  readonly parent: { readonly dev: number; readonly ino: number; readonly uid: number };
  /** The original's (dev, inode). */
  readonly file: { readonly dev: number; readonly ino: number };
  /** Whether the isolation is a rename (same file system) or a copy. */
  readonly sameFileSystem: boolean;
}

/** Quarantine ids: they become file names, so nothing else is accepted. @internal */
export const ID_PATTERN = /^q-[0-9a-z]{1,16}-[0-9a-f]{12}$/;

/** Serializes a record for its manifest file. @internal */
export function recordToJson(record: QuarantineRecord): Record<string, unknown> {
  const { rawOriginalPath, ...rest } = record;
  return rawOriginalPath === undefined ? { ...rest } : { ...rest, rawOriginalPathBase64: rawOriginalPath.toString('base64') };
}

/** Serializes a journal intent. @internal */
export function intentToText(intent: IsolationIntent): string {
  return `${JSON.stringify({ ...intent, record: recordToJson(intent.record) })}\n`;
}

/** Parses a manifest. @throws {@link ParseError} for anything damaged. @internal */
export function parseRecord(text: string, source: string): QuarantineRecord {
  return recordFromJson(parseObject(text, source), source);
}

/** Parses a journal intent. @throws {@link ParseError} for anything damaged. @internal */
export function parseIntent(text: string, source: string): IsolationIntent {
  const raw = parseObject(text, source);
  const record = recordFromJson(asObject(raw.record, source, 'record'), source);
  const parent = asObject(raw.parent, source, 'parent');
  const file = asObject(raw.file, source, 'file');
  const num = (o: Record<string, unknown>, key: string): number => {
    if (typeof o[key] !== 'number') throw new ParseError(`Quarantine journal ${source}: bad ${key}`, { source });
    return o[key];
  };
  if (typeof raw.sameFileSystem !== 'boolean') throw new ParseError(`Quarantine journal ${source}: bad sameFileSystem`, { source });
  return {
    record,
    parent: { dev: num(parent, 'dev'), ino: num(parent, 'ino'), uid: num(parent, 'uid') },
    file: { dev: num(file, 'dev'), ino: num(file, 'ino') },
    sameFileSystem: raw.sameFileSystem,
  };
}

function parseObject(text: string, source: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ParseError(`Damaged quarantine manifest ${source}`, { source, cause: error });
  }
  return asObject(raw, source, 'manifest');
}

function asObject(value: unknown, source: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ParseError(`Quarantine manifest ${source}: bad ${what}`, { source });
  return value as Record<string, unknown>;
}

function recordFromJson(raw: Record<string, unknown>, source: string): QuarantineRecord {
  const date = (key: string): Date => {
    const d = new Date(String(raw[key]));
    if (Number.isNaN(d.getTime())) throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return d;
  };
  const num = (key: string): number => {
    if (typeof raw[key] !== 'number') throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return raw[key];
  };
  const str = (key: string): string => {
    if (typeof raw[key] !== 'string') throw new ParseError(`Quarantine manifest ${source}: bad ${key}`, { source });
    return raw[key];
  };
  const id = str('id');
  if (!ID_PATTERN.test(id)) throw new ParseError(`Quarantine manifest ${source}: bad id`, { source });
  const rawPath = raw.rawOriginalPathBase64;
  if (rawPath !== undefined && typeof rawPath !== 'string') throw new ParseError(`Quarantine manifest ${source}: bad rawOriginalPathBase64`, { source });
  return {
    id,
    originalPath: str('originalPath'),
    ...(rawPath === undefined ? {} : { rawOriginalPath: Buffer.from(rawPath, 'base64') }),
    sha256: str('sha256'),
    size: num('size'),
    mode: num('mode'),
    uid: num('uid'),
    gid: num('gid'),
    mtime: date('mtime'),
    atime: date('atime'),
    ctime: date('ctime'),
    quarantinedAt: date('quarantinedAt'),
    reason: str('reason'),
  };
}
