import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, InvalidOptionError, RuleEngine, type Alert, type LogRule } from '../../src/index.js';

const T0 = Date.parse('2024-03-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const failed = (ms: number, host = '203.0.113.5', user = 'root'): string => `${iso(ms)} web1 sshd[812]: Failed password for ${user} from ${host} port 4122 ssh2`;

function feed(engine: RuleEngine, lines: string[]): Alert[] {
  const alerts: Alert[] = [];
  lines.forEach((line, i) => alerts.push(...engine.handle(line, { file: 'auth.log', lineNumber: i + 1 }).alerts));
  return alerts;
}

describe('RuleEngine thresholds', () => {
  it('fires one alert per host after 5 failures within 10 minutes, by the lines own time', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'web1', clock: () => T0 + 86_400_000 });
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
    assert.deepEqual(alert.labels, { host: '203.0.113.5', user: 'root', users: 'root', program: 'sshd' });
    assert.equal(alert.evidence?.length, 5);
    // The attack goes on: absorbed, no second firing alert.
    assert.deepEqual(
      feed(
        engine,
        [5, 6, 7, 8].map((m) => failed(T0 + m * 60_000)),
      ),
      [],
    );
  });

  it('returns a shared frozen empty result for lines that match nothing', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const a = engine.handle('Mar  3 00:17:22 web1 CRON[1]: pam_unix(cron:session): session closed for user root', { file: 'f', lineNumber: 1 });
    const b = engine.handle('', { file: 'f', lineNumber: 2 });
    assert.equal(a, b);
    assert.deepEqual(a, { matches: [], alerts: [], attempts: [] });
    assert.ok(Object.isFrozen(a.matches) && Object.isFrozen(a.alerts) && Object.isFrozen(a.attempts));
    const c = engine.handle(failed(T0), { file: 'f', lineNumber: 3 });
    assert.equal(c.matches.length, 1);
    assert.ok(!Object.isFrozen(c.matches));
  });

  it("each result is the caller's to keep: the next line does not change it", () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'web1' });
    const results = [0, 1, 2, 3, 4].map((m, i) => engine.handle(failed(T0 + m * 1000, `198.51.100.${m}`), { file: 'auth.log', lineNumber: i + 1 }));
    assert.deepEqual(
      results.map((r) => r.matches.map((m) => m.fields.host)),
      [0, 1, 2, 3, 4].map((m) => [`198.51.100.${m}`]),
    );
    assert.deepEqual(
      results.map((r) => r.attempts.length),
      [1, 1, 1, 1, 1],
    );
  });

  it('a log replayed from a file raises the same alerts as the same log watched live', () => {
    // Two attackers, bursts separated by quiet gaps, noise in between; times in seconds.
    const events: [number, string][] = [];
    for (const [start, host] of [
      [0, '203.0.113.1'],
      [30, '203.0.113.2'],
      [1500, '203.0.113.1'],
      [4000, '203.0.113.2'],
    ] as const) {
      for (let k = 0; k < 8; k++) events.push([start + k * 20, failed(T0 + (start + k * 20) * 1000, host)]);
    }
    for (let s = 0; s < 5000; s += 97) events.push([s, `${iso(T0 + s * 1000)} w CRON[1]: pam_unix(cron:session): session closed for user root`]);
    events.sort((a, b) => a[0] - b[0]);
    const summary = (alerts: Alert[]): string[] => alerts.map((a) => `${a.status} ${a.key} ${a.time.toISOString()} ${a.title}`).sort();

    // Live: the clock follows the log, and a timer sweeps every 30 s.
    let now = T0;
    const live = new RuleEngine({ rules: authRules, hostname: 'h', clock: () => now });
    const liveAlerts: Alert[] = [];
    let nextSweep = T0 + 30_000;
    for (const [s, line] of events) {
      const t = T0 + s * 1000;
      while (nextSweep <= t) {
        now = nextSweep;
        liveAlerts.push(...live.sweep());
        nextSweep += 30_000;
      }
      now = t;
      liveAlerts.push(...live.handle(line, { file: 'auth.log', lineNumber: 1 }).alerts);
    }
    now = T0 + 7_200_000;
    liveAlerts.push(...live.sweep());

    // Replay: read a day later in one go, one sweep at the end.
    const replay = new RuleEngine({ rules: authRules, hostname: 'h', clock: () => T0 + 86_400_000 });
    const replayAlerts = events.flatMap(([, line]) => replay.handle(line, { file: 'auth.log', lineNumber: 1 }).alerts);
    replayAlerts.push(...replay.sweep(T0 + 7_200_000));

    assert.equal(liveAlerts.filter((a) => a.status === 'firing').length, 4);
    assert.equal(liveAlerts.filter((a) => a.status === 'resolved').length, 4);
    assert.deepEqual(summary(replayAlerts), summary(liveAlerts));
  });

  it('does not fire when the failures are spread wider than the window', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    assert.deepEqual(
      feed(
        engine,
        [0, 3, 6, 9, 12, 15, 18].map((m) => failed(T0 + m * 60_000)),
      ),
      [],
    );
  });

  it('counts per host: four failures from each of two hosts fire nothing', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const lines = [0, 1, 2, 3].flatMap((m) => [failed(T0 + m * 1000, '198.51.100.1'), failed(T0 + m * 1000, '198.51.100.2')]);
    assert.deepEqual(feed(engine, lines), []);
  });

  it('resolves after the quiet window through sweep() and through a later line', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    feed(
      engine,
      [0, 1, 2, 3, 4].map((m) => failed(T0 + m * 60_000)),
    );
    assert.deepEqual(engine.sweep(T0 + 13 * 60_000), []);
    const resolved = engine.sweep(T0 + 14 * 60_000);
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]?.status, 'resolved');
    assert.equal(resolved[0]?.key, 'log:sshd.brute-force:203.0.113.5');
    assert.equal(resolved[0]?.time.getTime(), T0 + 14 * 60_000);
    assert.deepEqual(engine.sweep(T0 + 60 * 60_000), [], 'resolved only once');

    // Replayed from a file: a later line proves the quiet time, no timer needed.
    const replay = new RuleEngine({ rules: authRules, hostname: 'h' });
    feed(
      replay,
      [0, 1, 2, 3, 4].map((m) => failed(T0 + m * 60_000)),
    );
    const later = feed(replay, [failed(T0 + 30 * 60_000, '192.0.2.9')]);
    assert.deepEqual(
      later.map((a) => [a.status, a.key]),
      [['resolved', 'log:sshd.brute-force:203.0.113.5']],
    );
  });

  it('uses now() for lines without a timestamp', () => {
    let now = T0;
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', clock: () => now });
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
    const mine: LogRule = {
      id: 'my.rule',
      description: 'x',
      severity: 'info',
      tags: [],
      pattern: /x/,
      alert: { count: 2, within: 1000, groupBy: 'host', rule: 'sshd.brute-force' },
    };
    assert.throws(
      () => new RuleEngine({ rules: [...authRules, mine] }),
      (e: unknown) => e instanceof InvalidOptionError && e.option === `rules[${authRules.length}].alert`,
    );
  });

  it('counts attempts, not lines: the lines of one connection add up to its attempts', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const host = '198.51.100.77';
    const at = (m: number): string => iso(T0 + m * 1000);
    const counted: string[] = [];
    const feedCounting = (lines: string[]): Alert[] =>
      lines.flatMap((line, i) => {
        const r = engine.handle(line, { file: 'f', lineNumber: i + 1 });
        counted.push(...r.attempts.map((a) => `${a.rule.id}@${a.pid}`));
        return r.alerts;
      });
    const lines = [
      // One attempt: an invalid user's password, with PAM's helper lines and the close.
      `${at(0)} w sshd[1]: Invalid user admin from ${host} port 1`,
      `${at(1)} w sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${host}`,
      `${at(2)} w sshd[1]: Failed password for invalid user admin from ${host} port 1 ssh2`,
      // A second password on the same connection is a second attempt.
      `${at(2)} w sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${host}`,
      `${at(2)} w sshd[1]: Failed password for invalid user admin from ${host} port 1 ssh2`,
      `${at(3)} w sshd[1]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${host}`,
      `${at(4)} w sshd[1]: Connection closed by invalid user admin ${host} port 1 [preauth]`,
      // A refused user: one attempt.
      `${at(5)} w sshd[2]: User root from ${host} not allowed because not listed in AllowUsers`,
      // A wrong password, then the user closes: one attempt, not two.
      `${at(6)} w sshd[3]: Failed password for root from ${host} port 2 ssh2`,
      `${at(6)} w sshd[3]: Connection closed by authenticating user root ${host} port 2 [preauth]`,
    ];
    assert.deepEqual(feedCounting(lines), [], '4 attempts so far');
    assert.deepEqual(counted, ['sshd.invalid-user@1', 'sshd.failed-auth@1', 'sshd.user-not-allowed@2', 'sshd.failed-auth@3']);
    const alerts = feedCounting([
      `${at(7)} w sshd-session[4]: Connection from ${host} port 3 on 192.0.2.1 port 22`,
      // A host-less line takes its connection's address.
      `${at(7)} w sshd-session[4]: Disconnecting: Too many authentication failures for root [preauth]`,
    ]);
    assert.equal(alerts.length, 1, 'the fifth attempt fires');
    assert.equal(alerts[0]?.labels.host, host);
    assert.match(alerts[0]?.summary ?? '', /sshd\.invalid-user, sshd\.failed-auth, sshd\.user-not-allowed, sshd\.too-many-failures-legacy/);
    assert.match(alerts[0]?.summary ?? '', /Users tried: admin, root/);
    assert.equal(alerts[0]?.labels.program, 'sshd-session');
  });

  it('counts an rsyslog "message repeated N times" line N times', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const a = feed(engine, [
      `${iso(T0)} w sshd[1]: Failed password for root from 192.0.2.50 port 1 ssh2`,
      `${iso(T0 + 1000)} w sshd[1]: message repeated 4 times: [ Failed password for root from 192.0.2.50 port 1 ssh2]`,
    ]);
    assert.equal(a.length, 1);
    assert.equal(a[0]?.title, 'SSH brute force from 192.0.2.50 (5 failures in 10m)');
  });

  it('keeps the window exact for lines that arrive out of order (several files)', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    // 0, 20, 1, 2, 3 minutes: only four fall within 10 minutes of each other until the sixth.
    assert.deepEqual(
      feed(
        engine,
        [0, 20, 1, 2, 3].map((m) => failed(T0 + m * 60_000)),
      ),
      [],
    );
    assert.equal(feed(engine, [failed(T0 + 4 * 60_000)]).length, 1);
  });

  it('escapes control and bidi characters from attacker-chosen text in titles, labels and evidence', () => {
    const rule: LogRule = {
      id: 'app.login',
      description: 'App login failed',
      severity: 'warning',
      tags: ['auth-failure'],
      pattern: /login failed for (?<user>.+) from (?<host>\S+)$/,
      alert: { count: 2, within: 60_000, groupBy: 'host', title: 'Login failures for {user} from {host}' },
    };
    const engine = new RuleEngine({ rules: [rule], hostname: 'h' });
    const evil = 'root\u001b[31m\u202e<!channel>';
    const a = feed(engine, [`${iso(T0)} w app: login failed for ${evil} from 192.0.2.60`, `${iso(T0 + 1)} w app: login failed for ${evil} from 192.0.2.60`]);
    assert.equal(a.length, 1);
    const alert = a[0] as Alert;
    assert.equal(alert.title, 'Login failures for root\\x1b[31m\\u202e<!channel> from 192.0.2.60');
    assert.equal(alert.labels.user, 'root\\x1b[31m\\u202e<!channel>');
    assert.ok(alert.evidence?.every((l) => !l.includes('\u001b') && !l.includes('\u202e')));
  });

  it('bounds evidence, and matches without the groupBy field do not count', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', maxEvidence: 3 });
    // `Disconnecting: Too many authentication failures for root` has no host.
    const noHost = `${iso(T0)} w sshd[1]: User alice not allowed because account is locked`;
    assert.deepEqual(
      feed(
        engine,
        Array.from({ length: 10 }, () => noHost),
      ),
      [],
    );
    assert.equal(engine.trackedKeys, 0);
    const a = feed(
      engine,
      [0, 1, 2, 3, 4, 5].map((m) => failed(T0 + m * 1000)),
    );
    assert.equal(a[0]?.evidence?.length, 3);
    assert.equal(a[0]?.evidence?.[2], failed(T0 + 4000));
  });

  it('forgets idle keys and never tracks more than maxKeys', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', maxKeys: 100 });
    const lines = Array.from({ length: 1000 }, (_, i) => failed(T0 + i, `10.1.${i >> 8}.${i & 255}`));
    assert.deepEqual(feed(engine, lines), []);
    assert.ok(engine.trackedKeys <= 101, `${engine.trackedKeys} keys`);
    engine.sweep(T0 + 3_600_000);
    assert.equal(engine.trackedKeys, 0);
  });

  it('resolves the least recently active firing keys early when more than maxKeys fire', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', maxKeys: 10 });
    const alerts: Alert[] = [];
    for (let host = 0; host < 30; host++) {
      alerts.push(
        ...feed(
          engine,
          [0, 1, 2, 3, 4].map((s) => failed(T0 + host * 10_000 + s * 1000, `2001:db8::${host.toString(16)}`)),
        ),
      );
    }
    assert.ok(engine.trackedKeys <= 11, `${engine.trackedKeys} keys`);
    assert.equal(alerts.filter((a) => a.status === 'firing').length, 30);
    const early = alerts.filter((a) => a.status === 'resolved');
    assert.ok(early.length >= 19);
    assert.match(early[0]?.summary ?? '', /Resolved early: more than 10 keys/);
    assert.equal(early[0]?.key, 'log:sshd.brute-force:2001:db8::0');
  });

  it('a threshold without groupBy counts the whole rule under one key', () => {
    const rule: LogRule = { id: 'disk.io-error', description: 'I/O error', severity: 'critical', tags: [], pattern: /I\/O error/, alert: { count: 3, within: 60_000 } };
    const engine = new RuleEngine({ rules: [rule], hostname: 'h' });
    const a = feed(
      engine,
      [0, 1, 2].map((s) => `${iso(T0 + s * 1000)} w kernel: blk_update_request: I/O error, dev sda, sector 1`),
    );
    assert.equal(a.length, 1);
    assert.equal(a[0]?.key, 'log:disk.io-error');
    assert.equal(a[0]?.title, 'I/O error: 3 matches in 1m');
  });

  it('su failures are counted per invoking user', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const a = feed(
      engine,
      [0, 1, 2].map((s) => `${iso(T0 + s * 1000)} w su[9]: FAILED SU (to root) bob on pts/0`),
    );
    assert.deepEqual(
      a.map((x) => [x.rule, x.key, x.severity]),
      [['su.brute-force', 'log:su.brute-force:bob', 'warning']],
    );
  });
});

