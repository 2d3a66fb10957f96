import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from './helpers.js';

describe('hostwarden check-log: attempts and --lint', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-checklog-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports attempts and lines separately: 6 attempts written as 24 lines are 6', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) {
      const pid = 4000 + i;
      const t = `Mar  3 00:1${i}:00 web1`;
      lines.push(
        `${t} sshd[${pid}]: Invalid user admin${i} from 203.0.113.45 port ${5000 + i}`,
        `${t} sshd[${pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.45`,
        `${t} sshd[${pid}]: Failed password for invalid user admin${i} from 203.0.113.45 port ${5000 + i} ssh2`,
        `${t} sshd[${pid}]: Connection closed by invalid user admin${i} 203.0.113.45 port ${5000 + i} [preauth]`,
      );
    }
    const file = join(dir, 'attempts.log');
    await writeFile(file, `${lines.join('\n')}\n`);
    const { code, stdout } = await cli(['check-log', file]);
    assert.equal(code, 0);
    assert.match(stdout, /Failures: 6 attempts in 24 lines/);
    assert.match(stdout, /203\.0\.113\.45 +6 +24/);
    const report = JSON.parse((await cli(['check-log', file, '--json'])).stdout) as { attempts: number; failureLines: number; alerts: { rule: string; title: string }[] };
    assert.equal(report.attempts, 6);
    assert.equal(report.failureLines, 24);
    assert.deepEqual(
      report.alerts.map((a) => a.rule),
      ['sshd.brute-force'],
      'the fifth attempt fires, once',
    );
  });

  it('--lint flags a super-linear pattern (exit 1) and passes linear ones', async () => {
    const good = join(dir, 'good.txt');
    await writeFile(good, '# my rules\n^login failed for (?<user>\\S+) from (?<host>[\\d.]+)$\n');
    const ok = await cli(['check-log', '--lint', good]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^linear +line 2$/m);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ id: 'mine.sudo', pattern: String.raw`^\s*(\S+) : (?:.*? ; )?user NOT in sudoers ;.*? USER=([^\s;]+)(?: ;.*? COMMAND=(.*))?$` }]));
    const flagged = await cli(['check-log', '--lint', bad]);
    assert.equal(flagged.code, 1);
    assert.match(flagged.stdout, /SUPER-LINEAR +mine\.sudo/);
    assert.match(flagged.stdout, /1 pattern checked, 1 super-linear/);
  });
});
