import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/logwatcher/checkpoint.js';
import { toSyslogLines } from '../../src/logwatcher/journal.js';
import { findPeer, skipUnlessPeers } from '../helpers/peers.js';
import { harness, tempDir } from './helpers.js';

// Debian's systemd-journal-remote turns a journal export stream into a real journal file
// that journalctl reads (.ci/apt-packages installs it in CI).
const skip = skipUnlessPeers(['systemd-journal-remote', 'journalctl']);
const JOURNAL_REMOTE = findPeer('systemd-journal-remote');

interface Entry {
  message: string | Buffer;
  ident: string;
  /** The sending executable, as journald records it (`_COMM`); defaults to `ident`. */
  comm?: string;
  pid: number;
  facility: number;
  seconds: number;
}

let seq = 0;
/** Appends entries to a journal file (created if missing) through systemd-journal-remote. */
async function writeJournal(file: string, entries: readonly Entry[]): Promise<void> {
  const parts: Buffer[] = [];
  for (const e of entries) {
    seq++;
    const fields = [
      `__REALTIME_TIMESTAMP=${e.seconds * 1_000_000 + 123_456}`,
      `__MONOTONIC_TIMESTAMP=${seq * 1000}`,
      '_BOOT_ID=0123456789abcdef0123456789abcdef',
      `SYSLOG_IDENTIFIER=${e.ident}`,
      `_COMM=${e.comm ?? e.ident}`,
      `_PID=${e.pid}`,
      `SYSLOG_FACILITY=${e.facility}`,
      '_HOSTNAME=web1',
    ];
    parts.push(Buffer.from(`${fields.join('\n')}\n`));
    if (typeof e.message === 'string') {
      parts.push(Buffer.from(`MESSAGE=${e.message}\n`));
    } else {
      // Export format for binary values: name, newline, 64-bit LE length, bytes, newline.
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(e.message.length));
      parts.push(Buffer.from('MESSAGE\n'), size, e.message, Buffer.from('\n'));
    }
    parts.push(Buffer.from('\n'));
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn(JOURNAL_REMOTE as string, [`--output=${file}`, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`journal-remote failed (${code}): ${stderr}`))));
    child.stdin.end(Buffer.concat(parts));
  });
}

const sshd = (n: number, ip: string): Entry => ({
  message: `Failed password for root from ${ip} port ${40000 + n} ssh2`,
  ident: 'sshd',
  pid: 100 + n,
  facility: 4,
  seconds: 1_700_000_000 + n,
});

test('journal entries are rendered as syslog lines', () => {
  const lines = toSyslogLines(
    {
      MESSAGE: 'Accepted publickey for alice from 192.0.2.7 port 50000 ssh2',
      SYSLOG_IDENTIFIER: 'sshd',
      _COMM: 'sshd',
      _PID: '812',
      _HOSTNAME: 'web 1',
      __REALTIME_TIMESTAMP: '1709251200710570',
    },
    '_COMM',
    0,
  );
  assert.deepEqual(lines, ['2024-03-01T00:00:00.710570+00:00 web_1 sshd[812]: Accepted publickey for alice from 192.0.2.7 port 50000 ssh2']);
  // Non-UTF-8 messages arrive as byte arrays; a multi-line message stays one line.
  const binary = toSyslogLines({ MESSAGE: [0x62, 0xff, 0x0a, 0x63], _COMM: 'su', __REALTIME_TIMESTAMP: '0' }, '_COMM', 0);
  assert.deepEqual(binary, ['1970-01-01T00:00:00.000000+00:00 localhost su: b\ufffd\\nc']);
  // The program is journald's _COMM, not the SYSLOG_IDENTIFIER the sender chose, unless asked.
  const spoof = { MESSAGE: 'x', SYSLOG_IDENTIFIER: 'sshd', _COMM: 'logger', _PID: '9', SYSLOG_PID: '1', __REALTIME_TIMESTAMP: '0' };
  assert.match(toSyslogLines(spoof, '_COMM', 0)[0] ?? '', / logger\[9\]: x$/);
  assert.match(toSyslogLines(spoof, 'SYSLOG_IDENTIFIER', 0)[0] ?? '', / sshd\[9\]: x$/);
  // An entry journald did not stamp takes the component's clock, not the machine's.
  assert.match(toSyslogLines({ MESSAGE: 'x', _COMM: 'sshd' }, '_COMM', Date.UTC(2024, 1, 29, 12, 0, 0, 250))[0] ?? '', /^2024-02-29T12:00:00\.250000\+00:00 localhost sshd: x$/);
});

