// Type tests for ResourceMonitor: checked by `tsc --noEmit`, never run.
import { ResourceMonitor, type Health, type ResourceRule, type ResourceSample, type ResourceSampleSource, type Warning } from '../../src/index.js';

const monitor = new ResourceMonitor({ rules: [{ metric: 'disk.space', above: 90, mount: '/var/**' }], anomaly: { metrics: ['cpu'] } });
monitor.on('sample', (sample: ResourceSample) => {
  const percent: number | undefined = sample.cpu?.percent;
  const mounts: string[] = sample.disks.map((d) => d.mount);
  const inodes: number | null | undefined = sample.disks[0]?.inodesUsedPercent;
  // @ts-expect-error: cpu may be null on the first sample
  const direct: number = sample.cpu.percent;
  // @ts-expect-error: samples are read-only
  sample.scope = 'host';
  void [percent, mounts, inodes, direct];
});
monitor.on('alert', (alert) => alert.key.toUpperCase());
// @ts-expect-error: no such event
monitor.on('samples', () => {});

// @ts-expect-error: unknown metric
const bad: ResourceRule = { metric: 'gpu', above: 1 };
// @ts-expect-error: `above` is required
const incomplete: ResourceRule = { metric: 'cpu' };
// @ts-expect-error: scope is one of three
new ResourceMonitor({ scope: 'container' });
// @ts-expect-error: a source needs read()
const source: ResourceSampleSource = { name: 'x' };
void [bad, incomplete, source];

// The one Warning and Health shapes, and the one clock shape.
monitor.on('warning', (warning: Warning) => {
  const code: string = warning.code;
  const shown: string | undefined = warning.displayPath;
  void [code, shown];
});
monitor.on('health', (health: Health) => {
  const state: 'ok' | 'degraded' | 'stopped' = health.state;
  void state;
});
const health: Health = monitor.health();
new ResourceMonitor({ clock: () => 1_700_000_000_000, interval: '15s' });
// @ts-expect-error: the clock returns ms since the epoch, not a Date
new ResourceMonitor({ clock: () => new Date() });
// @ts-expect-error: v1's `now` is not an option (one clock name: `clock`)
new ResourceMonitor({ now: () => 0 });
void health;