describe('RuleEngine: success after failures, users tried', () => {
  const line = (t: number, msg: string, pid = 1): string => `${new Date(T0 + t * 1000).toISOString()} w sshd[${pid}]: ${msg}`;

  it('the brute-force alert lists every user tried, not the last one', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const users = ['root', 'admin', 'oracle', 'test', 'ubuntu'];
    const alerts = users.flatMap(
      (u, i) => engine.handle(line(i, `Failed password for invalid user ${u} from 198.51.100.9 port ${i} ssh2`, 10 + i), { file: 'f', lineNumber: i + 1 }).alerts,
    );
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.labels.users, 'root, admin, oracle, test, ubuntu');
    assert.equal(alerts[0]?.labels.user, undefined, 'no single user to name');
    assert.equal(alerts[0]?.labels.host, '198.51.100.9');
  });

  it('a key that has seen one failure shows it whole: to success-after-failures, and once it grows', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h', successAfterFailures: { failures: 1 } });
    const host = '198.51.100.30';
    const feedAll = (lines: string[]): Alert[] => lines.flatMap((l, i) => engine.handle(l, { file: 'f', lineNumber: i + 1 }).alerts);
    const [alert] = feedAll([line(0, `Failed password for bob from ${host} port 1 ssh2`, 1), line(1, `Accepted password for carol from ${host} port 2 ssh2`, 2)]);
    assert.equal(alert?.rule, 'auth.success-after-failures');
    assert.equal(alert.evidence?.length, 2);
    assert.match(alert.evidence?.[0] ?? '', /Failed password for bob/);
    assert.match(alert.summary, /bob/, 'the user tried');
    // The same key goes on counting from its one match: four more fire the brute-force alert with all five.
    const fired = feedAll([2, 3, 4, 5].map((n) => line(n, `Failed password for user${n} from ${host} port ${n} ssh2`, 10 + n))).filter((a) => a.rule === 'sshd.brute-force');
    assert.equal(fired.length, 1);
    assert.equal(fired[0]?.evidence?.length, 5);
    assert.match(fired[0]?.evidence?.[0] ?? '', /Failed password for bob/);
    assert.equal(fired[0]?.labels.users, 'bob, user2, user3, user4, user5');
    assert.match(fired[0]?.summary ?? '', /^5 matches for host 198\.51\.100\.30 between/);
  });

  it('a login from an address with failures in the window raises auth.success-after-failures, each time anew', () => {
    const engine = new RuleEngine({ rules: authRules, hostname: 'h' });
    const host = '198.51.100.20';
    const feedAll = (lines: string[]): Alert[] => lines.flatMap((l, i) => engine.handle(l, { file: 'f', lineNumber: i + 1 }).alerts);
    // Two failures and a login: everyday typos, no alert (the default needs 3).
    assert.deepEqual(
      feedAll([
        line(0, `Failed password for bob from ${host} port 1 ssh2`, 1),
        line(1, `Failed password for bob from ${host} port 2 ssh2`, 2),
        line(2, `Accepted password for bob from ${host} port 3 ssh2`, 3),
      ]),
      [],
    );
    const alerts = feedAll([line(10, `Failed password for root from ${host} port 4 ssh2`, 4), line(11, `Accepted password for alice from ${host} port 5 ssh2`, 5)]);
    const [alert] = alerts.filter((a) => a.rule === 'auth.success-after-failures');
    assert.ok(alert, 'three failures within 10 minutes, then a login');
    assert.equal(alert.severity, 'critical');
    assert.deepEqual({ host: alert.labels.host, user: alert.labels.user }, { host, user: 'alice' });
    assert.equal(alert.evidence?.length, 4, 'the three failures and the login');
    assert.match(alert.evidence?.[3] ?? '', /Accepted password for alice/);
    // A later break-in from the same address is a new event with its own key.
    const again = feedAll(
      [1, 2, 3]
        .map((n) => line(20 + n, `Failed password for root from ${host} port ${10 + n} ssh2`, 10 + n))
        .concat(line(30, `Accepted password for root from ${host} port 20 ssh2`, 20)),
    );
    const second = again.find((a) => a.rule === 'auth.success-after-failures');
    assert.ok(second);
    assert.notEqual(second.key, alert.key);
    // Off when asked; outside the window, nothing.
    const off = new RuleEngine({ rules: authRules, hostname: 'h', successAfterFailures: false });
    const lines = [0, 1, 2]
      .map((n) => line(n, `Failed password for root from ${host} port ${n} ssh2`, 40 + n))
      .concat(line(3, `Accepted password for root from ${host} port 9 ssh2`, 49));
    assert.deepEqual(
      lines.flatMap((l, i) => off.handle(l, { file: 'f', lineNumber: i }).alerts).filter((a) => a.rule === 'auth.success-after-failures'),
      [],
    );
    const late = new RuleEngine({ rules: authRules, hostname: 'h' });
    const lateLines = [0, 1, 2]
      .map((n) => line(n, `Failed password for root from ${host} port ${n} ssh2`, 50 + n))
      .concat(line(700, `Accepted password for root from ${host} port 9 ssh2`, 59));
    assert.deepEqual(
      lateLines.flatMap((l, i) => late.handle(l, { file: 'f', lineNumber: i }).alerts).filter((a) => a.rule === 'auth.success-after-failures'),
      [],
    );
  });
});

