// Runs a TypeScript fixture as another (unprivileged) user. The child cannot be pointed at
// this repository: a clone under /root or a 0700 home is not enterable by `nobody`, and then
// neither the fixture nor tsx nor node_modules would load. So the fixture is bundled with its
// imports into one plain .mjs file in a temp dir that user can read, and run from there.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The uid and gid of `nobody` on Debian. */
export const NOBODY = 65534;

/** How the child ended and what it printed. */
export interface UnprivilegedResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runUnprivileged}. */
export interface RunUnprivilegedOptions {
  /** @defaultValue 65534 (nobody) */
  readonly uid?: number;
  /** @defaultValue 65534 (nogroup) */
  readonly gid?: number;
  /** Killed (SIGKILL) after this long. @defaultValue 60_000 */
  readonly timeoutMs?: number;
}

/**
 * Bundles `fixture` (and everything it imports from src/ and node_modules) into a temp dir
 * readable by everyone, runs it with plain node as `uid`/`gid` (only root may switch), and
 * removes the bundle afterwards.
 */
export async function runUnprivileged(fixture: URL, args: readonly string[], options: RunUnprivilegedOptions = {}): Promise<UnprivilegedResult> {
  const { uid = NOBODY, gid = NOBODY, timeoutMs = 60_000 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'hostwarden-unprivileged-'));
  try {
    await chmod(dir, 0o755);
    const outfile = join(dir, 'child.mjs');
    await build({
      entryPoints: [fileURLToPath(fixture)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      // CommonJS dependencies call require() for Node's built-ins; give the ESM bundle one.
      banner: { js: "import { createRequire as __hwCreateRequire } from 'node:module'; const require = __hwCreateRequire(import.meta.url);" },
    });
    await chmod(outfile, 0o644);
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [outfile, ...args], {
        cwd: dir,
        uid,
        gid,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
