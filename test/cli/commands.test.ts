import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { bruteForceLines, eicarString, plantDemoTree } from '../../src/demo/samples.js';
import { EICAR_TEST_STRING } from '../../src/scanner/detectors/signature.js';
import { cli } from './helpers.js';

describe('hostwarden scan', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-scan-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('plants what the detectors catch (the EICAR string is the standard one)', () => {
    assert.equal(eicarString(), EICAR_TEST_STRING);
  });

  it('exit 1 with clamscan-style FOUND lines and a summary; attacker file names are escaped', async () => {
    const tree = join(dir, 'found');
    await plantDemoTree(tree);
    await writeFile(join(tree, 'evil\u001b[2J.exe'), 'MZ');
    const { code, stdout, stderr } = await cli(['scan', tree]);
    assert.equal(code, 1, stderr);
    assert.match(stdout, /invoice\.pdf: PE executable named \.pdf.* FOUND/);
    assert.match(stdout, /eicar\.com\.txt: .*EICAR.* FOUND/);
    // info findings (an ordinary ELF, a .dll that is not one) are listed, not counted.
    assert.match(stdout, /Infected files: 3 \(3 findings of warning or critical severity\)/);
    assert.match(stdout, /update: ELF executable .*\[file\.executable, info\] INFO/);
    assert.match(stdout, /Listed, not counted: 2 info findings/);
    assert.ok(!stdout.includes('\u001b'), 'no raw escape from a file name reaches the terminal');
    assert.match(stdout, /evil\\x1b\[2J\.exe/);
    assert.equal(stderr, '', 'no progress line when stderr is not a terminal');
  });

  it('exit 0 on a clean tree, 2 when a path cannot be accessed, and symlinks are not followed', async () => {
    const clean = join(dir, 'clean');
    await mkdir(clean);
    await writeFile(join(clean, 'readme.txt'), 'hello\n');
    const outside = join(dir, 'outside');
    await plantDemoTree(outside);
    await symlink(outside, join(clean, 'link-out'));
    const ok = await cli(['scan', clean]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /Infected files: 0/);
    const bad = await cli(['scan', clean, join(dir, 'missing')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /missing: cannot access \(ENOENT\) ERROR/);
  });

  it('--json prints the report; --hash-db uses a ClamAV database; --quarantine isolates and quarantine restores', async () => {
    const tree = join(dir, 'hash');
    await mkdir(tree);
    const payload = 'pretend this is malware\n';
    await writeFile(join(tree, 'payload.bin'), payload);
    const { createHash } = await import('node:crypto');
    const db = join(dir, 'custom.hsb');
    await writeFile(db, `${createHash('sha256').update(payload).digest('hex')}:${payload.length}:Test.Payload-1:73\n`);
    const qdir = join(dir, 'q');
    const run = await cli(['scan', tree, '--hash-db', db, '--quarantine', qdir, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as { findings: { rule: string; path: string }[]; quarantined: string[] };
    assert.equal(report.findings.length, 1);
    assert.match(report.findings[0]?.path ?? '', /payload\.bin$/);
    assert.equal(report.quarantined.length, 1);
    await assert.rejects(stat(join(tree, 'payload.bin')), /ENOENT/);

    const list = await cli(['quarantine', 'list', '--dir', qdir, '--json']);
    assert.equal(list.code, 0);
    const records = JSON.parse(list.stdout) as { id: string; originalPath: string }[];
    assert.equal(records.length, 1);
    const id = records[0]?.id ?? '';
    const human = await cli(['quarantine', 'list', '--dir', qdir]);
    assert.match(human.stdout, new RegExp(`${id} .*payload\\.bin`));
    assert.match(human.stdout, /1 file in quarantine/);

    const restored = await cli(['quarantine', 'restore', id, '--dir', qdir]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await readFile(join(tree, 'payload.bin'), 'utf8'), payload);
    const again = await cli(['quarantine', 'restore', id, '--dir', qdir]);
    assert.equal(again.code, 2, 'an unknown id is an error');
    assert.match(again.stderr, /hostwarden: /);

    const second = await cli(['scan', tree, '--hash-db', db, '--quarantine', qdir]);
    assert.equal(second.code, 1);
    const [record] = JSON.parse((await cli(['quarantine', 'list', '--dir', qdir, '--json'])).stdout) as { id: string }[];
    await writeFile(join(tree, 'payload.bin'), 'a new file took its place');
    const refused = await cli(['quarantine', 'restore', record?.id ?? '', '--dir', qdir]);
    assert.equal(refused.code, 2, 'restore never overwrites');
    assert.equal(await readFile(join(tree, 'payload.bin'), 'utf8'), 'a new file took its place');
    const elsewhere = await cli(['quarantine', 'restore', record?.id ?? '', '--dir', qdir, '--to', join(tree, 'payload.restored')]);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.equal(await readFile(join(tree, 'payload.restored'), 'utf8'), payload);
    await cli(['scan', join(tree, 'payload.restored'), '--hash-db', db, '--quarantine', qdir]);
    const [again2] = JSON.parse((await cli(['quarantine', 'list', '--dir', qdir, '--json'])).stdout) as { id: string }[];
    const removed = await cli(['quarantine', 'remove', again2?.id ?? '', '--dir', qdir]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match((await cli(['quarantine', 'list', '--dir', qdir])).stdout, /No files in quarantine/);
  });

  it('--min-severity and --no-scripts narrow what is reported and quarantined', async () => {
    const tree = join(dir, 'severity');
    await plantDemoTree(tree);
    const critical = JSON.parse((await cli(['scan', tree, '--json', '--min-severity', 'critical'])).stdout) as { findings: { path: string; severity: string }[] };
    assert.deepEqual(critical.findings.map((f) => f.path.slice(tree.length + 1)).sort(), ['alice/Downloads/eicar.com.txt', 'bob/Downloads/invoice.pdf']);
    const scripts = join(dir, 'scripts');
    await mkdir(scripts);
    await writeFile(join(scripts, 'deploy.sh'), '#!/bin/sh\necho deploy\n');
    const listed = await cli(['scan', scripts]);
    assert.equal(listed.code, 0, 'a script is an info finding: listed, not an infection');
    assert.match(listed.stdout, /deploy\.sh: .*INFO/);
    assert.doesNotMatch((await cli(['scan', scripts, '--no-scripts'])).stdout, /deploy\.sh/);
  });

  it('an unreadable hash database is an error (exit 2)', async () => {
    const result = await cli(['scan', dir, '--hash-db', join(dir, 'nope.hsb')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /nope\.hsb/);
  });
});

describe('hostwarden check-log', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-check-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports lines, matches per rule, hosts and the alerts that would fire', async () => {
    const file = join(dir, 'auth.log');
    await writeFile(file, `${bruteForceLines({ attempts: 6 }).join('\n')}\nnot a syslog line\n`);
    const { code, stdout } = await cli(['check-log', file]);
    assert.equal(code, 0);
    assert.match(stdout, /Lines: {4}8 read, 7 matched \(87\.50 %\)/);
    assert.match(stdout, /sshd\.failed-auth +6 +auth-failure/);
    assert.match(stdout, /203\.0\.113\.45 +6/);
    assert.match(stdout, /Alerts that would fire: 1/);
    assert.match(stdout, /\[CRITICAL\] FIRING {2}SSH brute force from 203\.0\.113\.45/);
    const missed = await cli(['check-log', file, '--show-missed']);
    assert.match(missed.stdout, /^8: \[missed\] not a syslog line$/m);
    assert.doesNotMatch(missed.stdout, /\[missed\].*Failed password/);
  });

  it('--max-retry and --find-time tune the thresholds like fail2ban', async () => {
    const file = join(dir, 'few.log');
    await writeFile(file, `${bruteForceLines({ attempts: 3 }).join('\n')}\n`);
    const normal = JSON.parse((await cli(['check-log', file, '--json'])).stdout) as { alerts: unknown[] };
    assert.equal(normal.alerts.length, 0, '3 failures stay under the default 5');
    const strict = JSON.parse((await cli(['check-log', file, '--json', '--max-retry', '3'])).stdout) as { alerts: unknown[] };
    assert.equal(strict.alerts.length, 1);
    const narrow = JSON.parse((await cli(['check-log', file, '--json', '--max-retry', '3', '--find-time', '1s'])).stdout) as { alerts: unknown[] };
    assert.equal(narrow.alerts.length, 0, 'lines one second apart do not fit a 1 s window');
  });

  it('reads stdin with "-", survives binary garbage and huge lines, escapes what it prints', async () => {
    const garbage = Buffer.concat([
      Buffer.from(`${bruteForceLines({ attempts: 1 })[1]!.replace('root', 'ro\u001b]0;pwn\u0007ot')}\n`),
      Buffer.from([0, 1, 2, 0xff, 0xfe, 10]),
      Buffer.alloc(300_000, 0x41),
      Buffer.from('\n'),
    ]);
    let stdout = '';
    const code = await runCli(['check-log', '-', '--show-matches'], {
      stdout: { write: (s: string) => ((stdout += s), true) },
      stderr: { write: () => true },
      stdin: Readable.from([garbage]),
      env: {},
      signal: new AbortController().signal,
    });
    assert.equal(code, 0);
    assert.match(stdout, /Lines: {4}3 read, 1 matched/);
    assert.match(stdout, /1 cut at 64 KiB/);
    assert.ok(!/[\u0007\u001b]/.test(stdout), 'control characters from the log are escaped');
    assert.match(stdout, /ro\\x1b\]0;pwn\\x07ot/);
  });

  it('an unreadable or missing file is exit 2 with a hint', async () => {
    const missing = await cli(['check-log', join(dir, 'nope.log')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.log: ENOENT/);
    const directory = await cli(['check-log', dir]);
    assert.equal(directory.code, 2);
    assert.match(directory.stderr, /EISDIR/);
  });
});
