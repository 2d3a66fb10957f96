import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError } from '../../src/index.js';
import { parseMountinfo, parseProcMounts, selectMounts, type MountSelector } from '../../src/resource/mounts.js';
import { cpuDelta, memoryFromMeminfo, parseLoadavg, parseMeminfo, parseProcStat, swapFromMeminfo } from '../../src/resource/procfs.js';

const STAT_1 = `cpu  1000 100 500 8000 200 50 50 100 40 0
cpu0 500 50 250 4000 100 25 25 50 20 0
cpu1 500 50 250 4000 100 25 25 50 20 0
intr 12345 0 0
ctxt 999
btime 1700000000
`;
// +400 user (of which 40 guest), +0 nice, +100 system, +300 idle, +100 iowait, +0 irq, +50 softirq, +50 steal = 1000 ticks
const STAT_2 = `cpu  1400 100 600 8300 300 50 100 150 80 0
cpu0 900 50 300 4050 150 25 50 75 60 0
cpu1 500 50 300 4250 150 25 50 75 20 0
intr 12400 0 0
`;

describe('/proc parsers', () => {
  it('computes CPU % from /proc/stat deltas, counting iowait and steal, not double-counting guest', () => {
    const cpu = cpuDelta(parseProcStat(STAT_1), parseProcStat(STAT_2), 1000, true);
    assert.ok(cpu);
    assert.equal(cpu.percent, 70); // everything but the 300 idle ticks
    assert.equal(cpu.user, 40);
    assert.equal(cpu.system, 15);
    assert.equal(cpu.iowait, 10);
    assert.equal(cpu.steal, 5);
    assert.equal(cpu.idle, 30);
    assert.equal(cpu.cores, 2);
    assert.equal(cpu.windowMs, 1000);
    // cpu0: 550 busy of 600 ticks; cpu1: 150 busy (system, iowait, softirq, steal) of 400.
    assert.deepEqual(cpu.perCore, [91.67, 37.5]);
    assert.equal(cpuDelta(parseProcStat(STAT_1), parseProcStat(STAT_2), 1000, false)?.perCore, null);
  });

  it('returns null when counters go backwards or did not move', () => {
    assert.equal(cpuDelta(parseProcStat(STAT_2), parseProcStat(STAT_1), 1000, false), null);
    assert.equal(cpuDelta(parseProcStat(STAT_1), parseProcStat(STAT_1), 1000, false), null);
  });

  it('accepts old kernels without steal/guest columns and rejects garbage', () => {
    const old = parseProcStat('cpu 10 0 10 80\ncpu0 10 0 10 80\n');
    assert.equal(old.all.total, 100);
    assert.throws(() => parseProcStat('cpu a b c d\n'), ParseError);
    assert.throws(() => parseProcStat('intr 1 2 3\n'), /No aggregate "cpu" line/);
    assert.throws(() => parseProcStat('\u0000\u0001binary'), ParseError);
  });

  it('uses MemAvailable for memory %, not "used including cache"', () => {
    const info = parseMeminfo(`MemTotal:       16000000 kB
MemFree:          500000 kB
MemAvailable:    8000000 kB
Buffers:          200000 kB
Cached:          7000000 kB
SwapTotal:       2000000 kB
SwapFree:        1500000 kB
HugePages_Total:       0
`);
    const mem = memoryFromMeminfo(info);
    assert.equal(mem.totalBytes, 16000000 * 1024);
    assert.equal(mem.availableBytes, 8000000 * 1024);
    assert.equal(mem.percent, 50);
    assert.deepEqual(swapFromMeminfo(info), { totalBytes: 2000000 * 1024, usedBytes: 500000 * 1024, percent: 25 });
    assert.equal(info.get('HugePages_Total'), 0, 'unitless fields are not scaled');
  });

  it('estimates available memory on kernels without MemAvailable, and reports no swap as 0 %', () => {
    const info = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 300 kB\nSReclaimable: 50 kB\nShmem: 100 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n');
    assert.equal(memoryFromMeminfo(info).percent, 60);
    assert.equal(swapFromMeminfo(info).percent, 0);
    assert.throws(() => parseMeminfo('garbage'), /No MemTotal/);
  });

  it('parses /proc/loadavg per core', () => {
    const load = parseLoadavg('3.00 2.00 1.00 2/345 6789\n', 4);
    assert.deepEqual(load, { one: 3, five: 2, fifteen: 1, cores: 4, onePerCore: 0.75, fivePerCore: 0.5, fifteenPerCore: 0.25 });
    assert.throws(() => parseLoadavg('x y z', 4), ParseError);
  });
});

const MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=123k
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
28 27 254:16 / /data rw,relatime shared:2 master:1 - xfs /dev/vdb rw
29 27 254:16 /exports /srv/exports rw,relatime - xfs /dev/vdb rw
30 27 254:0 /var/lib/docker /var/lib/docker rw - ext4 /dev/vda1 rw
31 27 0:40 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/c
32 27 7:1 / /snap/core/123 ro - squashfs /dev/loop1 ro
33 27 0:41 / /mnt/nas rw - nfs4 nas:/export rw
34 27 254:32 / /mnt/my\\040disk rw - ext4 /dev/vdc rw
35 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
36 27 0:42 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw
37 27 0:43 / /home/eve/fake\\012Disk\\040full rw,nosuid,nodev - fuse.evilfs evilfs rw,user_id=1000,group_id=1000
38 27 0:44 / /srv/pool rw - fuse.mergerfs pool rw,user_id=0,group_id=0,allow_other
`;

const all: MountSelector = { include: [], exclude: [], excludeFsTypes: [], network: false };

describe('mount selection', () => {
  it('parses mountinfo, including optional fields and octal escapes', () => {
    const entries = parseMountinfo(MOUNTINFO);
    assert.equal(entries.length, 16);
    assert.deepEqual(entries[4], { mount: '/', fsType: 'ext4', device: '/dev/vda1', devId: '254:0', root: '/', superOptions: 'rw' });
    assert.equal(entries[14]?.mount, '/home/eve/fake\nDisk full');
    assert.equal(entries[11]?.mount, '/mnt/my disk');
    assert.throws(() => parseMountinfo('not a mount line\n'), ParseError);
  });

  it('keeps real file systems once per device and skips pseudo, image, overlay and network mounts', () => {
    const chosen = selectMounts(parseMountinfo(MOUNTINFO), all).map((e) => e.mount);
    assert.deepEqual(chosen, ['/', '/data', '/mnt/my disk', '/srv/pool'], "a root-mounted FUSE pool is a disk; a user's FUSE mount is not");
  });

  it('keeps an overlay root (a container) and opts into network file systems', () => {
    const container = parseMountinfo('1 0 0:50 / / rw - overlay overlay rw,lowerdir=/x\n2 1 0:51 / /proc rw - proc proc rw\n');
    assert.deepEqual(
      selectMounts(container, all).map((e) => e.mount),
      ['/'],
    );
    assert.ok(selectMounts(parseMountinfo(MOUNTINFO), { ...all, network: true }).some((e) => e.mount === '/mnt/nas'));
  });

  it('honours include (any type, exactly those) and exclude (always wins) globs', () => {
    const entries = parseMountinfo(MOUNTINFO);
    assert.deepEqual(
      selectMounts(entries, { ...all, include: ['/dev/shm', '/data'] }).map((e) => e.mount),
      ['/dev/shm', '/data'],
    );
    assert.deepEqual(
      selectMounts(entries, { ...all, exclude: ['/mnt/**', '/srv/**'] }).map((e) => e.mount),
      ['/', '/data'],
    );
    assert.deepEqual(
      selectMounts(entries, { ...all, excludeFsTypes: ['xfs', 'fuse.mergerfs'] }).map((e) => e.mount),
      ['/', '/mnt/my disk'],
    );
  });

  it('parses /proc/mounts when mountinfo is missing', () => {
    const entries = parseProcMounts('/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/sdb1 /home ext4 rw 0 0\n');
    assert.deepEqual(
      selectMounts(entries, all).map((e) => e.mount),
      ['/', '/home'],
    );
  });
});
