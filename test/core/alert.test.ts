import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { createAlert, InvalidOptionError, resolveAlert, type Alert } from '../../src/index.js';

describe('createAlert', () => {
  it('fills every default from source, rule, severity and title', () => {
    const before = Date.now();
    const alert = createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'SSH brute force' });
    assert.match(alert.id, /^[0-9a-f-]{36}$/);
    assert.equal(alert.key, 'log:sshd.brute-force');
    assert.equal(alert.status, 'firing');
    assert.equal(alert.summary, 'SSH brute force');
    assert.equal(alert.hostname, hostname());
    assert.deepEqual(alert.labels, {});
    assert.ok(alert.time instanceof Date);
    assert.ok(alert.time.getTime() >= before && alert.time.getTime() <= Date.now());
    assert.equal('evidence' in alert, false);
  });

  it('gives every occurrence its own id', () => {
    const init = { source: 'resource', rule: 'cpu.high', severity: 'warning', title: 'CPU high' } as const;
    assert.notEqual(createAlert(init).id, createAlert(init).id);
  });

  it('keeps every override', () => {
    const time = new Date('2024-03-01T00:00:00Z');
    const alert = createAlert({
      source: 'log',
      rule: 'sshd.brute-force',
      severity: 'critical',
      title: 'SSH brute force from 203.0.113.5',
      id: 'fixed-id',
      key: 'log:sshd.brute-force:203.0.113.5',
      status: 'resolved',
      summary: '6 failures in 10m',
      hostname: 'web-1',
      time,
      labels: { host: '203.0.113.5' },
      evidence: ['Failed password for root from 203.0.113.5'],
    });
    assert.deepEqual(alert, {
      id: 'fixed-id',
      key: 'log:sshd.brute-force:203.0.113.5',
      source: 'log',
      rule: 'sshd.brute-force',
      severity: 'critical',
      status: 'resolved',
      title: 'SSH brute force from 203.0.113.5',
      summary: '6 failures in 10m',
      hostname: 'web-1',
      time,
      labels: { host: '203.0.113.5' },
      evidence: ['Failed password for root from 203.0.113.5'],
    } satisfies Alert);
  });

  it('copies labels and evidence so later changes to the input do not leak in', () => {
    const labels = { user: 'root' };
    const evidence = ['line 1'];
    const alert = createAlert({ source: 'log', rule: 'r', severity: 'info', title: 't', labels, evidence });
    labels.user = 'eve';
    evidence.push('line 2');
    assert.deepEqual(alert.labels, { user: 'root' });
    assert.deepEqual(alert.evidence, ['line 1']);
  });

  it('lets an explicit undefined (from JavaScript) fall back to the default', () => {
    const init = { source: 'file', rule: 'file.hash-match', severity: 'critical', title: 'Bad file', key: undefined };
    const alert = createAlert(init as unknown as Parameters<typeof createAlert>[0]);
    assert.equal(alert.key, 'file:file.hash-match');
  });

  it('rejects a bad severity or a missing field, naming it', () => {
    assert.throws(
      () => createAlert({ source: 'log', rule: 'r', severity: 'fatal' as 'info', title: 't' }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'severity' && /"fatal"/.test(error.message),
    );
    assert.throws(
      () => createAlert({ source: 'log', rule: '', severity: 'info', title: 't' }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'rule',
    );
    assert.throws(
      () => createAlert({ source: 'log', rule: 'r', severity: 'info', title: 't', time: new Date('nope') }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'time',
    );
  });
});

describe('resolveAlert', () => {
  it('keeps the identity and marks the notice resolved', () => {
    const firing = createAlert({ source: 'resource', rule: 'cpu.high', severity: 'warning', title: 'CPU 93 %', labels: { host: 'web-1' } });
    const time = new Date(firing.time.getTime() + 60_000);
    const resolved = resolveAlert(firing, { time, summary: 'CPU back to 40 %' });
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.key, firing.key);
    assert.equal(resolved.rule, firing.rule);
    assert.notEqual(resolved.id, firing.id);
    assert.equal(resolved.time, time);
    assert.equal(resolved.title, 'Resolved: CPU 93 %');
    assert.equal(resolved.summary, 'CPU back to 40 %');
    assert.deepEqual(resolved.labels, { host: 'web-1' });
    assert.equal(firing.status, 'firing');
  });
});
