import { runCli } from '../../src/cli/program.js';

/** What one in-process CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process with captured output (not a terminal) and the given env. */
export async function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; tty?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const tty = options.tty ?? false;
  const code = await runCli(args, {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: tty, columns: 100 },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: tty, columns: 100 },
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, stdout, stderr };
}
