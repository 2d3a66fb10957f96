// Fleet benchmarks: what HostwardenMetrics costs per event and per scrape, and how fast
// AlertmanagerChannel turns alerts into posts (against a local HTTP peer, so the numbers
// are the channel's own cost plus loopback HTTP, not Alertmanager's).
//
//   npm run bench -- fleet
//   options: --events N   --firing N
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { AlertmanagerChannel, HostwardenMetrics, createAlert, type Alert } from '../src/index.js';
import { alertmanagerAnnotations, alertmanagerLabels } from '../src/fleet/postable-alert.js';

const args = process.argv.slice(2);
const value = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const EVENTS = value('events', 1_000_000);
const FIRING = value('firing', 10_000);

const rows: { name: string; result: string; notes: string }[] = [];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? Number.NaN;

function alertFor(i: number): Alert {
  return createAlert({
    source: 'log',
    rule: `rule.${i % 20}`,
    severity: 'critical',
    title: `SSH brute force from 203.0.${(i >> 8) & 255}.${i & 255}`,
    summary: 'six failures in ten minutes',
    hostname: 'web-1',
    key: `log:rule.${i % 20}:${i}`,
    labels: { host: `203.0.${(i >> 8) & 255}.${i & 255}`, user: 'root', 'client-port': String(1024 + (i % 60_000)) },
    evidence: ['Failed password for root from 203.0.113.5 port 22 ssh2', 'Failed password for root from 203.0.113.5 port 22 ssh2'],
  });
}

// 1. Per-event cost of the metrics listeners ('match' is the hottest event: one per matched line).
{
  const matches = Array.from({ length: 20 }, (_, i) => ({ rule: { id: `sshd.rule-${i}` }, line: 'Failed password', fields: {} }));
  const run = (observe: boolean): number => {
    const emitter = new EventEmitter();
    emitter.on('match', () => {});
    const metrics = observe ? new HostwardenMetrics().observe(emitter) : undefined;
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i++) emitter.emit('match', matches[i % 20]);
    const ns = ((performance.now() - t0) * 1e6) / EVENTS;
    metrics?.close();
    return ns;
  };
  run(true); // warm-up
  const base = median([run(false), run(false), run(false)]);
  const observed = median([run(true), run(true), run(true)]);
  rows.push({
    name: "metrics: cost per 'match' event",
    result: `${(observed - base).toFixed(0)} ns`,
    notes: `${EVENTS.toLocaleString('en')} events over 20 rules; ${base.toFixed(0)} ns without metrics, ${observed.toFixed(0)} ns with`,
  });
}

// 2. Scrape cost with a busy host: 200 rules x 3 severities x 2 statuses, 50 mounts.
{
  const registry = new Registry();
  const emitter = new EventEmitter();
  const metrics = new HostwardenMetrics({ registry }).observe(emitter);
  for (let r = 0; r < 200; r++) {
    emitter.emit('match', { rule: { id: `rule.${r}` } });
    for (const severity of ['info', 'warning', 'critical']) {
      for (const status of ['firing', 'resolved']) emitter.emit('alert', { source: 'log', rule: `rule.${r}`, severity, status });
    }
  }
  const disks = Array.from({ length: 50 }, (_, i) => ({ mount: `/mnt/d${i}`, fsType: 'ext4', sizeBytes: 1e11, usedBytes: 5e10, usedPercent: 50, inodesUsedPercent: 10 }));
  emitter.emit('sample', { time: new Date(), cpu: { percent: 10 }, memory: { percent: 20 }, load: { onePerCore: 0.1 }, disks });
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    bytes = (await registry.metrics()).length;
    times.push(performance.now() - t0);
  }
  rows.push({
    name: 'metrics: one scrape (registry.metrics())',
    result: `${median(times).toFixed(2)} ms`,
    notes: `~1,450 series, ${(bytes / 1024).toFixed(0)} KiB of text; p99 ${p99(times).toFixed(2)} ms`,
  });
  metrics.close();
}

// 3. Mapping an Alert to Alertmanager labels and annotations.
{
  const alerts = Array.from({ length: 1_000 }, (_, i) => alertFor(i));
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const alert = alerts[i % 1_000] as Alert;
    alertmanagerLabels(alert);
    alertmanagerAnnotations(alert);
  }
  rows.push({
    name: 'channel: Alert to labels + annotations',
    result: `${(((performance.now() - t0) * 1e3) / n).toFixed(2)} µs`,
    notes: `${n.toLocaleString('en')} alerts, 7 labels, 2 evidence lines`,
  });
}

// 4. Posting to a local peer: one-alert send latency, and a re-send round of many firing alerts.
{
  let posts = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const channel = new AlertmanagerChannel({ urls: [url], maxAlerts: FIRING });
  const latencies: number[] = [];
  for (let i = 0; i < 500; i++) {
    const alert = alertFor(i);
    const t0 = performance.now();
    await channel.send({ status: 'firing', alerts: [alert], groupKey: alert.rule }, { signal: AbortSignal.timeout(10_000), attempt: 1 });
    latencies.push(performance.now() - t0);
  }
  rows.push({ name: 'channel: send() of one alert', result: `${median(latencies).toFixed(2)} ms`, notes: `median of 500 over loopback HTTP; p99 ${p99(latencies).toFixed(2)} ms` });

  for (let i = 500; i < FIRING; i += 500) {
    const batch = Array.from({ length: Math.min(500, FIRING - i) }, (_, j) => alertFor(i + j));
    await channel.send({ status: 'firing', alerts: batch, groupKey: 'bulk' }, { signal: AbortSignal.timeout(10_000), attempt: 1 });
  }
  const before = posts;
  const rounds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await channel.resend();
    rounds.push(performance.now() - t0);
  }
  rows.push({
    name: `channel: re-send round of ${FIRING.toLocaleString('en')} firing alerts`,
    result: `${median(rounds).toFixed(0)} ms`,
    notes: `${(posts - before) / 5} POSTs of up to 500 alerts each; median of 5`,
  });
  await channel.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

console.log('| benchmark | result | notes |');
console.log('| --- | --- | --- |');
for (const row of rows) console.log(`| ${row.name} | ${row.result} | ${row.notes} |`);
console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}.`);
