/**
 * The machine-readable reason of a {@link HostwardenError}; stable across versions,
 * so callers can branch on it.
 *
 * - `ERR_INVALID_OPTION`: an option or argument has the wrong type or value.
 * - `ERR_IO`: a file-system or process operation failed.
 * - `ERR_PARSE`: input could not be parsed (a state file, a signature database, a config).
 * - `ERR_DELIVERY`: a notification could not be delivered.
 * - `ERR_QUARANTINE`: a quarantine check refused to move, restore or delete a file.
 * - `ERR_ABORTED`: the operation was cancelled through an `AbortSignal`.
 * - `ERR_STATE`: the call does not fit the object's lifecycle (e.g. `start()` after `stop()`).
 * - `ERR_LISTENER`: a user's event listener threw.
 */
export type HostwardenErrorCode = 'ERR_INVALID_OPTION' | 'ERR_IO' | 'ERR_PARSE' | 'ERR_DELIVERY' | 'ERR_QUARANTINE' | 'ERR_ABORTED' | 'ERR_STATE' | 'ERR_LISTENER';

/** Options every {@link HostwardenError} accepts. */
export interface HostwardenErrorOptions {
  /** The lower-level error that caused this one. */
  readonly cause?: unknown;
}

/**
 * The base of every error hostwarden throws or emits. Branch with `instanceof`
 * on the subclasses, or on {@link HostwardenError.code}.
 *
 * @example
 * try {
 *   new LogWatcher({ files: [] });
 * } catch (error) {
 *   if (error instanceof InvalidOptionError) console.error(error.option, error.message);
 * }
 */
export abstract class HostwardenError extends Error {
  /** The stable, machine-readable reason. */
  abstract readonly code: HostwardenErrorCode;
  /** The lower-level error that caused this one, if any. */
  declare readonly cause?: unknown;

  constructor(message: string, options: HostwardenErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
  }
}

/**
 * An option or argument is invalid; thrown at construction, naming the option and the value.
 *
 * @example
 * throw new InvalidOptionError('interval', -1, 'a finite number >= 0');
 * // Expected `interval` to be a finite number >= 0, got -1
 */
export class InvalidOptionError extends HostwardenError {
  /** Always `ERR_INVALID_OPTION`. */
  readonly code = 'ERR_INVALID_OPTION' as const;
  /** The option's name, dotted for nested options (`outbox.directory`). */
  readonly option: string;

  /**
   * @param expected - what the option should be, completing "Expected `option` to be …".
   * @param options - `message` replaces the generated message (e.g. for an unknown key).
   */
  constructor(option: string, value: unknown, expected: string, options: HostwardenErrorOptions & { readonly message?: string } = {}) {
    super(options.message ?? `Expected \`${option}\` to be ${expected}, got ${describeValue(value)}`, options);
    this.option = option;
  }
}

/** A file-system or process operation failed; `path` and `syscall` say where. */
export class IoError extends HostwardenError {
  /** Always `ERR_IO`. */
  readonly code = 'ERR_IO' as const;
  /** The path involved, if any. */
  readonly path: string | undefined;
  /** The failing system call or operation (`open`, `read`, `rename`, `spawn`…), if known. */
  readonly syscall: string | undefined;
  /** The operating system's error code (`ENOENT`, `EACCES`…), if any. */
  readonly errno: string | undefined;

  constructor(message: string, options: HostwardenErrorOptions & { readonly path?: string; readonly syscall?: string } = {}) {
    super(message, options);
    this.path = options.path;
    this.syscall = options.syscall ?? systemErrorField(options.cause, 'syscall');
    this.errno = systemErrorField(options.cause, 'code');
  }
}

/** Input could not be parsed: a state file, a signature database, a configuration. */
export class ParseError extends HostwardenError {
  /** Always `ERR_PARSE`. */
  readonly code = 'ERR_PARSE' as const;
  /** Where the input came from (a path or a name), if known. */
  readonly source: string | undefined;
  /** The 1-based line of the input, if known. */
  readonly line: number | undefined;

  constructor(message: string, options: HostwardenErrorOptions & { readonly source?: string; readonly line?: number } = {}) {
    super(message, options);
    this.source = options.source;
    this.line = options.line;
  }
}

/**
 * A notification could not be delivered. Channels throw it to tell the Notifier whether
 * trying again can help; its message never contains a token, password or secret.
 */
export class DeliveryError extends HostwardenError {
  /** Always `ERR_DELIVERY`. */
  readonly code = 'ERR_DELIVERY' as const;
  /** The channel's name. */
  readonly channel: string;
  /** Whether a later attempt may succeed (429, 5xx, timeouts, network errors). */
  readonly retryable: boolean;
  /** How long the peer asked to wait before retrying (from `Retry-After`), in ms. */
  readonly retryAfterMs: number | undefined;
  /** The HTTP status or SMTP reply code, if there was one. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: HostwardenErrorOptions & {
      readonly channel: string;
      readonly retryable: boolean;
      readonly retryAfterMs?: number;
      readonly status?: number;
    },
  ) {
    super(message, options);
    this.channel = options.channel;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/** A quarantine safety check refused the operation; nothing was moved, restored or deleted. */
export class QuarantineError extends HostwardenError {
  /** Always `ERR_QUARANTINE`. */
  readonly code = 'ERR_QUARANTINE' as const;
  /** The path the operation was refused for. */
  readonly path: string | undefined;

  constructor(message: string, options: HostwardenErrorOptions & { readonly path?: string } = {}) {
    super(message, options);
    this.path = options.path;
  }
}

/** The operation was cancelled through an `AbortSignal`. */
export class AbortedError extends HostwardenError {
  /** Always `ERR_ABORTED`. */
  readonly code = 'ERR_ABORTED' as const;

  constructor(message = 'The operation was aborted', options: HostwardenErrorOptions = {}) {
    super(message, options);
  }
}

/** The call does not fit the object's lifecycle, such as `start()` after `stop()`. */
export class StateError extends HostwardenError {
  /** Always `ERR_STATE`. */
  readonly code = 'ERR_STATE' as const;
}

/**
 * A user's event listener threw. The component catches it so that one bad handler cannot
 * stop a tailer or a scan, and reports it as an `'error'` event with the original as `cause`.
 */
export class ListenerError extends HostwardenError {
  /** Always `ERR_LISTENER`. */
  readonly code = 'ERR_LISTENER' as const;
  /** The event whose listener threw. */
  readonly event: string;

  constructor(event: string, cause: unknown) {
    super(`A listener for '${event}' threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.event = event;
  }
}

/**
 * Renders a value for an error message: short, one line, and safe to log.
 * Strings are quoted and cut, so a huge or multi-line input cannot flood a log.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    return JSON.stringify(cut);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof RegExp) return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

function systemErrorField(cause: unknown, field: 'code' | 'syscall'): string | undefined {
  if (typeof cause === 'object' && cause !== null && field in cause) {
    const value = (cause as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}
