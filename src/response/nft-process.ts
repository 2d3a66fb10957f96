/**
 * Runs nft without a shell: the command and its arguments are an array, the transaction
 * goes to stdin. The command prefix is injectable (`['ip', 'netns', 'exec', ns, 'nft']`).
 */
import { spawn } from 'node:child_process';
import { IoError } from '../core/errors.js';
import { safeText } from '../core/text.js';
import { schedule } from '../core/clock.js';

/** What an nft run printed. */
export interface NftOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** nft failed: its exit code and (escaped, bounded) error output are in the message. */
export class NftCommandError extends IoError {
  /** nft's exit code, or `null` when it was killed. */
  readonly exitCode: number | null;
  /** nft's error output, escaped and cut to 2,000 characters. */
  readonly stderr: string;

  constructor(command: readonly string[], exitCode: number | null, stderr: string) {
    const shown = safeText(stderr.trim(), { singleLine: true, max: 2000 });
    super(`${command.join(' ')} failed (exit ${exitCode ?? 'killed'}): ${shown || 'no error output'}`, { syscall: 'spawn' });
    this.exitCode = exitCode;
    this.stderr = shown;
  }
}

/**
 * Runs `command` with `args` appended, writing `input` to its stdin, and resolves with
 * its output; rejects with {@link NftCommandError} on a non-zero exit and with an
 * {@link IoError} when it cannot be started or outlives `timeoutMs`.
 */
export function runNft(command: readonly string[], args: readonly string[], input: string | undefined, timeoutMs: number): Promise<NftOutput> {
  const [file, ...prefix] = command;
  if (file === undefined) return Promise.reject(new IoError('nftCommand is empty'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...prefix, ...args], { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | undefined, output?: NftOutput): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      if (error) reject(error);
      else resolve(output as NftOutput);
    };
    const cancelTimer = schedule(() => {
      child.kill('SIGKILL');
      finish(new IoError(`${command.join(' ')} did not finish within ${timeoutMs} ms`, { syscall: 'spawn' }));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (cause) => finish(new IoError(`cannot run ${command.join(' ')}: ${cause.message}`, { syscall: 'spawn', cause })));
    // A failed write (nft exited early) shows up as the exit code; do not let it throw.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) finish(undefined, { stdout, stderr });
      else finish(new NftCommandError(command, code, stderr));
    });
    child.stdin.end(input ?? '');
  });
}
