// `persistent`: a FileWatcher that is not persistent must not hold its process open (parcel's
// native callback would, on the main thread; content workers would too), and a persistent one
// must keep running and watching. Each runs alone in a child process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { EICAR_TEST_STRING, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/persistent-child.ts', import.meta.url));

function start(
  root: string,
  persistent: boolean,
): { child: ChildProcessByStdio<null, Readable, null>; lines: Record<string, unknown>[]; next: (key: string) => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, ['--import=tsx/esm', CHILD, root, String(persistent)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (key: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find((l) => key in l);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}) before saying ${key}: ${JSON.stringify(lines)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, lines, next };
}

describe('FileWatcher persistent option', () => {
  it('persistent: false lets the process exit by itself once started', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-unref-');
    const { child, lines } = start(dir, false);
    const exited = once(child, 'exit') as Promise<[number | null]>;
    // A hang is the failure: after 30 s the child is ended and the test fails.
    const safety = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const [code] = await exited;
      assert.equal(code, 0, 'it ended by itself');
      assert.deepEqual(lines[0], { started: 'events' }, 'it watched with kernel events before exiting');
    } finally {
      clearTimeout(safety);
      await cleanup();
    }
  });

  it('persistent: true keeps the process running, and watching', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-ref-');
    const { child, next } = start(dir, true);
    try {
      assert.equal((await next('started')).started, 'events');
      const planted = join(dir, 'late.com');
      await writeFile(planted, EICAR_TEST_STRING);
      assert.equal((await next('finding')).finding, planted);
      assert.equal(child.exitCode, null, 'still running');
    } finally {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await cleanup();
    }
  });
});
