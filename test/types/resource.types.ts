// Type tests for ResourceMonitor: checked by `tsc --noEmit`, never run.
import { ResourceMonitor, type ResourceRule, type ResourceSample, type ResourceSampleSource } from '../../src/index.js';

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
