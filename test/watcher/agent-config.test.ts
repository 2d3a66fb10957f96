import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from '../../src/cli/agent.js';
import { ConfigError, validateConfig } from '../../src/cli/config.js';
import { EICAR_TEST_STRING, findingsFor, tempDir } from './helpers.js';

describe('agent config: watch', () => {
  it('validates the section, durations as text, and rejects what a timer cannot wait', () => {
    const config = validateConfig({ notifier: { channels: [{ type: 'console' }] }, watch: { roots: ['/var/www'], reconcileInterval: '10m', settle: '300ms' } });
    assert.equal(config.watch?.reconcileInterval, 600_000);
    assert.equal(config.watch?.settle, 300);
    // 25 days is more than a timer can wait: refused (by the FileWatcher, named by section), never clamped.
    const tooLong = validateConfig({ notifier: { channels: [{ type: 'console' }] }, watch: { roots: ['/x'], reconcileInterval: '25d' } });
    const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    assert.throws(
      () => new Agent(tooLong, { logger: silent, env: {}, stdout: { write: () => true } }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'config.watch' && /reconcileInterval/.test(i.message)),
    );
    assert.throws(() => validateConfig({ notifier: { channels: [{ type: 'console' }] }, watch: { roots: [] } }), ConfigError);
  });

  it('runs a FileWatcher whose findings reach the notifier, with its index in the state directory', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-agent-watch-');
    try {
      const roots = join(dir, 'www');
      const state = join(dir, 'state');
      await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(roots), fs.mkdir(state)]));
      const lines: string[] = [];
      const config = validateConfig({ stateDirectory: state, notifier: { channels: [{ type: 'console' }] }, watch: { roots: [roots], settle: '50ms' } });
      const agent = new Agent(config, {
        logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        env: {},
        stdout: { write: (s: string) => (lines.push(s), true) },
      });
      const watcher = agent.parts.fileWatcher;
      assert.ok(watcher);
      await agent.start();
      try {
        const planted = join(roots, 'shell.com');
        const found = findingsFor(watcher, [planted]);
        await writeFile(planted, EICAR_TEST_STRING);
        await found;
        await watcher.idle();
        // The console channel printed the alert (the notifier may batch it briefly).
      } finally {
        await agent.stop();
      }
      await import('node:fs/promises').then((fs) => fs.access(join(state, 'watch.index')));
    } finally {
      await cleanup();
    }
  });
});
