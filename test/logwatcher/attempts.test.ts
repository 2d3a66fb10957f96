import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttemptCounter, NO_CONNECTION, ipv4Number, ipv4Text } from '../../src/logwatcher/attempts.js';
import { mulberry32 } from '../helpers/prng.js';
import type { LogMatch, LogRule } from '../../src/logwatcher/rule.js';

const RULE = { id: 'test.rule', description: 'test', severity: 'warning', tags: ['auth-failure'], pattern: /x/ } as unknown as LogRule;
const T0 = Date.parse('2024-03-01T00:00:00Z');

function match(pid: number | undefined, host?: string, program = 'sshd', file = 'auth.log'): LogMatch {
  const fields: Record<string, string> = {};
  if (host !== undefined) fields.host = host;
  const m: LogMatch = { rule: RULE, line: `sshd[${pid}]: from ${host ?? '?'}`, file, lineNumber: 1, time: new Date(T0), fields, program, syslogHost: 'web1' };
  if (pid !== undefined) m.pid = pid;
  return m;
}

/** The address a connection remembers, read back through a host-less auth failure. */
function hostOf(counter: AttemptCounter, conn: number): string | undefined {
  const probe = match(1);
  counter.address(conn, probe, true);
  return probe.fields.host;
}

describe('AttemptCounter: the connection table', () => {
  it('keeps at most maxConnections slots', () => {
    assert.equal(new AttemptCounter(16_384).capacity, 16_384);
    assert.ok(new AttemptCounter(100).capacity <= 100);
    assert.equal(new AttemptCounter(1).capacity, 1);
  });

  it('finds a connection again after many others opened (fewer than the table holds)', () => {
    const counter = new AttemptCounter(16_384);
    const first = counter.connection(match(4242, '198.51.100.7'), T0);
    counter.address(first, match(4242, '198.51.100.7'), true);
    // 1,024 other connections: 1/16 of the table, so the first one's bucket keeps it.
    for (let pid = 10_000; pid < 11_024; pid++) counter.address(counter.connection(match(pid, `10.0.${pid >> 8}.${pid & 255}`), T0 + 1), match(pid, '10.9.9.9'), true);
    const again = counter.connection(match(4242), T0 + 2, false);
    assert.notEqual(again, NO_CONNECTION);
    assert.equal(hostOf(counter, again), '198.51.100.7');
  });

  it('forgets the least recently used connections once more open than it holds', () => {
    const counter = new AttemptCounter(64);
    counter.connection(match(1, '198.51.100.7'), T0);
    for (let pid = 100; pid < 100 + 64 * 16; pid++) counter.connection(match(pid), T0);
    assert.equal(counter.connection(match(1), T0, false), NO_CONNECTION);
  });

  it('in a full bucket, replaces the connection used least recently', () => {
    const counter = new AttemptCounter(8); // one bucket of 8
    for (let pid = 1; pid <= 8; pid++) counter.address(counter.connection(match(pid), T0), match(pid, `198.51.100.${pid}`), true);
    assert.equal(hostOf(counter, counter.connection(match(1), T0 + 1, false)), '198.51.100.1'); // used again: now the most recent
    counter.connection(match(9), T0 + 2);
    assert.equal(counter.connection(match(2), T0 + 3, false), NO_CONNECTION, 'the least recently used one went');
    assert.equal(hostOf(counter, counter.connection(match(1), T0 + 3, false)), '198.51.100.1');
  });

  it('treats a pid idle for more than 10 minutes as a new connection (the pid was reused)', () => {
    const counter = new AttemptCounter(1024);
    const conn = counter.connection(match(77, '198.51.100.7'), T0);
    counter.address(conn, match(77, '198.51.100.7'), true);
    assert.equal(hostOf(counter, counter.connection(match(77), T0 + 5 * 60_000)), '198.51.100.7');
    const reused = counter.connection(match(77), T0 + 5 * 60_000 + 10 * 60_000 + 1);
    assert.notEqual(reused, NO_CONNECTION);
    assert.equal(hostOf(counter, reused), undefined, 'the old connection is forgotten');
    assert.equal(counter.connection(match(78), T0 + 60 * 60_000, false), NO_CONNECTION, 'a close of an unknown connection is not remembered');
  });

  it('tells apart the same pid of another program, logging host or file, and pids 2^32 apart', () => {
    const counter = new AttemptCounter(1024);
    const a = counter.connection(match(500, '198.51.100.1'), T0);
    counter.address(a, match(500, '198.51.100.1'), true);
    for (const other of [match(500, undefined, 'sshd-session'), match(500, undefined, 'sshd', 'other.log'), { ...match(500), syslogHost: 'web2' }, match(500 + 2 ** 32)]) {
      const conn = counter.connection(other, T0);
      assert.notEqual(conn, a);
      assert.equal(hostOf(counter, conn), undefined);
    }
    assert.equal(hostOf(counter, counter.connection(match(500), T0, false)), '198.51.100.1');
  });

  it('has no connection for a line without a pid or with a pid no process can have', () => {
    const counter = new AttemptCounter(1024);
    assert.equal(counter.connection(match(undefined), T0), NO_CONNECTION);
    assert.equal(counter.connection(match(2 ** 40), T0), NO_CONNECTION);
    assert.deepEqual(counter.classify(NO_CONNECTION, match(undefined), 'each').length, 1, 'counted as its own attempt');
  });
});

