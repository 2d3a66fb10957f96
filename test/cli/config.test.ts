import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, validateConfig } from '../../src/cli/config.js';

const minimal = { notifier: { channels: [{ type: 'console' }] } };

function issuesOf(value: unknown): string[] {
  try {
    validateConfig(value);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

describe('config validation', () => {
  it('accepts a minimal config and resolves durations to ms', () => {
    const config = validateConfig({
      ...minimal,
      logs: { files: ['/var/log/auth.log'], findTime: '10m', maxRetry: 5 },
      resources: { interval: '5s', cpu: 80, memory: 90, rules: [{ metric: 'load', above: 4, for: '1m' }], scope: 'host', procRoot: '/host/proc' },
      scan: { roots: ['/home'], interval: '1h', quarantine: { directory: '/var/lib/hostwarden/q' } },
    });
    assert.equal(config.logs?.findTime, 600_000);
    assert.equal(config.resources?.interval, 5000);
    assert.equal(config.resources?.rules?.[0]?.for, 60_000);
    assert.equal(config.scan?.interval, 3_600_000);
    assert.equal(config.resources?.procRoot, '/host/proc');
  });

  it('rejects timer intervals longer than a timer can wait (scan.interval "25d" ran back-to-back scans)', () => {
    const issues = issuesOf({ ...minimal, resources: { interval: '30d' }, scan: { roots: ['/home'], interval: '25d' } });
    assert.equal(issues.length, 2);
    assert.match(issues[0] ?? '', /^config\.resources\.interval: .*at most 24d20h31m24s \(the longest a timer can wait\).*got "30d"/);
    assert.match(issues[1] ?? '', /^config\.scan\.interval: .*at most 24d20h31m24s/);
    assert.equal(validateConfig({ ...minimal, scan: { roots: ['/home'], interval: '24d' } }).scan?.interval, 24 * 86_400_000);
  });

  it('names the bad key of a channel', () => {
    const issues = issuesOf({ notifier: { channels: [{ type: 'slack', channel: '#ops', token: '' }] } });
    assert.deepEqual(issues, ['config.notifier.channels[0].token: expected a non-empty string, got ""']);
  });

  it('requires a Slack token or tokenEnv, and never echoes a token', () => {
    assert.deepEqual(issuesOf({ notifier: { channels: [{ type: 'slack', channel: '#ops' }] } }), [
      'config.notifier.channels[0].token: expected a non-empty string (or tokenEnv naming an environment variable)',
    ]);
    const issues = issuesOf({ notifier: { channels: [{ type: 'slack', channel: 7, token: 'xoxb-secret-value' }] } });
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^config\.notifier\.channels\[0\]\.channel: expected a non-empty string, got 7$/);
    const both = issuesOf({ notifier: { channels: [{ type: 'email', host: 'h', from: 'a@b', to: ['c@d'], password: 1234 }] } });
    assert.deepEqual(both, ['config.notifier.channels[0].password: expected a non-empty string, got a number (hidden)']);
    const hidden = issuesOf({ notifier: { channels: [{ type: 'slack', channel: '#x', token: 'xoxb-secret-value', tokenEnv: 'T' }] } });
    assert.ok(!hidden.join('\n').includes('xoxb-secret-value'), hidden.join('\n'));
  });

  it('rejects an unknown channel type and unknown keys with a suggestion', () => {
    assert.deepEqual(issuesOf({ notifier: { channels: [{ type: 'sms' }] } }), [
      'config.notifier.channels[0].type: expected one of "slack", "email", "webhook", "log", "console", "alertmanager", got "sms"',
    ]);
    const issues = issuesOf({ notifier: { chanels: [] } });
    assert.ok(
      issues.some((i) => i.startsWith('config.notifier.chanels: unknown key (did you mean "channels"?)')),
      issues.join('\n'),
    );
    assert.ok(
      issues.includes(
        'config.notifier.channels: is required: expected an array of at least 1 of an object with "type" one of "slack", "email", "webhook", "log", "console", "alertmanager"',
      ),
      issues.join('\n'),
    );
  });

  it('reports every problem at once with its path', () => {
    const issues = issuesOf({
      ...minimal,
      resources: { cpu: 120, interval: 'soon' },
      scan: { roots: [] },
      logs: { files: ['/var/log/auth.log', 3] },
    });
    assert.deepEqual(issues.sort(), [
      'config.logs.files[1]: expected a non-empty string, got 3',
      'config.resources.cpu: expected a number >= 0 <= 100, got 120',
      'config.resources.interval: expected a duration (milliseconds or a string like "30s", "10m", "1h") of at least 100ms and at most 24d20h31m24s (the longest a timer can wait), got "soon"',
      'config.scan.roots: expected an array of at least 1 of a non-empty string, got an array',
    ]);
  });

  it('rejects duplicate channel names and a non-object root', () => {
    assert.deepEqual(
      issuesOf({
        notifier: {
          channels: [
            { type: 'console', name: 'a' },
            { type: 'log', name: 'a' },
          ],
        },
      }),
      ['config.notifier.channels[1].name: duplicate channel name "a"'],
    );
    assert.deepEqual(issuesOf([]), ['config: expected an object, got an array']);
  });

  it('loadConfig reports unreadable files and bad JSON without a stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-config-'));
    try {
      await assert.rejects(loadConfig(join(dir, 'missing.json')), (error: unknown) => error instanceof ConfigError && /ENOENT/.test(error.message));
      await writeFile(join(dir, 'bad.json'), '{ "notifier": ');
      await assert.rejects(loadConfig(join(dir, 'bad.json')), (error: unknown) => error instanceof ConfigError && /not valid JSON/.test(error.message));
      await writeFile(join(dir, 'ok.json'), JSON.stringify(minimal));
      assert.equal((await loadConfig(join(dir, 'ok.json'))).notifier.channels[0]?.type, 'console');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
