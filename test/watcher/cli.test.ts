import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { EICAR_TEST_STRING, tempDir } from './helpers.js';

describe('hostwarden watch', () => {
  it('prints a finding as a file lands, quarantines critical ones, exits 1 on SIGINT-like abort', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-cli-');
    const { dir: vault, cleanup: cleanupVault } = await tempDir('hostwarden-watch-vault-');
    try {
      const controller = new AbortController();
      let stdout = '';
      let stderr = '';
      let onOutput = (): void => {};
      const output = (s: string): boolean => {
        stdout += s;
        onOutput();
        return true;
      };
      const ready = new Promise<void>((resolve) => {
        onOutput = () => stdout.includes('moved to quarantine') && resolve();
      });
      const running = runCli(['watch', dir, '--quarantine', vault, '--settle', '50ms'], {
        stdout: { write: output },
        stderr: {
          write: (s: string) => {
            stderr += s;
            // Once watching, plant a sample whose name carries a terminal escape.
            if (s.includes('watching')) void writeFile(join(dir, 'evil\u001b[31m.com'), EICAR_TEST_STRING);
            return true;
          },
        },
        env: {},
        signal: controller.signal,
      });
      await ready;
      controller.abort();
      const code = await running;
      assert.equal(code, 1, stderr);
      assert.match(stdout, /evil\\x1b\[31m\.com: .*FOUND/);
      assert.doesNotMatch(stdout, /\u001b/);
      await assert.rejects(access(join(dir, 'evil\u001b[31m.com')));
    } finally {
      await cleanup();
      await cleanupVault();
    }
  });

  it('refuses a path that is not a directory', async () => {
    let stderr = '';
    const code = await runCli(['watch', '/nonexistent/hostwarden'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => ((stderr += s), true) },
      env: {},
      signal: new AbortController().signal,
    });
    assert.equal(code, 2);
    assert.match(stderr, /cannot access/);
  });
});
