import { runCli } from '../../src/cli/program.js';

/** What one in-process CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output (not a terminal) and the given env. */
export async function cli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; tty?: boolean; onStderr?: (soFar: string) => void; onStdout?: (soFar: string) => void } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const tty = options.tty ?? false;
  const code = await runCli(args, {
    // onStdout/onStderr see the output as it grows: a readiness signal instead of a fixed sleep.
    stdout: { write: (s: string) => ((stdout += s), options.onStdout?.(stdout), true), isTTY: tty, columns: 100 },
    stderr: { write: (s: string) => ((stderr += s), options.onStderr?.(stderr), true), isTTY: tty, columns: 100 },
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr };
}
