// The fast prefix scanner (native regular expressions) must give exactly what the
// reference scanner (character loops) gives, on every line: it only decides which of the
// two does the work. Compared on real layouts, then on seeded random mutations of them
// that hit the edges (a day of 00 or 32, a tag of 65 characters, a pid with a space, a
// path-qualified tag ending in '/', a zone of "+0", a line cut inside its timestamp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefixScan, pidOf, scanPrefix, scanPrefixSlow, timeOf } from '../../src/logwatcher/syslog.js';
import { mulberry32 } from '../helpers/prng.js';
import { authCorpus } from './fixtures/auth-corpus.js';

const TIMESTAMPS = [
  'Mar  3 00:17:22',
  'Mar 13 10:01:02',
  'Mar 03 00:17:22.123456',
  'Dec 31 23:59:59',
  'Jan 1 00:00:01',
  '2024-03-01T00:00:00.710570+00:00',
  '2024-03-01T02:00:00+02:00',
  '2024-03-03T00:17:22+0100',
  '2024-03-01 00:00:00.250',
  '2024-03-01T00:00:00Z',
  '2024-12-31T23:59:59-05:30',
  'Sun 2024-03-03 00:17:22 UTC',
  '1709425042.123456',
  '[  123.456789]',
  '<38>Mar  3 00:17:22',
];
const HOSTS = ['web1', 'bastion.example.org', '10.0.0.7', ''];
const TAGS = ['sshd[1234]:', 'sshd-session[42]:', 'sudo:', 'CRON[1002]:', '/usr/sbin/cron[12]:', 'kernel:', 'su[77]:', 'systemd-logind[500]:', 'login[9]:'];
const MESSAGES = ['Failed password for root from 203.0.113.5 port 52144 ssh2', 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)', '', 'x'];

function layouts(): string[] {
  const lines: string[] = [];
  for (const t of TIMESTAMPS) for (const h of HOSTS) for (const tag of TAGS) for (const m of MESSAGES) lines.push([t, h, tag, m].filter((p) => p !== '').join(' '));
  return lines;
}

const ALPHABET = ' :[]/.-+TZ<>0123456789aMD@_\u00e9\t';

/** Up to three random edits in the first 48 characters, where the prefix is. */
function mutate(line: string, rand: () => number): string {
  let out = line;
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * Math.min(48, out.length + 1));
    const ch = ALPHABET[Math.floor(rand() * ALPHABET.length)] as string;
    const op = rand();
    if (op < 0.4) out = out.slice(0, at) + ch + out.slice(at + 1);
    else if (op < 0.7) out = out.slice(0, at) + ch + out.slice(at);
    else if (op < 0.9) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at); // cut
  }
  return out;
}

const NOW = new Date(2024, 5, 15, 12).getTime();

function described(line: string, s: PrefixScan, year: number | undefined): Record<string, unknown> {
  return {
    kind: s.kind,
    rfc5424: s.rfc5424,
    time: s.kind === 0 ? null : [s.timeStart, s.timeEnd],
    host: [s.hostStart, s.hostEnd],
    program: [s.progStart, s.progEnd],
    pid: pidOf(s, line),
    msgStart: s.msgStart,
    at: timeOf(s, line, NOW, year),
  };
}

function compare(lines: readonly string[]): { fast: number } {
  // One scan object each, reused as the matcher reuses its own, so state left by one line
  // that leaks into the next would show up as a difference.
  const fastScan = new PrefixScan();
  const slowScan = new PrefixScan();
  let fast = 0;
  for (const line of lines) {
    for (const year of [undefined, 2024]) {
      scanPrefix(line, fastScan);
      if (!fastScan.timeParsed) fast++;
      scanPrefixSlow(line, slowScan);
      assert.deepEqual(described(line, fastScan, year), described(line, slowScan, year), `line ${JSON.stringify(line)}`);
    }
  }
  return { fast };
}

describe('scanPrefix fast path', () => {
  it('agrees with the reference scanner on every layout, and takes the fast path for RFC 3164 and RFC 3339 lines', () => {
    const lines = layouts();
    const { fast } = compare(lines);
    const common = lines.filter((l) => /^(?:[A-Z][a-z]{2} |\d{4}-)/.test(l)).length;
    // Each line is scanned twice (two years); most common-layout lines must not fall back.
    assert.ok(fast >= common, `fast path taken ${fast} times for ${common} common-layout lines (x2)`);
  });

  it('agrees with the reference scanner on the auth corpus', () => {
    const { fast } = compare(authCorpus.map((e) => e.line));
    assert.ok(fast > authCorpus.length, 'the corpus is mostly RFC 3164: the fast path must be taken');
  });

  it('agrees with the reference scanner on 40,000 mutated lines', () => {
    const rand = mulberry32(20261122);
    const base = [...layouts(), ...authCorpus.map((e) => e.line)];
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(mutate(base[Math.floor(rand() * base.length)] as string, rand));
    compare(lines);
  });

  it('agrees on hand-picked edges', () => {
    compare([
      'Mar 00 00:00:00 web1 sshd[1]: day zero',
      'Mar 32 00:00:00 web1 sshd[1]: day 32',
      'Mar   3 00:00:00 web1 sshd[1]: three spaces',
      'Mar  03 00:00:00 web1 sshd[1]: two spaces and a zero-padded day',
      'Mar  03 00:00:00.5 web1 sshd[1]: the same with a fraction',
      'Mar 123 00:00:00 web1 sshd[1]: three digits',
      'Mar  3 00:00:00. web1 sshd[1]: bare dot',
      'Mar  3 00:00:00.5x web1 sshd[1]: fraction then letter',
      'Mar  3 00:00:00',
      'Mar  3 00:00:00 ',
      'Mar  3 00:00:00    ',
      'Mar  3 00:00:00 web1',
      'Mar  3 00:00:00 web1 ',
      `Mar  3 00:00:00 web1 ${'a'.repeat(64)}: 64-character tag`,
      `Mar  3 00:00:00 web1 ${'a'.repeat(65)}: 65-character tag`,
      'Mar  3 00:00:00 web1 foo[1 2]: pid with a space',
      'Mar  3 00:00:00 foo[1 2]: pid with a space, no host',
      'Mar  3 00:00:00 web1 foo[[1]: two brackets',
      'Mar  3 00:00:00 web1 foo[]: empty pid',
      'Mar  3 00:00:00 web1 foo[1234567890123]: 13-character pid',
      'Mar  3 00:00:00 web1 /usr/sbin/: path without a name',
      'Mar  3 00:00:00 web1 /usr/sbin/cron:',
      'Mar  3 00:00:00 web1 sshd:x no space after the colon',
      'Mar  3 00:00:00 a/b c/d[1]: slashes in host and tag',
      'Mar  3 00:00:00 sshd: tag in the host position',
      'Mar  3 00:00:00 web1: sshd[1]: host ending in a colon',
      'Mar  3 00:00:00 we[b1 sshd[1]: host with a bracket',
      'Mar  3 00:00:00 : sshd[1]: host that is a colon',
      '2024-03-01T00:00:00+0 host sshd[1]: short zone',
      '2024-03-01T00:00:00+05:3 host sshd[1]: short zone minutes',
      '2024-13-01T00:00:00Z host sshd[1]: month 13',
      '2024-03-01X00:00:00Z host sshd[1]: bad separator',
      '2024-03-01T00:00:00Zhost sshd[1]: no space after the zone',
    ]);
  });
});