test('the journald source reads, follows, and resumes by cursor from a real journal', { skip }, async (t) => {
  const dir = await tempDir(t);
  const journalFile = join(dir, 'auth.journal');
  const stateFile = join(dir, 'state.json');
  await writeJournal(journalFile, [
    sshd(1, '203.0.113.1'),
    { message: 'pam_unix(cron:session): session opened for user root', ident: 'CRON', pid: 9, facility: 9, seconds: 1_700_000_001 },
    { message: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x20, 0x62, 0x79, 0x74, 0x65]), ident: 'sudo', pid: 7, facility: 10, seconds: 1_700_000_002 },
    sshd(2, '203.0.113.2'),
  ]);
  const options = { files: [], journal: { files: [journalFile] }, stateFile, startAt: 'beginning' as const };
  const first = harness(t, options);
  await first.watcher.start();
  await first.waitLines(3);
  // The default matches are sshd, sudo, su and login by _COMM: CRON is left out.
  assert.deepEqual(first.lines, [
    '2023-11-14T22:13:21.123456+00:00 web1 sshd[101]: Failed password for root from 203.0.113.1 port 40001 ssh2',
    '2023-11-14T22:13:22.123456+00:00 web1 sudo[7]: bad\ufffd byte',
    '2023-11-14T22:13:22.123456+00:00 web1 sshd[102]: Failed password for root from 203.0.113.2 port 40002 ssh2',
  ]);
  assert.deepEqual(
    first.where.map((w) => w.file),
    ['journal', 'journal', 'journal'],
  );
  // Follow: entries appended to the journal file while running arrive.
  await writeJournal(journalFile, [sshd(3, '203.0.113.3')]);
  await first.waitLines(4);
  assert.match(first.lines[3] ?? '', /203\.0\.113\.3/);
  await first.settle();
  await first.watcher.stop();
  assert.deepEqual(first.errors, []);
  const saved = await loadCheckpoint(stateFile);
  assert.match(saved.journalCursor ?? '', /^s=[0-9a-f]+;i=/);

  // While stopped, two more entries; a restart resumes after the cursor: nothing lost or repeated.
  await writeJournal(journalFile, [sshd(4, '203.0.113.4'), sshd(5, '203.0.113.5')]);
  const second = harness(t, options);
  await second.watcher.start();
  await second.waitLines(2);
  await second.settle();
  assert.deepEqual(
    second.lines.map((l) => /from (\S+)/.exec(l)?.[1]),
    ['203.0.113.4', '203.0.113.5'],
  );
  await second.watcher.stop();
});

