import { sleep } from '../../core/clock.js';

/**
 * Confirms that a winston logger's file transports really wrote what was just logged.
 *
 * winston's File transport hands each entry to a pass-through stream and reports it
 * `'logged'` before the file has it; an error of the file stream (a full or read-only
 * disk) is only passed to `debug()`, and every later entry is silently dropped. A
 * LogChannel that trusted the call would report "sent" for alerts nobody can read, so
 * it waits until each file stream has taken everything queued and then checks that the
 * stream is still healthy.
 * @internal
 */

/** A file transport's streams, as winston 3 keeps them (duck-typed: no other transport has them). */
interface FileTransportStreams {
  readonly filename?: unknown;
  readonly _stream?: { readonly readableLength?: number };
  readonly _dest?: { readonly writableLength?: number; readonly pending?: boolean; readonly errored?: unknown; readonly destroyed?: boolean; readonly path?: unknown };
  readonly _opening?: boolean;
}

/** The file transports of a winston logger (empty for any other logger). @internal */
export function winstonFileTransports(logger: unknown): FileTransportStreams[] {
  const transports = (logger as { transports?: unknown }).transports;
  if (!Array.isArray(transports)) return [];
  return transports.filter((t): t is FileTransportStreams => typeof t === 'object' && t !== null && typeof (t as FileTransportStreams).filename === 'string' && '_stream' in t);
}

/** Why a file transport did not write, or `undefined` once everything queued reached the file. */
function state(t: FileTransportStreams): { done: boolean; error?: string } {
  const dest = t._dest;
  if (dest?.errored !== undefined && dest.errored !== null) {
    const e = dest.errored as NodeJS.ErrnoException;
    return { done: true, error: `${e.code ?? e.message}` };
  }
  if (dest?.destroyed === true) return { done: true, error: 'the file stream was closed' };
  if (t._opening === true || dest === undefined || dest.pending === true) return { done: false };
  return { done: (t._stream?.readableLength ?? 0) === 0 && (dest.writableLength ?? 0) === 0 };
}

/**
 * Resolves once every file transport of `logger` has written what is queued, or returns
 * the first failure as `path: reason`. Waits in small steps until `signal` aborts.
 * @internal
 */
export async function winstonWriteFailure(logger: unknown, signal: AbortSignal): Promise<string | undefined> {
  const files = winstonFileTransports(logger);
  for (let step = 0; files.length > 0; step++) {
    let pending = false;
    for (const t of files) {
      const s = state(t);
      if (s.error !== undefined) return `${String(t.filename)}: ${s.error}`;
      if (!s.done) pending = true;
    }
    if (!pending) return undefined;
    signal.throwIfAborted();
    // The first steps only yield to I/O callbacks; then back off a little.
    // Persistent: while a file is still opening nothing else may hold the event loop.
    await sleep(step < 10 ? 0 : 5, { signal, persistent: true });
  }
  return undefined;
}
