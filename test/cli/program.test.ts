import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from './helpers.js';

describe('hostwarden CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints help for the program and every command, exit 0', async () => {
    const top = await cli(['--help']);
    assert.equal(top.code, 0);
    for (const name of ['check-log', 'scan', 'quarantine', 'run', 'demo']) assert.match(top.stdout, new RegExp(`\\b${name}\\b`));
    for (const args of [['check-log'], ['scan'], ['quarantine'], ['quarantine', 'list'], ['quarantine', 'restore'], ['quarantine', 'remove'], ['run'], ['demo']]) {
      const help = await cli([...args, '--help']);
      assert.equal(help.code, 0, args.join(' '));
      assert.match(help.stdout, new RegExp(`^Usage: hostwarden ${args.join(' ')}`), args.join(' '));
    }
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 on usage errors with a readable message', async () => {
    const missing = await cli(['scan']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'path'/);
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const badRules = await cli(['check-log', '/dev/null', '--rules', 'nginx']);
    assert.equal(badRules.code, 2);
    assert.match(badRules.stderr, /unknown rule set "nginx"; known: auth, ssh-probe/);
    const noDir = await cli(['quarantine', 'list']);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /required option '--dir <dir>'/);
    const badDuration = await cli(['demo', '--duration', 'soon']);
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /expected a duration/);
  });

  it('run --config names the bad key and exits 2', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ notifier: { channels: [{ type: 'slack', channel: '#ops', token: '' }] }, resources: { cpu: 'high' } }));
    const result = await cli(['run', '--config', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /config\.notifier\.channels\[0\]\.token: expected a non-empty string/);
    assert.match(result.stderr, /config\.resources\.cpu: expected a number >= 0 <= 100, got "high"/);
    assert.ok(!result.stderr.includes('    at '), 'no stack trace for a config error');
  });

  it('run --config --check accepts a valid config', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ notifier: { channels: [{ type: 'console' }] } }));
    const result = await cli(['run', '--config', file, '--check']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid/);
  });

  it('run --check builds every channel type, reading secrets from the environment only', async () => {
    const file = join(dir, 'all.json');
    await writeFile(
      file,
      JSON.stringify({
        logs: { files: [join(dir, 'auth.log')], rules: ['auth', 'ssh-probe'], maxRetry: 3, findTime: '2m' },
        resources: { interval: '5s', cpu: 85, rules: [{ metric: 'disk.inodes', above: 95, mount: '/' }] },
        scan: { roots: [dir], extensions: ['.exe', '.scr'], quarantine: { directory: join(dir, 'q') } },
        notifier: {
          channels: [
            { type: 'slack', tokenEnv: 'HW_TEST_SLACK', channel: '#ops' },
            { type: 'email', host: '127.0.0.1', port: 2525, user: 'ops', passwordEnv: 'HW_TEST_SMTP', from: 'hw@example.com', to: ['ops@example.com'] },
            { type: 'webhook', url: 'http://127.0.0.1:9/hook', headers: { 'x-team': 'ops' } },
            { type: 'console', minSeverity: 'warning' },
            { type: 'alertmanager', urls: ['http://127.0.0.1:9093'] },
          ],
        },
      }),
    );
    const ok = await cli(['run', '--config', file, '--check'], { env: { HW_TEST_SLACK: 'xoxb-from-env', HW_TEST_SMTP: 'smtp-secret' } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(5 channels\)/);
    const noEnv = await cli(['run', '--config', file, '--check'], { env: { HW_TEST_SMTP: 'smtp-secret' } });
    assert.equal(noEnv.code, 2);
    assert.match(noEnv.stderr, /config\.notifier\.channels\[0\]\.tokenEnv: environment variable HW_TEST_SLACK is not set/);
    assert.ok(!noEnv.stderr.includes('smtp-secret'));
  });

  it('run reports what a part rejects under its config section', async () => {
    const file = join(dir, 'part.json');
    await writeFile(file, JSON.stringify({ resources: { rules: [{ metric: 'memory', above: 50, clearBelow: 70 }] }, notifier: { channels: [{ type: 'console' }] } }));
    const result = await cli(['run', '--config', file, '--check']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /config\.resources: Expected `rules\[\d\]\.clearBelow`/);
  });

  it('run starts the agent and stops it when the signal aborts', async () => {
    const file = join(dir, 'run.json');
    await writeFile(join(dir, 'run-auth.log'), '');
    await writeFile(file, JSON.stringify({ logs: { files: [join(dir, 'run-auth.log')] }, notifier: { channels: [{ type: 'console' }] } }));
    const controller = new AbortController();
    // Stop once the agent says it runs (not after a guessed delay, which a loaded machine outlasts).
    const running = cli(['run', '--config', file], { signal: controller.signal, onStderr: (soFar) => soFar.includes('hostwarden running') && controller.abort() });
    const result = await running;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /hostwarden running \(watcher, notifier\)/);
    assert.match(result.stderr, /stopped/);
  });
});
