import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceMonitor, type Alert, type AnomalyOptions } from '../../src/index.js';
import { mulberry32 } from '../helpers/prng.js';
import { reading, ScriptedSource } from './helpers.js';

// A seeded PRNG and Box–Muller, so every "random" series is the same each run.
function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const clamp = (v: number): number => Math.min(100, Math.max(0, v));

/** Feeds a CPU series through a monitor with anomaly detection; returns alerts with the sample index. */
async function run(series: readonly number[], anomaly: AnomalyOptions = {}): Promise<{ index: number; alert: Alert }[]> {
  const source = new ScriptedSource();
  let now = 1_700_000_000_000;
  let index = -1;
  const monitor = new ResourceMonitor({ source, rules: [], hostname: 'db-1', topProcesses: 0, clock: () => now, anomaly: { metrics: ['cpu'], ...anomaly } });
  const alerts: { index: number; alert: Alert }[] = [];
  monitor.on('alert', (alert) => alerts.push({ index, alert }));
  for (const value of series) {
    index++;
    now += 10_000;
    source.reading = reading({ cpu: value });
    await monitor.sample();
  }
  await monitor.stop();
  return alerts;
}

const noise = (n: number, mean: number, sd: number, seed: number): number[] => {
  const g = gaussian(seed);
  return Array.from({ length: n }, () => clamp(mean + sd * g()));
};

describe('anomaly detection on synthetic series', () => {
  it('noise: stays quiet on stationary noise, however long', async () => {
    assert.deepEqual(await run(noise(3000, 40, 3, 1)), []);
    assert.deepEqual(await run(noise(3000, 50, 8, 2)), []);
  });

  it('spike: fires on the second departing sample and resolves when the value returns', async () => {
    const series = [...noise(100, 20, 2, 3), 95, 96, 94, ...noise(50, 20, 2, 4)];
    const alerts = await run(series);
    assert.deepEqual(
      alerts.map(({ index, alert }) => [index, alert.status, alert.rule]),
      [
        [101, 'firing', 'anomaly.cpu'],
        [103, 'resolved', 'anomaly.cpu'],
      ],
    );
    const firing = alerts[0]?.alert;
    assert.equal(firing?.key, 'resource:anomaly.cpu:db-1');
    assert.equal(firing?.severity, 'warning');
    assert.match(firing?.title ?? '', /^Anomaly: CPU at 96\.0 % vs\. baseline (19|20)\.\d % \(z \d+\.\d\)$/);
    assert.match(alerts[1]?.alert.title ?? '', /CPU back to its baseline/);
  });

  it('a single odd reading does not fire (two consecutive samples are needed)', async () => {
    assert.deepEqual(await run([...noise(100, 20, 2, 5), 95, ...noise(50, 20, 2, 6)]), []);
  });

  it('slow drift: follows a climb from 20 % to 70 % without alerting', async () => {
    const g = gaussian(7);
    const series = Array.from({ length: 1500 }, (_, i) => clamp(20 + (50 * i) / 1500 + 2 * g()));
    assert.deepEqual(await run(series), []);
  });

  it('step: fires once, then adapts to the new level and stays quiet', async () => {
    const series = [...noise(100, 20, 2, 8), ...noise(300, 60, 2, 9)];
    const alerts = await run(series);
    assert.deepEqual(
      alerts.map(({ index, alert }) => [index, alert.status]),
      [
        [101, 'firing'],
        [130, 'resolved'], // adaptAfter = 30 samples held
      ],
    );
    assert.match(alerts[1]?.alert.title ?? '', /settled at a new level/);
  });

  it('a sharp drop is a departure too', async () => {
    const alerts = await run([...noise(100, 70, 2, 10), 5, 4, 6, ...noise(20, 70, 2, 11)]);
    assert.deepEqual(
      alerts.map(({ index, alert }) => [index, alert.status]),
      [
        [101, 'firing'],
        [103, 'resolved'],
      ],
    );
  });

  it('learns during the warm-up without alerting', async () => {
    assert.deepEqual(await run([20, 21, 19, 95, 96, 97, 20, 21, ...noise(40, 20, 1, 12)]), []);
  });

  it('is tunable: a lower minDelta and zScore catch smaller departures', async () => {
    const series = [...noise(100, 20, 1, 13), 30, 31, 30, ...noise(20, 20, 1, 14)];
    assert.deepEqual(await run(series), [], 'a 10-point bump is below the default minDelta of 15');
    const sensitive = await run(series, { minDelta: 5, zScore: 3 });
    assert.deepEqual(
      sensitive.map(({ index, alert }) => [index, alert.status]),
      [
        [101, 'firing'],
        [103, 'resolved'],
      ],
    );
  });

  it('keys disk anomalies per mount', async () => {
    const source = new ScriptedSource();
    let now = 0;
    const monitor = new ResourceMonitor({ source, rules: [], clock: () => (now += 1000), hostname: 'h', anomaly: { metrics: ['disk.space'], warmup: 5 } });
    const alerts: Alert[] = [];
    monitor.on('alert', (a) => alerts.push(a));
    for (let i = 0; i < 10; i++) {
      source.reading = reading({ disks: { '/': 40, '/var': 30 } });
      await monitor.sample();
    }
    for (let i = 0; i < 2; i++) {
      source.reading = reading({ disks: { '/': 40, '/var': 80 } });
      await monitor.sample();
    }
    assert.deepEqual(
      alerts.map((a) => [a.key, a.status]),
      [['resource:anomaly.disk.space:/var', 'firing']],
    );
    await monitor.stop();
  });
});
