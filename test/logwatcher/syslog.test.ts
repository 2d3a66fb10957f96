import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineRule, matchLines, parseSyslogLine, type SyslogLine } from '../../src/index.js';
import { mulberry32 } from '../helpers/prng.js';

const local = (...a: [number, number, number, number, number, number, number?]): Date => new Date(a[0], a[1], a[2], a[3], a[4], a[5], a[6] ?? 0);

describe('parseSyslogLine', () => {
  const cases: [string, string, { [K in keyof SyslogLine]?: SyslogLine[K] | undefined }][] = [
    [
      'RFC 3164 with space-padded day',
      'Mar  3 00:17:22 web1 sshd[812]: Invalid user admin from 203.0.113.5 port 4122',
      { format: 'rfc3164', time: local(2024, 2, 3, 0, 17, 22), hostname: 'web1', program: 'sshd', pid: 812, message: 'Invalid user admin from 203.0.113.5 port 4122' },
    ],
    ['RFC 3164 two-digit day', 'Mar 13 10:01:02 web1 sudo: bob : TTY=pts/0', { time: local(2024, 2, 13, 10, 1, 2), hostname: 'web1', program: 'sudo', message: 'bob : TTY=pts/0' }],
    ['RFC 3164 with PRI', '<38>Mar  3 00:17:22 web1 sshd[1]: hello', { format: 'rfc3164', hostname: 'web1', program: 'sshd', pid: 1, message: 'hello' }],
    ['RFC 3164 without hostname', 'Mar  3 00:17:22 sshd[9001]: hello world', { hostname: undefined, program: 'sshd', pid: 9001, message: 'hello world' }],
    ['RFC 3164 without pid', 'Mar  3 00:17:22 web1 sshd: hello', { hostname: 'web1', program: 'sshd', pid: undefined, message: 'hello' }],
    ['sshd-session (OpenSSH 9.8+)', 'Mar  3 00:17:22 web1 sshd-session[42]: Failed password for root', { program: 'sshd-session', pid: 42, message: 'Failed password for root' }],
    ['path-qualified tag', 'Mar  3 00:17:22 web1 /usr/sbin/cron[12]: (root) CMD (true)', { program: 'cron', pid: 12, message: '(root) CMD (true)' }],
    [
      'pam message keeps its parentheses',
      'Mar  3 00:17:22 web1 sshd[1]: pam_unix(sshd:auth): authentication failure; rhost=x',
      { program: 'sshd', message: 'pam_unix(sshd:auth): authentication failure; rhost=x' },
    ],
    ['journal short-precise', 'Mar 03 00:17:22.123456 web1 sshd[1]: m', { time: local(2024, 2, 3, 0, 17, 22, 123), program: 'sshd', message: 'm' }],
    [
      'RFC 3339 high precision',
      '2024-03-01T00:00:00.710570+00:00 host sshd[1]: msg',
      { format: 'rfc3339', time: new Date('2024-03-01T00:00:00.710Z'), hostname: 'host', program: 'sshd', pid: 1, message: 'msg' },
    ],
    ['RFC 3339 with offset', '2024-03-01T02:00:00+02:00 host sshd[1]: msg', { time: new Date('2024-03-01T00:00:00Z') }],
    ['journal short-iso (offset without colon)', '2024-03-03T00:17:22+0100 host sshd[1]: msg', { time: new Date('2024-03-02T23:17:22Z'), program: 'sshd' }],
    [
      'ISO date and time with a space',
      '2024-03-01 00:00:00.250 host sshd[1]: msg',
      { format: 'rfc3339', time: new Date(2024, 2, 1, 0, 0, 0, 250), hostname: 'host', program: 'sshd' },
    ],
    ['RFC 3339 without hostname', '2024-03-01T00:00:00Z sshd[1]: msg', { hostname: undefined, program: 'sshd', message: 'msg' }],
    [
      'RFC 5424',
      '<38>1 2024-03-01T00:00:00Z host sshd 123 - - msg text',
      { format: 'rfc5424', time: new Date('2024-03-01T00:00:00Z'), hostname: 'host', program: 'sshd', pid: 123, message: 'msg text' },
    ],
    [
      'RFC 5424 with structured data, nil pid and BOM',
      '<38>1 2024-03-01T00:00:00.5Z host sudo - ID47 [exampleSDID@32473 iut="3" eventSource="App\\]x"][b@1 c="d"] \ufeffbob : x',
      { format: 'rfc5424', time: new Date('2024-03-01T00:00:00.500Z'), program: 'sudo', pid: undefined, message: 'bob : x' },
    ],
    ['RFC 5424 nil everything', '<38>1 - - - - - -', { format: 'rfc5424', hostname: undefined, program: undefined, message: '' }],
    [
      'journal short-full',
      'Sun 2024-03-03 00:17:22 UTC host sshd[1]: msg',
      { format: 'short-full', time: new Date('2024-03-03T00:17:22Z'), hostname: 'host', program: 'sshd', message: 'msg' },
    ],
    ['journal short-full with numeric zone', 'Sun 2024-03-03 01:17:22 +0100 host sshd[1]: msg', { time: new Date('2024-03-03T00:17:22Z') }],
    ['journal short-unix', '1709425042.123456 host sshd[1]: msg', { format: 'unix', time: new Date(1709425042123), program: 'sshd' }],
    ['journal short-monotonic', '[   12.345678] host sshd[1]: msg', { format: 'monotonic', time: undefined, program: 'sshd', message: 'msg' }],
    ['bare tag with pid', 'sshd[9001]: Failed password', { format: 'none', program: 'sshd', pid: 9001, message: 'Failed password' }],
    [
      'bare message is not mistaken for a tag',
      'error: maximum authentication attempts exceeded',
      { format: 'none', program: undefined, message: 'error: maximum authentication attempts exceeded' },
    ],
    ['hostname without a tag', 'Mar  3 00:17:22 web1 some text here', { hostname: 'web1', program: undefined, message: 'some text here' }],
    ['timestamp only', 'Mar  3 00:17:22', { message: '' }],
    ['not a date', 'Mar 33 00:17:22 x y: z', { format: 'none', message: 'Mar 33 00:17:22 x y: z' }],
    ['garbage', '\u0000\ufffd<99', { format: 'none', message: '\u0000\ufffd<99' }],
  ];
  for (const [what, line, expected] of cases) {
    it(what, () => {
      const parsed = parseSyslogLine(line, { year: 2024 });
      for (const [key, value] of Object.entries(expected) as [keyof SyslogLine, unknown][]) {
        assert.deepEqual(parsed[key], value, `${key} of ${JSON.stringify(line)}`);
      }
    });
  }

  it('infers the year of RFC 3164 timestamps from now, across the New Year', () => {
    const jan = new Date(2025, 0, 2, 12, 0, 0);
    assert.equal(parseSyslogLine('Dec 31 23:59:59 h p: m', { clock: () => jan.getTime() }).time?.getFullYear(), 2024);
    assert.equal(parseSyslogLine('Jan  2 11:00:00 h p: m', { clock: () => jan.getTime() }).time?.getFullYear(), 2025);
    // A line a few seconds "ahead" at midnight on 31 December belongs to next year.
    const eve = new Date(2024, 11, 31, 23, 59, 58);
    assert.deepEqual(parseSyslogLine('Jan  1 00:00:03 h p: m', { clock: () => eve.getTime() }).time, new Date(2025, 0, 1, 0, 0, 3));
    assert.equal(parseSyslogLine('Nov 30 10:00:00 h p: m', { clock: () => eve.getTime() }).time?.getFullYear(), 2024);
    // An explicit year wins.
    assert.equal(parseSyslogLine('Dec 31 23:59:59 h p: m', { clock: () => jan.getTime(), year: 2019 }).time?.getFullYear(), 2019);
  });

  it('gives a run of lines the same times as parsing each alone (the matcher reuses the minute)', async () => {
    // Stamps that repeat, step seconds, cross minutes, hours and days, carry fractions or
    // leap seconds, mixed with other layouts and lines a full parse would refuse.
    const stamps: string[] = [];
    let t = new Date(2024, 1, 28, 22, 58, 50).getTime();
    const random = mulberry32(7);
    const next = (): number => Math.floor(random() * 2 ** 31);
    const months = 'JanFebMarAprMayJunJulAugSepOctNovDec';
    for (let i = 0; i < 2000; i++) {
      t += [0, 0, 1000, 7000, 61_000, 3_600_000][next() % 6] as number;
      const d = new Date(t);
      const pad = (n: number): string => String(n).padStart(2, '0');
      const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      const frac = ['', '', '.5', '.123456', '.0'][next() % 5] as string;
      const stamp = `${months.slice(d.getMonth() * 3, d.getMonth() * 3 + 3)} ${String(d.getDate()).padStart(2, ' ')} ${clock}${frac}`;
      stamps.push([`${stamp} web1 app[${i}]: x ${i}`, `${stamp} app[${i}]: x ${i}`, `2024-03-01T00:00:0${i % 10}Z web1 app[${i}]: x ${i}`][next() % 3] as string);
    }
    stamps.push('Feb 29 23:59:60 web1 app[1]: x leap', 'Feb 29 23:59:60.25 web1 app[2]: x leap2');
    const rule = defineRule({ id: 'any.x', description: 'x', severity: 'info', tags: [], pattern: /^x (?<n>\S+)$/ });
    const now = new Date(2024, 5, 1).getTime();
    const matches: number[] = [];
    for await (const m of matchLines(stamps, { rules: [rule], clock: () => now })) matches.push(m.time.getTime());
    assert.deepEqual(
      matches,
      stamps.map((line) => parseSyslogLine(line, { clock: () => now }).time?.getTime()),
    );
  });

  it('infers the year again when the clock moves on, within one minute of lines', async () => {
    const rule = defineRule({ id: 'any.x', description: 'x', severity: 'info', tags: [], pattern: /^x$/ });
    let now = new Date(2025, 0, 2, 12, 0, 0).getTime();
    const lines = (function* () {
      yield 'Dec 31 23:59:10 web1 app[1]: x';
      // A year later (a log written once a year, or a clock set right): the same minute is now 2025's.
      now = new Date(2026, 0, 2, 12, 0, 0).getTime();
      yield 'Dec 31 23:59:20 web1 app[1]: x';
    })();
    const years: number[] = [];
    for await (const m of matchLines(lines, { rules: [rule], clock: () => now })) years.push(m.time.getFullYear());
    assert.deepEqual(years, [2024, 2025]);
  });

  it('reuses a minute only while the hour it came from would be reused (the year can change with the clock)', async () => {
    // A line about a week ahead of the clock sits at the year-guessing boundary: which
    // year it gets depends on when the clock last worked its hour out.
    const rule = defineRule({ id: 'any.x', description: 'x', severity: 'info', tags: [], pattern: /^x$/ });
    const at = [new Date(2026, 11, 24, 22, 0).getTime(), new Date(2026, 11, 24, 22, 50).getTime(), new Date(2026, 11, 24, 23, 40).getTime()];
    const lines = ['Dec 31 23:58:00 web1 app[1]: x', 'Dec 31 23:57:00 web1 app[1]: x', 'Dec 31 23:57:30 web1 app[1]: x'];
    let i = 0;
    const fed = (function* () {
      for (; i < lines.length; i++) yield lines[i] as string;
    })();
    const times: number[] = [];
    for await (const m of matchLines(fed, { rules: [rule], clock: () => at[i] as number })) times.push(m.time.getTime());
    assert.deepEqual(
      times,
      lines.map((line, k) => parseSyslogLine(line, { clock: () => at[k] as number }).time?.getTime()),
    );
  });
});
