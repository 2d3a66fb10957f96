// One shape for "something was skipped or is not right, and the component goes on":
// unreadable files, vanished paths, malformed lines, a failing sample source. Every class
// emits it as its `'warning'` event.

import { displayPath as renderPath, isValidUtf8, safeText } from './text.js';

/**
 * The payload of every `'warning'` event.
 *
 * - `path` is exact (use it for file operations and comparisons);
 * - `rawPath` is set when the name is not valid UTF-8: then it, not `path`, is exact;
 * - `displayPath` is escaped for people (terminals, chat, logs);
 * - `message` is one line, already safe to show.
 */
export interface Warning {
  /** A stable, machine-readable reason, such as `'unreadable'`, `'vanished'`, `'sample-failed'`. */
  readonly code: string;
  /** What happened, one safe line for people. */
  readonly message: string;
  /** The exact path involved, if any (lossy only when {@link Warning.rawPath} is set). */
  readonly path?: string;
  /** The exact bytes of a path that is not valid UTF-8. */
  readonly rawPath?: Buffer;
  /** The path escaped for display (see `displayPath` in core/text). */
  readonly displayPath?: string;
  /** The lower-level error, if any. */
  readonly cause?: unknown;
}

/** Options of {@link createWarning}. */
export interface WarningInit {
  /** The path involved: a string, or the raw bytes of a name that may not be UTF-8. */
  readonly path?: string | Buffer;
  /** The lower-level error. */
  readonly cause?: unknown;
}

/** The longest warning message; longer ones are cut with `…`. */
const MAX_MESSAGE = 2000;

/**
 * Builds a {@link Warning}: the message made one safe line, `path` kept exact, `rawPath`
 * added when a Buffer name is not valid UTF-8, and `displayPath` filled in.
 *
 * @example
 * this.emitWarning(createWarning('unreadable', `Cannot read ${displayPath(p)}`, { path: p, cause: error }));
 */
export function createWarning(code: string, message: string, init: WarningInit = {}): Warning {
  const warning: { -readonly [K in keyof Warning]: Warning[K] } = {
    code,
    message: safeText(message, { singleLine: true, max: MAX_MESSAGE }),
  };
  const { path } = init;
  if (path !== undefined) {
    if (typeof path === 'string') warning.path = path;
    else {
      warning.path = path.toString('utf8');
      if (!isValidUtf8(path)) warning.rawPath = Buffer.from(path);
    }
    warning.displayPath = renderPath(path);
  }
  if ('cause' in init) warning.cause = init.cause;
  return warning;
}
