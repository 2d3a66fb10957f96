// The Linux sampler against fixture /proc and /sys trees in temp dirs: cgroup v1 and v2,
// vanished mounts, unreadable files, the /proc/mounts fallback.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IoError, ProcfsSampleSource, ResourceMonitor, type Alert, type ProcfsSampleSourceOptions, type Warning } from '../../src/index.js';

const MiB = 1024 * 1024;
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hostwarden-resource-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(base: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), text);
  }
}

/** One reading from a fresh source, closing its descriptors afterwards. */
async function readOnce(options: ProcfsSampleSourceOptions) {
  const source = new ProcfsSampleSource(options);
  try {
    return await source.read();
  } finally {
    await source.close();
  }
}

const escape = (p: string): string => p.replace(/ /g, '\\040');

/** A /proc tree for a 4-CPU host with 16 GiB and two "disks" that are temp dirs. */
async function procTree(name: string, cgroupFile: string): Promise<{ proc: string; sys: string; data: string; gone: string }> {
  const base = join(root, name);
  const data = join(base, 'mnt', 'data');
  const gone = join(base, 'mnt', 'gone');
  await mkdir(data, { recursive: true });
  await write(join(base, 'proc'), {
    stat: 'cpu  1000 0 1000 8000 0 0 0 0 0 0\ncpu0 250 0 250 2000 0 0 0 0 0 0\ncpu1 250 0 250 2000 0 0 0 0 0 0\ncpu2 250 0 250 2000 0 0 0 0 0 0\ncpu3 250 0 250 2000 0 0 0 0 0 0\n',
    meminfo: `MemTotal: ${16 * 1024 * 1024} kB\nMemFree: 1000 kB\nMemAvailable: ${4 * 1024 * 1024} kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n`,
    loadavg: '6.00 4.00 2.00 3/200 999\n',
    'self/cgroup': cgroupFile,
    'self/mountinfo': [
      `1 0 0:21 / /proc rw - proc proc rw`,
      `2 0 8:1 / ${escape(data)} rw - ext4 /dev/sda1 rw`,
      `3 0 8:2 / ${escape(gone)} rw - xfs /dev/sdb1 rw`,
      `4 0 0:30 / ${escape(join(base, 'tmp'))} rw - tmpfs tmpfs rw`,
    ].join('\n'),
  });
  return { proc: join(base, 'proc'), sys: join(base, 'sys'), data, gone };
}

/** Advances the fixture's CPU counters: +`busy` of 1000 ticks. */
async function advanceStat(proc: string, busy: number): Promise<void> {
  const idle = 8000 + (1000 - busy);
  await writeFile(join(proc, 'stat'), `cpu  ${1000 + busy} 0 1000 ${idle} 0 0 0 0 0 0\n` + [0, 1, 2, 3].map((i) => `cpu${i} 250 0 250 2000 0 0 0 0 0 0`).join('\n'));
}

