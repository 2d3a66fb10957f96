import { displayPath } from '../scanner/display.js';
import type { ScanWarning } from '../scanner/types.js';

/**
 * A problem the watcher survived: a path it could not watch or scan, a state file it could
 * not write. The shape of the shared core `Warning` (issue #13): `path` exact, `rawPath`
 * when the name is not valid UTF-8, `displayPath` escaped for people.
 */
export interface WatchWarning {
  /** Stable, machine-readable: `unreadable`, `vanished`, `non-utf8-name`, `state-unwritable`… */
  readonly code: string;
  /** One human line (paths in it are escaped). */
  readonly message: string;
  /** The exact path, when the warning is about one. */
  readonly path?: string;
  /** The exact bytes of a name that is not valid UTF-8. */
  readonly rawPath?: Buffer;
  /** The path for people: control characters and invalid bytes escaped. */
  readonly displayPath?: string;
  /** The underlying error. */
  readonly cause?: unknown;
}

/** Builds a {@link WatchWarning}. @internal */
export function watchWarning(code: string, message: string, extra: { path?: string | Buffer; cause?: unknown } = {}): WatchWarning {
  const { path, cause } = extra;
  if (path === undefined) return cause === undefined ? { code, message } : { code, message, cause };
  const base =
    typeof path === 'string'
      ? { code, message, path, displayPath: displayPath(path) }
      : { code, message, rawPath: path, displayPath: escapeRaw(path) };
  return cause === undefined ? base : { ...base, cause };
}

/** A scanner warning in the watcher's shape (the scanner's `reason` becomes the `code`). @internal */
export function fromScanWarning(warning: ScanWarning): WatchWarning {
  return { code: warning.reason, message: warning.message, displayPath: warning.path, ...(warning.error ? { cause: warning.error } : {}) };
}

// Bytes that are not valid UTF-8 as \xNN, valid runs escaped as the scanner shows any path.
// (Interim until the shared core's displayPath(Buffer) lands.)
function escapeRaw(bytes: Buffer): string {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let out = '';
  let runStart = 0;
  let i = 0;
  const flush = (end: number): void => {
    if (end > runStart) out += displayPath(decoder.decode(bytes.subarray(runStart, end)));
  };
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    flush(i);
    out += `\\x${(bytes[i] as number).toString(16).padStart(2, '0')}`;
    i++;
    runStart = i;
  }
  flush(i);
  return out;
}

// Length of the valid UTF-8 sequence starting at i, or 0.
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(i, i + n));
    return n;
  } catch {
    return 0;
  }
}
