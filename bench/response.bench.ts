// Active-response benchmarks, each in a network namespace of its own (run as root):
//  1. log line → ban: 200 attackers × 5 failed SSH logins written at ~1,000 lines/s; the time
//     from each attacker's fifth line to its element appearing in the kernel (seen by
//     `nft monitor`), through LogWatcher → BanManager → NftablesBackend — and the same burst
//     through Debian's fail2ban (polling backend, nftables-allports action) in the same run;
//  2. new bans per second, sustained (50,000 bans);
//  3. restart with 20,000 active bans: process restart (table kept) and reboot (table gone).
//
//   npm run bench -- response            options: --attackers N  --no-fail2ban  --bans N  --latency-only  --no-journal
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { LogWatcher, authRules } from '../src/index.js';
import { BanManager } from '../src/response/ban-manager.js';
import { NftablesBackend } from '../src/response/nftables-backend.js';

const args = process.argv.slice(2);
const value = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const ATTACKERS = value('attackers', 200);
const BANS = value('bans', 50_000);
const WITH_F2B = !args.includes('--no-fail2ban');
const ONLY_LATENCY = args.includes('--latency-only');
const NO_JOURNAL = args.includes('--no-journal');

const namespaces: string[] = [];
function netns(tag: string): { name: string; nft: string[] } {
  const name = `hwbench-${tag}-${process.pid}`;
  spawnSync('ip', ['netns', 'add', name]);
  namespaces.push(name);
  return { name, nft: ['ip', 'netns', 'exec', name, 'nft'] };
}
function cleanup(): void {
  for (const name of namespaces.splice(0)) spawnSync('ip', ['netns', 'del', name]);
}
process.on('exit', cleanup);

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const ms = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : 'n/a');

