import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alert } from '../../src/index.js';
import type { LogMatch, LogRule } from '../../src/logwatcher/rule.js';
import { ThresholdTracker, type FailureRecord, type ThresholdSpec } from '../../src/logwatcher/threshold.js';
import { ThresholdTracker as ReferenceTracker } from './fixtures/threshold-f2c0504.js';
import { mulberry32 } from '../helpers/prng.js';

// The per-alert-rule tables and the one-match form were meant to keep the tracker's
// behaviour exactly: random streams are fed to it and to the tracker as it was before
// (f2c0504), and every alert and every peek must be the same.

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;

function spec(alertRule: string, count: number, within: number, groupBy: string | undefined, resolveAfter = within): ThresholdSpec {
  return Object.freeze({ alertRule, count, within, groupBy, resolveAfter, severity: 'warning', title: undefined, description: `${alertRule} seen` });
}

/** Several rules feeding alert rules grouped by host, user and nothing; two share one alert rule. */
const SPECS: readonly ThresholdSpec[] = [
  spec('ssh.brute', 3, 2 * MIN, 'host', 4 * MIN),
  spec('ssh.brute', 3, 2 * MIN, 'host', 4 * MIN),
  spec('ssh.users', 2, MIN, 'user'),
  spec('ssh.any', 4, 3 * MIN, undefined, MIN),
  spec('ssh.once', 1, MIN, 'host'),
];
const RULE_IDS = ['sshd-failed', 'sshd-invalid', 'pam-fail', 'sshd-any', 'sshd-once'];
const HOSTS = ['203.0.113.5', '203.0.113.6', '2001:db8::1', 'evil.example', '198.51.100.7'];
const USERS = ['root', 'admin', 'oracle', 'x\u202ey', 'a\nb'];

interface Step {
  readonly spec: ThresholdSpec;
  readonly match: LogMatch;
  readonly t: number;
  readonly weight: number;
  readonly sweep: 'none' | 'line' | 'forced';
}

function randomStream(rand: () => number, n: number, hosts: readonly string[]): Step[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const steps: Step[] = [];
  let t = T0;
  for (let i = 0; i < n; i++) {
    const r = rand();
    // Mostly forward by seconds, sometimes backwards (several files), sometimes a quiet gap that resolves.
    if (r < 0.7) t += Math.floor(rand() * 20_000);
    else if (r < 0.85) t -= Math.floor(rand() * 60_000);
    else if (r < 0.95) t += Math.floor(rand() * 6 * MIN);
    else t += 30 * MIN;
    const which = Math.floor(rand() * SPECS.length);
    const s = SPECS[which] as ThresholdSpec;
    const fields: Record<string, string> = {};
    if (rand() < 0.9) fields.host = pick(hosts);
    if (rand() < 0.7) fields.user = pick(USERS);
    const rule = { id: RULE_IDS[which] as string, description: 'x', severity: 'warning' } as unknown as LogRule;
    const match: LogMatch = {
      rule,
      line: `line ${i} ${fields.host ?? '-'} ${fields.user ?? '-'}${rand() < 0.05 ? 'y'.repeat(1200) : ''}`,
      file: 'auth.log',
      lineNumber: i + 1,
      time: new Date(t),
      fields,
    };
    if (rand() < 0.5) match.program = 'sshd';
    const weight = rand() < 0.85 ? 1 : 2 + Math.floor(rand() * 4);
    const sr = rand();
    steps.push({ spec: s, match, t, weight, sweep: sr < 0.6 ? 'line' : sr < 0.65 ? 'forced' : 'none' });
  }
  return steps;
}

/** An alert without its random id. */
function comparable(alerts: readonly Alert[]): unknown[] {
  return alerts.map(({ id: _id, ...rest }) => rest);
}

function peekComparable(r: FailureRecord | { times: readonly number[]; users: ReadonlySet<string> } | undefined): unknown {
  if (r === undefined) return undefined;
  return { ...r, times: [...r.times], users: [...r.users], evidence: [...(r as FailureRecord).evidence] };
}