describe('RuleEngine: connections of a logging host whose clock is behind', () => {
  it('counts an attempt that waited for its address although another host in the same file logs an hour later', () => {
    // One file, two logging hosts: `remote` forwards lines stamped an hour behind (its
    // clock or time zone). Its connection's host-less attempt waits for the address,
    // which the close of the same connection names a second later in remote's time.
    const engine = new RuleEngine({ rules: authRules, hostname: 'web1', clock: () => T0 });
    const lines = [
      `${iso(T0 - 3_600_000)} remote sshd[700]: Disconnecting: Too many authentication failures [preauth]`,
      `${iso(T0)} web1 sshd[900]: Failed password for root from 203.0.113.9 port 4122 ssh2`,
      `${iso(T0 - 3_600_000 + 1000)} remote sshd[700]: Connection closed by authenticating user root 192.0.2.1 port 52146 [preauth]`,
    ];
    const attempts = lines.flatMap((line, i) => engine.handle(line, { file: 'auth.log', lineNumber: i + 1 }).attempts.map((m) => [m.rule.id, m.fields.host]));
    assert.deepEqual(attempts, [
      ['sshd.failed-auth', '203.0.113.9'],
      ['sshd.too-many-failures-legacy', '192.0.2.1'],
    ]);
  });
});
