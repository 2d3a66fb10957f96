// A child process running a TypeScript entry point through tsx from the repository root
// (where tsconfig maps `hostwarden` to src/), with helpers to wait for its output.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running child and what it printed so far. */
export interface Child {
  readonly process: ChildProcess;
  readonly output: () => string;
  /** Resolves when the combined output matches, rejects after `timeoutMs` or when the child exits first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (killing the child with SIGKILL after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node --import=tsx/esm <entry> ...args` in the repository root. */
export function startChild(entry: string, args: readonly string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ['--import=tsx/esm', entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return {
    process: child,
    output: () => output,
    waitForOutput(pattern, timeoutMs = 45_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) done(undefined);
        };
        const done = (error: Error | undefined): void => {
          listeners.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(() => done(new Error(`no output matching ${pattern} after ${timeoutMs}ms; output:\n${output}`)), timeoutMs);
        listeners.add(check);
        void exit.then(() => {
          if (!pattern.test(output)) done(new Error(`child exited before printing ${pattern}; output:\n${output}`));
        });
        check();
      });
    },
    async exited(timeoutMs = 30_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
