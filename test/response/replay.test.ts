// check-log --bans: a past log replayed through a BanManager in observe mode.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli/helpers.js';

function failures(hour: number, minute: number, host: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const time = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:${String(10 + i).padStart(2, '0')}`;
    return `Mar  3 ${time} web1 sshd[${4000 + i}]: Failed password for invalid user admin from ${host} port ${50000 + i} ssh2`;
  });
}

describe('check-log --bans', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-replay-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints who would have been banned, when, and escalates a returning attacker', async () => {
    const log = join(dir, 'auth.log');
    const lines = [
      ...failures(10, 0, '203.0.113.5', 5),
      ...failures(10, 1, '2001:db8:1:2::7', 5),
      ...failures(10, 2, '198.51.100.9', 3), // below the threshold
      ...failures(11, 0, '203.0.113.5', 5), // back after its 10-minute ban
    ];
    await writeFile(log, `${lines.join('\n')}\n`);
    const result = await cli(['check-log', log, '--bans', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { bans: { address: string; since: string; until: string; count: number; rule: string }[] };
    const rows = report.bans.map((b) => [b.address, b.count, (Date.parse(b.until) - Date.parse(b.since)) / 60_000, b.rule]);
    assert.deepEqual(rows, [
      ['203.0.113.5', 1, 10, 'sshd.brute-force'],
      ['2001:db8:1:2::/64', 1, 10, 'sshd.brute-force'],
      ['203.0.113.5', 2, 20, 'sshd.brute-force'],
    ]);
    assert.match(report.bans[0]?.since ?? '', /T10:00:14/, "in the log's own time, at the fifth failure");
    const text = await cli(['check-log', log, '--bans']);
    assert.match(text.stdout, /Bans that would have been made: 3/);
    assert.match(text.stdout, /203\.0\.113\.5\s+20 min {2}#2 {2}sshd\.brute-force/);
  });
});
