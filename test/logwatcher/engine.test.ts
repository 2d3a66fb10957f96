import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, InvalidOptionError, RuleEngine, type Alert, type LogRule } from '../../src/index.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const failed = (ms: number, host = '203.0.113.5', user = 'root'): string =>
  `${iso(ms)} web1 sshd[812]: Failed password for ${user} from ${host} port 4122 ssh2`;

function feed(engine: RuleEngine, lines: string[]): Alert[] {
  const alerts: Alert[] = [];
  lines.forEach((line, i) => alerts.push(...engine.handle(line, { file: 'auth.log', lineNumber: i + 1 }).alerts));
  return alerts;
}

describe('RuleEngine thresholds', () => {
  it('fires one alert per host after 5 failures within 10 minutes, by the lines own time', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'web1', now: () => new Date(T0 + 86_400_000) });
    const lines = [0, 1, 2, 3].map((m) => failed(T0 + m * 60_000));
    assert.deepEqual(feed(engine, lines), []);
    const alerts = feed(engine, [failed(T0 + 4 * 60_000)]);
    assert.equal(alerts.length, 1);
    const [alert] = alerts as [Alert];
    assert.equal(alert.status, 'firing');
    assert.equal(alert.rule, 'sshd.brute-force');
    assert.equal(alert.key, 'log:sshd.brute-force:203.0.113.5');
    assert.equal(alert.severity, 'critical');
    assert.equal(alert.title, 'SSH brute force from 203.0.113.5 (5 failures in 10m)');
    assert.equal(alert.hostname, 'web1');
    assert.equal(alert.time.getTime(), T0 + 4 * 60_000);
    assert.deepEqual(alert.labels, { host: '203.0.113.5', user: 'root', program: 'sshd' });
    assert.equal(alert.evidence?.length, 5);
    // The attack goes on: absorbed, no second firing alert.
    assert.deepEqual(feed(engine, [5, 6, 7, 8].map((m) => failed(T0 + m * 60_000))), []);
  });

  it('does not fire when the failures are spread wider than the window', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    assert.deepEqual(feed(engine, [0, 3, 6, 9, 12, 15, 18].map((m) => failed(T0 + m * 60_000))), []);
  });

  it('counts per host: four failures from each of two hosts fire nothing', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const lines = [0, 1, 2, 3].flatMap((m) => [failed(T0 + m * 1000, '198.51.100.1'), failed(T0 + m * 1000, '198.51.100.2')]);
    assert.deepEqual(feed(engine, lines), []);
  });

  it('resolves after the quiet window through sweep() and through a later line', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    feed(engine, [0, 1, 2, 3, 4].map((m) => failed(T0 + m * 60_000)));
    assert.deepEqual(engine.sweep(new Date(T0 + 13 * 60_000)), []);
    const resolved = engine.sweep(new Date(T0 + 14 * 60_000));
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]?.status, 'resolved');
    assert.equal(resolved[0]?.key, 'log:sshd.brute-force:203.0.113.5');
    assert.equal(resolved[0]?.time.getTime(), T0 + 14 * 60_000);
    assert.deepEqual(engine.sweep(new Date(T0 + 60 * 60_000)), [], 'resolved only once');

    // Replayed from a file: a later line proves the quiet time, no timer needed.
    const replay = new RuleEngine({ rules: authRules, hostname: 'h' });
    feed(replay, [0, 1, 2, 3, 4].map((m) => failed(T0 + m * 60_000)));
    const later = feed(replay, [failed(T0 + 30 * 60_000, '192.0.2.9')]);
    assert.deepEqual(later.map((a) => [a.status, a.key]), [['resolved', 'log:sshd.brute-force:203.0.113.5']]);
  });

  it('uses now() for lines without a timestamp', () => {
    let now = T0;
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', now: () => new Date(now) });
    const bare = 'Failed password for root from 192.0.2.1 port 22 ssh2';
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(engine.handle(bare, { file: 'f', lineNumber: i + 1 }).alerts, []);
      now += 20 * 60_000;
    }
    now = T0 + 100 * 60_000;
    const alerts = [0, 1, 2, 3, 4].flatMap((i) => engine.handle(bare, { file: 'f', lineNumber: i }).alerts);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.time.getTime(), now);
  });

  it("'every' rules alert on each match", () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const line = 'Mar  3 00:17:22 web1 sudo:   mallory : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/sh';
    const a = feed(engine, [line, line]);
    assert.equal(a.length, 2);
    assert.equal(a[0]?.rule, 'sudo.not-allowed');
    assert.equal(a[0]?.key, 'log:sudo.not-allowed:mallory');
    assert.equal(a[0]?.labels.user, 'mallory');
  });

  it('validates options and rules', () => {
    assert.throws(() => new RuleEngine({ rules: 'x' as unknown as LogRule[] }), InvalidOptionError);
    const bad = { ...authRules[0], pattern: /x/g } as LogRule;
    assert.throws(() => new RuleEngine({ rules: [bad] }), /rules\[0\]\.pattern/);
    assert.throws(() => new RuleEngine({ rules: authRules, maxEvidence: 0 }), /maxEvidence/);
    assert.throws(() => new RuleEngine({ rules: [authRules[0] as LogRule, authRules[0] as LogRule] }), /rules\[1\]\.id/);
  });
});