const attackers = Array.from({ length: ATTACKERS }, (_, i) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`);

// Syslog lines in local time, as sshd writes them (fail2ban compares them with its clock).
function syslogTime(date: Date): string {
  const month = date.toLocaleString('en-US', { month: 'short' });
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${month} ${String(date.getDate()).padStart(2, ' ')} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
const failure = (host: string, n: number): string =>
  `${syslogTime(new Date())} bench sshd[${10_000 + n}]: Failed password for invalid user admin${n % 50} from ${host} port ${30_000 + n} ssh2\n`;

/** Watches the kernel: resolves each address's first `add element` time (performance.now()). */
async function watchKernel(ns: string, table: string): Promise<{ added: Map<string, number>; stop: () => Promise<void>; ready: Promise<void> }> {
  const monitor = spawn('ip', ['netns', 'exec', ns, 'nft', 'monitor']);
  const added = new Map<string, number>();
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  readline.createInterface({ input: monitor.stdout }).on('line', (line) => {
    const at = performance.now();
    if (line.includes('hwready')) resolveReady();
    if (!line.startsWith('add element') || !line.includes(table)) return;
    const inner = /\{ (.*) \}/.exec(line)?.[1] ?? '';
    for (const part of inner.split(',')) {
      const address = part.trim().split(' ')[0];
      if (address && !added.has(address)) added.set(address, at);
    }
  });
  // The monitor is subscribed once it reports a change made after it started.
  const poke = setInterval(() => {
    spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: 'add table inet hwready\ndelete table inet hwready\n' });
  }, 50);
  await ready;
  clearInterval(poke);
  return {
    added,
    ready,
    stop: async () => {
      monitor.kill();
      if (monitor.exitCode === null) await once(monitor, 'close');
    },
  };
}

/** Writes 5 failures per attacker round-robin at ~1,000 lines/s; returns each attacker's fifth-line time. */
async function burst(file: string): Promise<Map<string, number>> {
  const fifth = new Map<string, number>();
  const lines: { host: string; round: number }[] = [];
  for (let round = 0; round < 5; round++) for (const host of attackers) lines.push({ host, round });
  const start = performance.now();
  let n = 0;
  while (n < lines.length) {
    // Catch up to 1 line per ms of elapsed time, in one append.
    const due = Math.min(lines.length, Math.floor(performance.now() - start) + 1);
    if (due > n) {
      const chunk = lines.slice(n, due);
      // The lines exist from the moment the write starts (a reader may see them before
      // appendFile's promise settles on a loaded machine).
      const at = performance.now();
      await appendFile(file, chunk.map((l, i) => failure(l.host, n + i)).join(''));
      for (const l of chunk) if (l.round === 4) fifth.set(l.host, at);
      n = due;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return fifth;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

let breakdown = '';

interface LatencyRow {
  readonly tool: string;
  readonly banned: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly nftRuns: string;
}

function latencies(fifth: Map<string, number>, added: Map<string, number>): number[] {
  const out: number[] = [];
  for (const [host, at] of fifth) {
    const banned = added.get(host);
    if (banned !== undefined) out.push(banned - at);
  }
  return out.sort((a, b) => a - b);
}

async function hostwardenLatency(dir: string): Promise<LatencyRow> {
  const { name, nft } = netns('hw');
  const log = join(dir, 'hw-auth.log');
  await writeFile(log, '');
  const backend = new NftablesBackend({ table: 'hwbench', nftCommand: nft });
  const bans = new BanManager({ backend, ...(NO_JOURNAL ? {} : { stateFile: join(dir, 'bans.jsonl') }), banTime: '1h', ignoreSshSession: false });
  const watcher = new LogWatcher({ files: [log], rules: authRules });
  bans.attach(watcher);
  bans.on('error', (e) => console.error('ban error', e.message));
  // Where the time goes: the LogWatcher's alert, then the manager's 'ban' (after the
  // journal's fsync and the nft transaction).
  const alerted = new Map<string, number>();
  const bannedEvent = new Map<string, number>();
  watcher.on('alert', (a) => {
    const host = a.labels['host'];
    if (host && !alerted.has(host)) alerted.set(host, performance.now());
  });
  bans.on('ban', ({ ban }) => bannedEvent.set(ban.address, performance.now()));
  await bans.start();
  await watcher.start();
  const kernel = await watchKernel(name, 'hwbench');
  const before = backend.transactions;
  const fifth = await burst(log);
  await waitUntil(() => kernel.added.size >= ATTACKERS, 10_000);
  await kernel.stop();
  await watcher.stop();
  await bans.stop();
  const l = latencies(fifth, kernel.added);
  const toAlert = latencies(fifth, alerted);
  const toEvent = latencies(fifth, bannedEvent);
  breakdown = `hostwarden breakdown (p50 / p99 from the fifth line): LogWatcher alert ${ms(quantile(toAlert, 0.5))} / ${ms(quantile(toAlert, 0.99))}, 'ban' event (journal fsync + nft committed) ${ms(quantile(toEvent, 0.5))} / ${ms(quantile(toEvent, 0.99))}, element seen by nft monitor ${ms(quantile(l, 0.5))} / ${ms(quantile(l, 0.99))}`;
  return {
    tool: 'hostwarden (LogWatcher → BanManager → nft -f)',
    banned: `${l.length}/${ATTACKERS}`,
    p50: quantile(l, 0.5),
    p99: quantile(l, 0.99),
    max: l.at(-1) ?? NaN,
    nftRuns: String(backend.transactions - before),
  };
}

async function fail2banLatency(dir: string): Promise<LatencyRow | string> {
  if (spawnSync('bash', ['-c', 'command -v fail2ban-server']).status !== 0) return 'fail2ban is not installed (apt-get install fail2ban): no comparison.';
  const { name } = netns('f2b');
  const conf = join(dir, 'f2b');
  // Debian's own configuration, read from the installed package at run time, plus a jail.
  await cp('/etc/fail2ban', conf, { recursive: true });
  const log = join(dir, 'f2b-auth.log');
  await writeFile(log, '');
  await writeFile(join(conf, 'fail2ban.local'), `[DEFAULT]\ndbfile = :memory:\nlogtarget = ${join(dir, 'f2b.log')}\n`);
  await writeFile(
    join(conf, 'jail.local'),
    `[DEFAULT]\nbackend = polling\nbanaction = nftables-allports\nbanaction_allports = nftables-allports\nbantime = 1h\nfindtime = 10m\nmaxretry = 5\n` +
      `[sshd]\nenabled = true\nport = ssh\nlogpath = ${log}\nbackend = polling\n`,
  );
  await rm(join(conf, 'jail.d'), { recursive: true, force: true });
  const sock = join(dir, 'f2b.sock');
  const server: ChildProcess = spawn('ip', ['netns', 'exec', name, 'fail2ban-server', '-f', '-x', '-c', conf, '-s', sock, '-p', join(dir, 'f2b.pid')], { stdio: 'ignore' });
  try {
    // Ready when the client's ping answers and the jail is up.
    await waitUntil(() => spawnSync('fail2ban-client', ['-c', conf, '-s', sock, 'status', 'sshd']).status === 0, 30_000);
    const kernel = await watchKernel(name, 'f2b-table');
    const fifth = await burst(log);
    await waitUntil(() => kernel.added.size >= ATTACKERS, 30_000);
    await kernel.stop();
    const l = latencies(fifth, kernel.added);
    return {
      tool: 'fail2ban 1.0 (polling, nftables-allports)',
      banned: `${l.length}/${ATTACKERS}`,
      p50: quantile(l, 0.5),
      p99: quantile(l, 0.99),
      max: l.at(-1) ?? NaN,
      nftRuns: `${l.length} (one per ban)`,
    };
  } finally {
    spawnSync('fail2ban-client', ['-c', conf, '-s', sock, 'stop']);
    if (server.exitCode === null) {
      const closed = once(server, 'close');
      setTimeout(() => server.kill('SIGKILL'), 10_000).unref();
      await closed;
    }
  }
}

async function throughputAndRestart(dir: string): Promise<string[]> {
  const { name, nft } = netns('tp');
  const stateFile = join(dir, 'tp.jsonl');
  const addresses = Array.from({ length: BANS }, (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  const backend = new NftablesBackend({ table: 'hwtp', nftCommand: nft });
  const bans = new BanManager({ backend, stateFile, banTime: '1h', ignoreSshSession: false });
  await bans.start();
  // Sustained: 1,000 bans in flight at any time, as alerts arrive, until all are in the kernel.
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < addresses.length) await bans.ban(addresses[next++] as string, { rule: 'bench' });
  };
  await Promise.all(Array.from({ length: 1000 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const transactions = backend.transactions;
  await bans.stop();
  const lines = [
    `new bans: ${BANS.toLocaleString('en')} in ${seconds.toFixed(2)} s = ${Math.round(BANS / seconds).toLocaleString('en')} bans/s (${transactions} nft transactions); goal ≥ 5,000/s`,
  ];
  // Keep 20,000 active for the restart: unban the rest in one go through a fresh manager.
  const keep = new BanManager({ backend: new NftablesBackend({ table: 'hwtp', nftCommand: nft }), stateFile, banTime: '1h', ignoreSshSession: false });
  await keep.start();
  await Promise.all(addresses.slice(20_000).map((a) => keep.unban(a)));
  await keep.stop();
  for (const [label, prepare] of [
    ['restart, table kept (process restart)', () => {}],
    ['restart, table gone (reboot)', () => spawnSync('ip', ['netns', 'exec', name, 'nft', 'delete', 'table', 'inet', 'hwtp'])],
  ] as const) {
    prepare();
    const b = new NftablesBackend({ table: 'hwtp', nftCommand: nft });
    const m = new BanManager({ backend: b, stateFile, banTime: '1h', ignoreSshSession: false });
    const s = performance.now();
    await m.start();
    const took = performance.now() - s;
    const report = m.reconcileReport;
    await m.stop();
    lines.push(
      `${label}: 20,000 bans ready in ${(took / 1000).toFixed(2)} s (added ${report?.added}, updated ${report?.updated}, removed ${report?.removed}; ${b.transactions} transaction); goal ≤ 2 s`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hw-response-bench-'));
  try {
    const rows: LatencyRow[] = [await hostwardenLatency(dir)];
    let note = '';
    if (WITH_F2B) {
      const f2b = await fail2banLatency(dir);
      if (typeof f2b === 'string') note = f2b;
      else rows.push(f2b);
    }
    console.log(
      `Log line → ban, ${ATTACKERS} attackers × 5 failures at ~1,000 lines/s (time from each attacker's fifth line to its element in the kernel, seen by nft monitor):\n`,
    );
    console.log('| tool | banned | p50 | p99 | max | nft runs |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.tool} | ${r.banned} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.nftRuns} |`);
    if (rows.length === 2) {
      const [hw, f2b] = rows as [LatencyRow, LatencyRow];
      console.log(`\np99 ratio fail2ban / hostwarden: ${(f2b.p99 / hw.p99).toFixed(1)}× (goal ≥ 15×; hostwarden p99 goal ≤ 100 ms)`);
    } else if (note) console.log(`\n${note}`);
    console.log(`\n${breakdown}`);
    console.log('');
    if (!ONLY_LATENCY) for (const line of await throughputAndRestart(dir)) console.log(`- ${line}`);
  } finally {
    cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