describe('AttemptCounter: the address a connection keeps', () => {
  it('gives host-less lines the address an earlier line named, IPv4, IPv6 or a name', () => {
    const counter = new AttemptCounter(1024);
    for (const [pid, host] of [
      [1, '198.51.100.7'],
      [2, '2001:db8::1:2'],
      [3, 'gateway.example.net'],
      [4, '0.0.0.0'],
      [5, '255.255.255.255'],
      [6, '010.1.1.1'],
    ] as const) {
      counter.address(counter.connection(match(pid), T0), match(pid, host), true);
      const later = match(pid);
      counter.address(counter.connection(later, T0 + 1), later, true);
      assert.equal(later.fields.host, host);
      const notAFailure = match(pid);
      counter.address(counter.connection(notAFailure, T0 + 2), notAFailure, false);
      assert.equal(notAFailure.fields.host, undefined, 'only auth failures are filled in');
    }
  });

  it('reads a line that names two addresses the way that agrees with the connection', () => {
    const counter = new AttemptCounter(1024);
    const conn = counter.connection(match(9), T0);
    counter.address(conn, match(9, '198.51.100.7'), true);
    const twoWays: LogMatch = { ...match(9, '10.9.9.9'), line: 'Failed password for x from 198.51.100.7 port 22 ssh2: from 10.9.9.9 port 1 ssh2' };
    counter.address(conn, twoWays, true);
    assert.equal(twoWays.fields.host, '198.51.100.7');
    const other: LogMatch = { ...match(9, '10.9.9.9'), line: 'Failed password for x from 10.9.9.9 port 22 ssh2' };
    counter.address(conn, other, true);
    assert.equal(other.fields.host, '10.9.9.9', 'a line with only another address keeps it');
  });

  it('keeps exactly the canonical dotted quads as numbers, and they read back the same', () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const value = Math.floor(rand() * 2 ** 32);
      assert.equal(ipv4Number(ipv4Text(value)), value);
    }
    for (const text of ['1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1..3.4', '1.2.3.4.', '.1.2.3', '1.2.3.-4', '1.2.3.4 ', '１.2.3.4', '::ffff:1.2.3.4', '1.2.3.1000']) {
      assert.equal(ipv4Number(text), -1, text);
    }
  });
});