describe('Linux sampler on fixture trees', () => {
  it('reads cgroup v2 limits (the smallest along the path) and usage', async () => {
    const t = await procTree('v2', '0::/system.slice/app.service\n');
    const group = 'fs/cgroup/system.slice/app.service';
    await write(t.sys, {
      'fs/cgroup/cgroup.controllers': 'cpu memory io\n',
      'fs/cgroup/system.slice/memory.max': `${384 * MiB}\n`,
      'fs/cgroup/system.slice/cpu.max': 'max 100000\n',
      [`${group}/memory.max`]: `${512 * MiB}\n`,
      [`${group}/memory.current`]: `${256 * MiB}\n`,
      [`${group}/memory.stat`]: `anon 100\nfile 200\ninactive_file ${64 * MiB}\nactive_file 5\n`,
      [`${group}/cpu.max`]: '50000 100000\n',
      [`${group}/cpu.stat`]: 'usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\n',
    });
    let now = 0;
    const source = new ProcfsSampleSource({ procRoot: t.proc, sysRoot: t.sys, clock: () => now });
    await source.open();
    await advanceStat(t.proc, 250);
    await writeFile(join(t.sys, group, 'cpu.stat'), 'usage_usec 1400000\n');
    now = 1000;
    const r = await source.read();
    assert.deepEqual(r.cgroup, {
      version: 2,
      path: '/system.slice/app.service',
      memory: { limitBytes: 384 * MiB, usageBytes: 256 * MiB, workingSetBytes: 192 * MiB, percent: 50 },
      cpu: { limitCpus: 0.5, usageCpus: 0.4, percent: 80, windowMs: 1000 },
    });
    assert.equal(r.cpu?.percent, 25);
    assert.equal(r.memory?.percent, 75);
    assert.deepEqual(r.load, { one: 6, five: 4, fifteen: 2, cores: 4, onePerCore: 1.5, fivePerCore: 1, fifteenPerCore: 0.5 });
    await source.close();
  });

  it('reads cgroup v1 (memory and cpu,cpuacct hierarchies)', async () => {
    const t = await procTree('v1', '12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n');
    await write(t.sys, {
      'fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${1024 * MiB}\n`,
      'fs/cgroup/memory/docker/abc/memory.usage_in_bytes': `${300 * MiB}\n`,
      'fs/cgroup/memory/docker/abc/memory.stat': `cache 5\ninactive_file 1\ntotal_inactive_file ${44 * MiB}\n`,
      'fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '200000\n',
      'fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
      'fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage': '5000000000\n',
    });
    let now = 0;
    const source = new ProcfsSampleSource({ procRoot: t.proc, sysRoot: t.sys, clock: () => now });
    await source.open();
    await writeFile(join(t.sys, 'fs/cgroup/cpu,cpuacct/docker/abc/cpuacct.usage'), '8000000000\n');
    now = 2000;
    const r = await source.read();
    assert.deepEqual(r.cgroup, {
      version: 1,
      path: '/docker/abc',
      memory: { limitBytes: 1024 * MiB, usageBytes: 300 * MiB, workingSetBytes: 256 * MiB, percent: 25 },
      cpu: { limitCpus: 2, usageCpus: 1.5, percent: 75, windowMs: 2000 },
    });
    await source.close();
  });

  it('reads a cgroup namespace whose /sys/fs/cgroup is the container itself', async () => {
    const t = await procTree('ns', '0::/\n');
    await write(t.sys, {
      'fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'fs/cgroup/memory.max': `${100 * MiB}\n`,
      'fs/cgroup/memory.current': `${90 * MiB}\n`,
      'fs/cgroup/memory.stat': 'inactive_file 0\n',
      'fs/cgroup/cpu.max': 'max 100000\n',
      'fs/cgroup/cpu.stat': 'usage_usec 10\n',
    });
    const r = await readOnce({ procRoot: t.proc, sysRoot: t.sys });
    assert.equal(r.cgroup?.memory?.limitBytes, 100 * MiB);
    assert.equal(r.cgroup?.memory?.percent, 90);
    assert.equal(r.cgroup?.cpu, null, 'no CPU window on the first reading');
  });

  it('reports no cgroup for the root group without limits (a plain host)', async () => {
    const t = await procTree('host', '0::/\n');
    await write(t.sys, { 'fs/cgroup/cgroup.controllers': 'cpu memory\n', 'fs/cgroup/cpu.stat': 'usage_usec 10\n' });
    const r = await readOnce({ procRoot: t.proc, sysRoot: t.sys });
    assert.equal(r.cgroup, null);
  });

  it('reports no cgroup (and reads none of its files per sample) for a group without limits', async () => {
    const t = await procTree('unlimited', '0::/user.slice/session-1.scope\n');
    await write(t.sys, {
      'fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'fs/cgroup/user.slice/session-1.scope/memory.max': 'max\n',
      'fs/cgroup/user.slice/session-1.scope/memory.current': '1000\n',
      'fs/cgroup/user.slice/session-1.scope/memory.stat': 'inactive_file 0\n',
      'fs/cgroup/user.slice/session-1.scope/cpu.max': 'max 100000\n',
    });
    const source = new ProcfsSampleSource({ procRoot: t.proc, sysRoot: t.sys });
    await source.open();
    const r = await source.read();
    assert.equal(r.cgroup, null);
    assert.deepEqual(
      r.errors?.filter((e) => /cgroup/.test(e.message)),
      [],
      'cpu.stat is missing, and never read',
    );
    await source.close();
  });

  it('measures real mounts with statfs, reports a vanished mount as an error and goes on', async () => {
    const t = await procTree('disks', '0::/\n');
    const r = await readOnce({ procRoot: t.proc, sysRoot: t.sys });
    assert.equal(r.disks?.length, 1);
    const disk = r.disks?.[0];
    assert.equal(disk?.mount, t.data);
    assert.equal(disk?.fsType, 'ext4');
    assert.equal(disk?.device, '/dev/sda1');
    assert.ok((disk?.sizeBytes ?? 0) > 0);
    assert.ok((disk?.usedPercent ?? -1) >= 0 && (disk?.usedPercent ?? 101) <= 100);
    assert.equal(r.errors?.length, 1);
    const error = r.errors?.[0];
    assert.ok(error instanceof IoError);
    assert.equal(error.path, t.gone);
    assert.equal(error.syscall, 'statfs');
    assert.equal(error.errno, 'ENOENT');
    assert.equal(r.memory?.percent, 75, 'the rest of the sample is intact');
  });

  it('re-reads the mount table every 30 s, and at once after a statfs failure', async () => {
    const t = await procTree('remount', '0::/\n');
    let now = 0;
    const source = new ProcfsSampleSource({ procRoot: t.proc, sysRoot: t.sys, clock: () => now });
    const mounts = async (): Promise<string[]> => ((await source.read()).disks ?? []).map((d) => d.mount);
    assert.deepEqual(await mounts(), [t.data], 'the gone mount fails statfs');
    // The failure marks the table stale: a mount added now shows at the next sample.
    const extra = join(dirname(t.data), 'extra');
    await mkdir(extra, { recursive: true });
    const table = join(t.proc, 'self', 'mountinfo');
    const proc = `1 0 0:21 / /proc rw - proc proc rw`;
    const data = `2 0 8:1 / ${escape(t.data)} rw - ext4 /dev/sda1 rw`;
    await writeFile(table, [proc, data, `5 0 8:3 / ${escape(extra)} rw - ext4 /dev/sdc1 rw`].join('\n'));
    now = 1000;
    assert.deepEqual(await mounts(), [t.data, extra]);
    // With no failure, a change waits for the refresh.
    await writeFile(table, [proc, data].join('\n'));
    now = 2000;
    assert.deepEqual(await mounts(), [t.data, extra], 'not re-read within 30 s');
    now = 32_000;
    assert.deepEqual(await mounts(), [t.data], 're-read after 30 s');
    await source.close();
  });

  it('reports a hung statfs once it times out, and does not pile up calls on that mount', async () => {
    const t = await procTree('hung', '0::/\n');
    await mkdir(t.gone, { recursive: true });
    let calls = 0;
    let release: () => void = () => {};
    const { statfs: realStatfs } = await import('node:fs/promises');
    const source = new ProcfsSampleSource({
      procRoot: t.proc,
      sysRoot: t.sys,
      statfsTimeout: 20,
      statfs: (path) => {
        if (path !== t.gone) return realStatfs(path);
        calls++;
        return new Promise((resolve, reject) => (release = () => reject(new Error('late'))));
      },
    });
    // The sampler's timeout timer is unref'ed (it must not hold a service open); the test
    // holds the loop open itself while it waits.
    const keepAlive = setInterval(() => {}, 1000);
    after(() => clearInterval(keepAlive));
    const first = await source.read();
    assert.deepEqual(
      first.disks?.map((d) => d.mount),
      [t.data],
      'the healthy mount is measured',
    );
    assert.match(first.errors?.[0]?.message ?? '', /statfs\(.*gone\) timed out after 20ms/);
    const second = await source.read();
    assert.equal(calls, 1, 'no second call while the first hangs');
    assert.match(second.errors?.[0]?.message ?? '', /still has not returned; mount skipped/);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    await source.read();
    assert.equal(calls, 2, 'tried again once the hung call returned');
    release();
    await source.close();
    clearInterval(keepAlive);
  });

  it('turns an unreadable /proc file into an error and keeps the other metrics', async () => {
    const t = await procTree('unreadable', '0::/\n');
    await rm(join(t.proc, 'loadavg'));
    await mkdir(join(t.proc, 'loadavg')); // EISDIR on read
    await writeFile(join(t.proc, 'meminfo'), '\u0000\u0001\u0002 binary garbage');
    const r = await readOnce({ procRoot: t.proc, sysRoot: t.sys });
    assert.equal(r.load, null);
    assert.equal(r.memory, null);
    assert.equal(r.disks?.length, 1);
    const messages = (r.errors ?? []).map((e) => `${e.name}: ${e.message}`);
    assert.ok(
      messages.some((m) => m.startsWith(`IoError: Cannot read ${join(t.proc, 'loadavg')}`)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => m.startsWith('ParseError: No MemTotal')),
      messages.join('\n'),
    );
  });

  it('falls back to /proc/mounts without mountinfo, and honours mount include/exclude', async () => {
    const t = await procTree('mounts', '0::/\n');
    await rm(join(t.proc, 'self', 'mountinfo'));
    await writeFile(join(t.proc, 'mounts'), `/dev/sda1 ${escape(t.data)} ext4 rw 0 0\nproc /proc proc rw 0 0\n`);
    const r = await readOnce({ procRoot: t.proc, sysRoot: t.sys });
    assert.deepEqual(
      r.disks?.map((d) => d.mount),
      [t.data],
    );
    const none = await readOnce({ procRoot: t.proc, sysRoot: t.sys, mounts: { exclude: [`${t.data}`] } });
    assert.deepEqual(none.disks, []);
  });

  it('drives a monitor from a fixture tree: scope auto picks the container, a vanished mount is a warning', async () => {
    const t = await procTree('monitor', '0::/app\n');
    await write(t.sys, {
      'fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'fs/cgroup/app/memory.max': `${1024 * MiB}\n`,
      'fs/cgroup/app/memory.current': `${980 * MiB}\n`,
      'fs/cgroup/app/memory.stat': `inactive_file ${10 * MiB}\n`,
      'fs/cgroup/app/cpu.max': 'max 100000\n',
      'fs/cgroup/app/cpu.stat': 'usage_usec 0\n',
    });
    let now = 1_700_000_000_000;
    const monitor = new ResourceMonitor({ procRoot: t.proc, sysRoot: t.sys, hostname: 'pod-1', clock: () => now, rules: [{ metric: 'memory', above: 90 }], topProcesses: 0 });
    const alerts: Alert[] = [];
    const warnings: Warning[] = [];
    monitor.on('alert', (a) => alerts.push(a));
    monitor.on('warning', (w) => warnings.push(w));
    monitor.on('error', (e) => assert.fail(e));
    const sample = await monitor.sample();
    assert.equal(sample.scope, 'cgroup');
    assert.equal(sample.memory?.percent, 75, 'host memory is 75 % used…');
    assert.equal(sample.cgroup?.memory?.percent, 94.73, '…but the container is at 970 of 1024 MiB');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.labels['scope'], 'cgroup');
    assert.match(alerts[0]?.title ?? '', /Memory at 94\.7 %/);
    assert.equal(warnings.length, 1, 'the vanished mount');
    assert.equal(warnings[0]?.code, 'sample-partial');
    assert.equal(warnings[0]?.path, t.gone);
    assert.match(warnings[0]?.message ?? '', /Cannot statfs mount .*gone/);
    now += 10_000;
    await monitor.sample();
    assert.equal(warnings.length, 1, 'not repeated while it stays gone');

    const hostScoped = new ResourceMonitor({ procRoot: t.proc, sysRoot: t.sys, scope: 'host', rules: [] });
    hostScoped.on('error', () => {});
    const hostSample = await hostScoped.sample();
    assert.equal(hostSample.scope, 'host');
    assert.equal(hostSample.cgroup, null, "scope 'host' does not read cgroups");
    await Promise.all([monitor.stop(), hostScoped.stop()]);
  });

  it('keeps files open between samples and closes every one on stop()', { skip: process.platform !== 'linux' && 'needs /proc/self/fd' }, async () => {
    const t = await procTree('fds', '0::/\n');
    const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await openFds();
    const monitor = new ResourceMonitor({ procRoot: t.proc, sysRoot: t.sys, rules: [] });
    monitor.on('error', () => {});
    await monitor.start();
    await monitor.sample();
    const during = await openFds();
    await monitor.sample();
    assert.equal(await openFds(), during, 'a second sample reuses the descriptors');
    assert.ok(during > before);
    await monitor.stop();
    assert.equal(await openFds(), before);
  });
});