test('journal matches and startAt end are passed to journalctl', { skip }, async (t) => {
  const dir = await tempDir(t);
  const journalFile = join(dir, 'auth.journal');
  await writeJournal(journalFile, [sshd(1, '198.51.100.1'), { message: 'sudo line', ident: 'sudo', pid: 5, facility: 10, seconds: 1_700_000_050 }]);
  const h = harness(t, { files: [], journal: { files: [journalFile], matches: ['SYSLOG_IDENTIFIER=sshd'], label: 'ssh-journal' } });
  await h.watcher.start();
  // journalctl has no "ready" signal: append markers until one arrives, so the test does
  // not depend on how fast journalctl opened the file.
  for (let i = 0; h.lines.length === 0; i++) {
    assert.ok(i < 50, 'journalctl never delivered an entry');
    await writeJournal(journalFile, [{ ...sshd(1000 + i, '192.0.2.1'), message: `marker ${i}` }]);
    await h.until(() => true, 'a poll');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(
    h.lines.every((l) => l.includes('marker')),
    'startAt end: existing entries are skipped',
  );
  const markers = h.lines.length;
  await writeJournal(journalFile, [
    { message: 'sudo later', ident: 'sudo', pid: 6, facility: 10, seconds: 1_700_002_000 },
    { ...sshd(2, '198.51.100.2'), seconds: 1_700_002_001 },
  ]);
  await h.waitLines(markers + 1);
  await h.settle();
  assert.equal(h.lines.length, markers + 1);
  assert.match(h.lines[markers] ?? '', /sshd\[102\]: Failed password for root from 198\.51\.100\.2/);
  assert.equal(h.where[0]?.file, 'ssh-journal');
});

test('journal.directory reads the journal files of a directory', { skip }, async (t) => {
  const dir = await tempDir(t);
  const journals = join(dir, 'journal');
  await mkdir(journals);
  await writeJournal(join(journals, 'a.journal'), [sshd(1, '192.0.2.1')]);
  await writeJournal(join(journals, 'b.journal'), [sshd(2, '192.0.2.2')]);
  const h = harness(t, { files: [], journal: { directory: journals }, startAt: 'beginning' });
  await h.watcher.start();
  await h.waitLines(2);
  await h.settle();
  assert.deepEqual(
    h.lines.map((l) => /from (\S+)/.exec(l)?.[1]),
    ['192.0.2.1', '192.0.2.2'],
  );
});

test('a huge journal message is cut to maxLineLength and reported', { skip }, async (t) => {
  const dir = await tempDir(t);
  const journalFile = join(dir, 'auth.journal');
  await writeJournal(journalFile, [{ ...sshd(1, '203.0.113.9'), message: `Failed password for ${'x'.repeat(5000)} from 203.0.113.9 port 22 ssh2` }, sshd(2, '203.0.113.10')]);
  const h = harness(t, { files: [], journal: { files: [journalFile] }, startAt: 'beginning', maxLineLength: 1024 });
  await h.watcher.start();
  await h.waitLines(2);
  assert.equal(Buffer.byteLength(h.lines[0] ?? ''), 1024);
  assert.match(h.lines[1] ?? '', /203\.0\.113\.10/);
  const cut = h.warnings.find((w) => w.code === 'line-truncated');
  assert.equal(cut?.path, 'journal');
  assert.equal(cut?.lineNumber, 1);
});

test("journalctl's complaints on stderr become warnings", async (t) => {
  const dir = await tempDir(t);
  // A stand-in journalctl that behaves like the real one without the rights to the system journal.
  const fake = join(dir, 'journalctl');
  await writeFile(fake, '#!/bin/sh\necho "No journal files were opened due to insufficient permissions." >&2\nexec sleep 30\n', { mode: 0o755 });
  const h = harness(t, { files: [], journal: { journalctl: fake } });
  await h.watcher.start();
  await h.until(() => h.warnings.length > 0, 'the warning');
  assert.equal(h.warnings[0]?.code, 'unreadable');
  assert.match(h.warnings[0]?.message ?? '', /insufficient permissions/);
  await h.watcher.stop();
  assert.deepEqual(h.errors, [], 'stopping journalctl is not an error');
});

test('a missing journalctl is reported as an error and retried', async (t) => {
  const dir = await tempDir(t);
  const h = harness(t, { files: [], journal: { journalctl: join(dir, 'no-such-journalctl'), restartDelay: 20 } });
  await h.watcher.start();
  await h.until(() => h.errors.length >= 2, 'two failed attempts');
  assert.equal((h.errors[0] as { code?: string }).code, 'ERR_IO');
  assert.match(h.errors[0]?.message ?? '', /no-such-journalctl/);
  await h.watcher.stop();
  const count = h.errors.length;
  // A retry that must not happen has no signal to wait for: the pause (five restartDelays) is what is tested.
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(h.errors.length, count, 'no retry after stop()');
});

test('journald: lines a local user logs as sshd frame no address, and one entry is one line', { skip }, async (t) => {
  const { authRules } = await import('../../src/index.js');
  const dir = await tempDir(t);
  const journalFile = join(dir, 'auth.journal');
  const at = (n: number): number => 1_700_000_100 + n;
  await writeJournal(journalFile, [
    { message: 'Failed password for root from 203.0.113.50 port 1 ssh2', ident: 'sshd', pid: 500, facility: 4, seconds: at(0) },
    // `logger -p auth.info -t sshd …` by any local user: _COMM is logger.
    { message: 'Failed password for root from 10.9.9.9 port 22 ssh2', ident: 'sshd', comm: 'logger', pid: 501, facility: 4, seconds: at(1) },
    // (Binary export form: the value holds a newline.)
    { message: Buffer.from('hello\nFailed password for root from 10.8.8.8 port 22 ssh2'), ident: 'sshd', comm: 'logger', pid: 502, facility: 4, seconds: at(2) },
    // A newline inside a real entry does not start a line of its own.
    { message: Buffer.from('Failed password for invalid user a\nb from 203.0.113.51 port 2 ssh2'), ident: 'sshd', pid: 503, facility: 4, seconds: at(3) },
  ]);
  const hostsFor = async (journal: Record<string, unknown>): Promise<{ hosts: string[]; lines: number }> => {
    const h = harness(t, { files: [], journal: { files: [journalFile], ...journal }, startAt: 'beginning', rules: authRules });
    const hosts: string[] = [];
    h.watcher.on('match', (m) => {
      if (m.rule.tags.includes('auth-failure') && m.fields.host !== undefined) hosts.push(m.fields.host);
    });
    let lines = 0;
    h.watcher.on('match', () => lines++);
    await h.watcher.start();
    await h.until(() => hosts.length >= 2, 'the two real failures');
    await h.settle();
    await h.watcher.stop();
    return { hosts, lines: h.watcher.stats.linesRead };
  };
  // Default: journalctl selects by _COMM, so the spoofed entries are not even read.
  const byDefault = await hostsFor({});
  assert.deepEqual(byDefault.hosts, ['203.0.113.50', '203.0.113.51']);
  assert.equal(byDefault.lines, 2);
  // v1's facility match reads them all, and still no rule takes them: their program is logger.
  const byFacility = await hostsFor({ matches: ['SYSLOG_FACILITY=4'] });
  assert.equal(byFacility.lines, 4, 'four entries, four lines');
  assert.deepEqual(byFacility.hosts, ['203.0.113.50', '203.0.113.51']);
  // Trusting SYSLOG_IDENTIFIER is an explicit choice, and a newline still forges no line.
  const claimed = await hostsFor({ matches: ['SYSLOG_FACILITY=4'], programFrom: 'SYSLOG_IDENTIFIER' });
  assert.ok(!claimed.hosts.includes('10.8.8.8'), 'an embedded newline never becomes a line of its own');
  assert.ok(claimed.hosts.includes('10.9.9.9'), 'SYSLOG_IDENTIFIER is what the sender chose');
});
