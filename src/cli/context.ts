/** A stream the CLI writes to (process.stdout / stderr, or a capture in tests). */
export interface OutStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * The outside world of one CLI invocation. Commands never touch `process` directly, so
 * tests can run them in-process with captured output and their own environment.
 */
export interface CliContext {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: NodeJS.ProcessEnv;
  /** Standard input, for `check-log -`. */
  readonly stdin?: AsyncIterable<Buffer | string>;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  readonly signal: AbortSignal;
}

/** Exit codes shared by the commands (`scan` follows clamscan: 0 clean, 1 found, 2 error). */
export const EXIT = { ok: 0, found: 1, error: 2 } as const;

/** A failure the user can fix, printed without a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