describe('AttemptCounter: matches held by quiet connections', () => {
  it('lets go of them once the connection is quiet for 10 minutes, and not before', () => {
    const counter = new AttemptCounter(16_384);
    const pam = (pid: number, user: string): LogMatch => ({ ...match(pid, '198.51.100.7'), fields: { host: '198.51.100.7', user } });
    for (let pid = 1; pid <= 100; pid++) counter.classify(counter.connection(pam(pid, 'bob'), T0 + pid), pam(pid, 'bob'), 'unconfirmed');
    assert.equal(counter.holding, 100);
    // Pids 7 and 8 go on 5 minutes later (another PAM failure for the same user: still unconfirmed).
    for (const pid of [7, 8]) counter.classify(counter.connection(pam(pid, 'bob'), T0 + 5 * 60_000), pam(pid, 'bob'), 'unconfirmed');
    counter.connection(match(5000), T0 + 10 * 60_000 + 200);
    assert.equal(counter.holding, 2, 'the 98 quiet ones let go; pids 7 and 8 were active 5 minutes ago');
    // A held failure still counts when its connection then fails for another user.
    const counted = counter.classify(counter.connection(pam(8, 'alice'), T0 + 10 * 60_000 + 300), pam(8, 'alice'), 'unconfirmed');
    assert.equal(counted.length, 3, 'two held for bob and the one for alice');
    assert.equal(counter.holding, 1);
    // Pid 7, quiet since minute 5, lets go once that is 10 minutes ago.
    counter.connection(match(5001), T0 + 15 * 60_000 - 1);
    assert.equal(counter.holding, 1);
    counter.connection(match(5002), T0 + 15 * 60_000 + 1);
    assert.equal(counter.holding, 0);
  });
});

describe('AttemptCounter: held matches with files whose log times differ', () => {
  const MIN = 60_000;
  const pam = (pid: number, user: string, file: string): LogMatch => ({ ...match(pid, '198.51.100.7', 'sshd', file), fields: { host: '198.51.100.7', user } });

  it("keeps a backlog file connection's PAM failures while a live file runs an hour ahead", () => {
    const counter = new AttemptCounter(16_384);
    // auth.log.1 is drained from its backlog (an hour old) while auth.log brings live lines.
    counter.classify(counter.connection(pam(300, 'bob', 'auth.log.1'), T0), pam(300, 'bob', 'auth.log.1'), 'unconfirmed');
    counter.connection(match(900, '203.0.113.9', 'sshd', 'auth.log'), T0 + 60 * MIN);
    // The backlog goes on a second later in its own time: the same connection fails for alice.
    const counted = counter.classify(counter.connection(pam(300, 'alice', 'auth.log.1'), T0 + 1000), pam(300, 'alice', 'auth.log.1'), 'unconfirmed');
    assert.equal(counted.length, 2, "bob's held failure and alice's both count");
  });

  it("keeps a backlog file connection's attempts waiting for its address while a live file runs an hour ahead", () => {
    const counter = new AttemptCounter(16_384);
    const waiting = match(301, undefined, 'sshd', 'auth.log.1');
    const conn = counter.connection(waiting, T0);
    counter.wait(conn, waiting);
    counter.connection(match(901, '203.0.113.9', 'sshd', 'auth.log'), T0 + 60 * MIN);
    const named = match(301, '198.51.100.7', 'sshd', 'auth.log.1');
    const again = counter.connection(named, T0 + 1000);
    counter.address(again, named, true);
    assert.deepEqual(
      counter.release(again).map((m) => m.fields.host),
      ['198.51.100.7'],
    );
  });
});

describe('AttemptCounter: the scope table starting over', () => {
  it('after 4,096 scopes, a new scope reusing an old id finds none of the old connections', () => {
    const counter = new AttemptCounter(16_384);
    const first = counter.connection(match(5, '198.51.100.7'), T0);
    counter.address(first, match(5, '198.51.100.7'), true);
    const pam: LogMatch = { ...match(5, '198.51.100.7'), fields: { host: '198.51.100.7', user: 'bob' } };
    counter.classify(first, pam, 'unconfirmed');
    // Forged logging host names: 4,095 more scopes fill the table of scopes (auth.log/web1/sshd is the first).
    for (let i = 1; i < 4096; i++) counter.connection({ ...match(9), syslogHost: `forged${i}` }, T0 + 1);
    // The next one starts over: it gets id 1, the id of the first scope, whose connections are gone.
    const reused: LogMatch = { ...match(5), syslogHost: 'forged-last' };
    assert.equal(counter.connection(reused, T0 + 2, false), NO_CONNECTION);
    const conn = counter.connection(reused, T0 + 2);
    assert.equal(hostOf(counter, conn), undefined);
    const other: LogMatch = { ...reused, fields: { host: '198.51.100.7', user: 'alice' } };
    assert.equal(counter.classify(conn, other, 'unconfirmed').length, 0, "bob's held failure belonged to another connection");
    assert.equal(counter.holding, 1);
  });
});
