// Notifier benchmarks: notify() throughput with and without the fsync'd outbox, and memory
// during a 100,000-alert storm over 1,000 keys. Run: npm run bench -- notifier
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier, createAlert, type Alert, type Channel, type Notification } from '../src/index.js';

/** A local sink: counts messages and alerts, answers at once. */
class Sink implements Channel {
  readonly name = 'sink';
  readonly minSeverity = 'info' as const;
  readonly rateLimit = { perSecond: 1_000_000, burst: 1_000_000 };
  messages = 0;
  alerts = 0;
  async send(notification: Notification): Promise<void> {
    this.messages++;
    this.alerts += notification.alerts.length;
  }
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

function alerts(count: number, keys: number): Alert[] {
  const time = new Date();
  return Array.from({ length: count }, (_, i) =>
    createAlert({
      source: 'log',
      rule: `sshd.brute-force.${i % 5}`,
      severity: 'critical',
      key: `log:sshd:203.0.${Math.floor((i % keys) / 256)}.${(i % keys) % 256}`,
      title: `SSH brute force from 203.0.${Math.floor((i % keys) / 256)}.${(i % keys) % 256}`,
      labels: { host: `203.0.${Math.floor((i % keys) / 256)}.${(i % keys) % 256}`, user: 'root' },
      evidence: ['Failed password for root from 203.0.113.5 port 22 ssh2'],
      time,
    }),
  );
}

const rows: string[][] = [];

async function throughput(label: string, count: number, keys: number, outbox: boolean, concurrent: boolean): Promise<void> {
  const dir = outbox ? await mkdtemp(join(tmpdir(), 'hostwarden-bench-')) : undefined;
  const sink = new Sink();
  const notifier = new Notifier({ channels: [sink], groupWait: 50, ...(dir === undefined ? {} : { outbox: { directory: dir } }) });
  await notifier.start();
  const input = alerts(count, keys);
  const t0 = performance.now();
  if (concurrent) await Promise.all(input.map((a) => notifier.notify(a)));
  else for (const a of input) await notifier.notify(a);
  const accepted = performance.now() - t0;
  await notifier.flush();
  const delivered = performance.now() - t0;
  await notifier.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  rows.push([label, count.toLocaleString('en-US'), keys.toLocaleString('en-US'), rate(count, accepted), `${delivered.toFixed(0)} ms`, String(sink.messages), '']);
}

async function storm(count: number, keys: number): Promise<void> {
  const sink = new Sink();
  const notifier = new Notifier({ channels: [sink], groupWait: 100 });
  let suppressed = 0;
  notifier.on('suppressed', () => suppressed++);
  await notifier.start();
  gc();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const t0 = performance.now();
  // Generated in slices, as a real storm arrives, so the input itself is not measured.
  for (let done = 0; done < count; done += 1_000) {
    for (const a of alerts(1_000, keys)) await notifier.notify(a);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  await notifier.flush();
  const ms = performance.now() - t0;
  gc();
  const after = process.memoryUsage().heapUsed;
  await notifier.stop();
  rows.push([
    `storm (in memory), ${keys.toLocaleString('en-US')} keys`,
    count.toLocaleString('en-US'),
    keys.toLocaleString('en-US'),
    rate(count, ms),
    `${ms.toFixed(0)} ms`,
    `${sink.messages} (${sink.alerts} alerts, ${(sink.alerts / keys).toFixed(1)}/key; ${suppressed.toLocaleString('en-US')} suppressed)`,
    `heap +${mb(after - before)} retained, peak +${mb(peak - before)}`,
  ]);
}

await throughput('notify(), in memory, sequential', 100_000, 1_000, false, false);
await throughput('notify(), in memory, all unique keys', 20_000, 20_000, false, false);
await throughput('notify(), outbox (fsync), sequential await', 500, 500, true, false);
await throughput('notify(), outbox (fsync), 5,000 concurrent', 5_000, 5_000, true, true);
await storm(100_000, 1_000);

console.log('| case | alerts | keys | notify() accepted | until delivered | messages sent | memory |');
console.log('| --- | ---: | ---: | ---: | ---: | --- | --- |');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}; sink channel on the same process.`);