function replay(seed: number, n: number, maxKeys: number, maxEvidence: number, hosts: readonly string[] = HOSTS): void {
  const rand = mulberry32(seed); // seeded: a failing seed can be replayed
  const steps = randomStream(rand, n, hosts);
  const mine = new ThresholdTracker('web1', maxEvidence, maxKeys);
  const ref = new ReferenceTracker('web1', maxEvidence, maxKeys);
  steps.forEach((step, i) => {
    const a: Alert[] = [];
    const b: Alert[] = [];
    mine.observe(step.spec, step.match, step.t, step.weight, a);
    ref.observe(step.spec, step.match, step.t, step.weight, b);
    if (step.sweep !== 'none') {
      mine.sweep(step.t, a, step.sweep === 'forced');
      ref.sweep(step.t, b, step.sweep === 'forced');
    }
    const where = `seed ${seed}, step ${i} (maxKeys ${maxKeys}, maxEvidence ${maxEvidence})`;
    assert.deepEqual(comparable(a), comparable(b), `alerts differ at ${where}`);
    assert.equal(mine.size, ref.size, `size differs at ${where}`);
    assert.equal(mine.nextDeadline, ref.nextDeadline, `nextDeadline differs at ${where}`);
    for (const host of HOSTS) {
      assert.deepEqual(peekComparable(mine.peek('ssh.brute', host)), peekComparable(ref.peek('ssh.brute', host)), `peek(${host}) differs at ${where}`);
    }
  });
  const endA: Alert[] = [];
  const endB: Alert[] = [];
  const end = (steps.at(-1)?.t ?? T0) + 60 * MIN;
  mine.sweep(end, endA, true);
  ref.sweep(end, endB, true);
  assert.deepEqual(comparable(endA), comparable(endB), `final sweep differs, seed ${seed}`);
}

describe('ThresholdTracker eviction', () => {
  it('evicts the key updated longest ago, not the one a late file just updated (which fired and would be resolved at once)', () => {
    const tracker = new ThresholdTracker('web1', 3, 2);
    const once = SPECS[4] as ThresholdSpec;
    const rule = { id: 'sshd-once', description: 'x', severity: 'warning' } as unknown as LogRule;
    const at = (host: string, t: number): LogMatch => ({ rule, line: `from ${host}`, file: 'a.log', lineNumber: 1, time: new Date(t), fields: { host } });
    const alerts: Alert[] = [];
    tracker.observe(once, at('203.0.113.1', T0 + 10 * MIN), T0 + 10 * MIN, 1, alerts);
    tracker.observe(once, at('203.0.113.2', T0 + 10 * MIN), T0 + 10 * MIN, 1, alerts);
    alerts.length = 0;
    // A line of an older file (log time behind the others) opens a third key, of another alert rule, over maxKeys 2.
    tracker.observe(spec('ssh.other', 1, MIN, 'host'), at('203.0.113.3', T0), T0, 1, alerts);
    assert.deepEqual(
      alerts.map((a) => [a.status, a.key]),
      [
        ['firing', 'log:ssh.other:203.0.113.3'],
        ['resolved', 'log:ssh.once:203.0.113.1'],
      ],
    );
    assert.equal(tracker.peek('ssh.other', '203.0.113.3')?.firing, true);
  });
});

describe('ThresholdTracker against the tracker before the per-rule tables (f2c0504)', () => {
  it('gives the same alerts, sizes and peeks for random streams with room for every key', () => {
    for (let seed = 1; seed <= 100; seed++) replay(seed, 300, 10_000, 3);
  });

  it('gives the same alerts, sizes and peeks when maxKeys is small enough to evict', () => {
    for (let seed = 1; seed <= 200; seed++) replay(seed, 300, 2 + (seed % 6), 1 + (seed % 4));
  });

  it('gives the same alerts over streams long enough for the periodic prune (every 4,096 matches)', () => {
    const hosts = Array.from({ length: 300 }, (_, i) => `198.51.100.${i % 256}${i >= 256 ? ':x' : ''}`).concat(HOSTS);
    for (let seed = 1; seed <= 4; seed++) replay(seed, 9000, seed % 2 === 0 ? 10_000 : 150, 2, hosts);
  });
});
