import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a child process did: how it ended and what it printed. */
export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the child had not exited by itself within the deadline and was killed. */
  timedOut: boolean;
}

/**
 * Runs a TypeScript file in a fresh Node process (through tsx) and reports how it ended.
 * Used where a test must observe process-level behaviour: an uncaught exception, a timer
 * that holds the event loop open.
 */
export function runScript(path: string | URL, args: readonly string[] = [], deadlineMs = 10_000): Promise<ScriptResult> {
  const file = path instanceof URL ? fileURLToPath(path) : path;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx/esm', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
