import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { AbortedError, authRules, defineRule, InvalidOptionError, IoError, matchFile, matchLines, type LogMatch } from '../../src/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostwarden-logrules-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(iterable: AsyncIterable<LogMatch>): Promise<LogMatch[]> {
  const out: LogMatch[] = [];
  for await (const m of iterable) out.push(m);
  return out;
}

/** The descriptor this process holds open on `path`. */
async function fdOn(path: string): Promise<number> {
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)) === path) return Number(fd);
    } catch {
      // closed meanwhile
    }
  }
  throw new Error(`${path} is not open`);
}

const failed = (n: number): string => `Mar  3 00:17:${String(n % 60).padStart(2, '0')} web1 sshd[1]: Failed password for root from 203.0.113.${n % 250} port 22 ssh2`;

describe('matchFile', () => {
  it('numbers lines from 1 and reports the file', async () => {
    const path = join(dir, 'numbers.log');
    await writeFile(path, ['noise', failed(1), 'more noise', failed(2), ''].join('\n'));
    const matches = await collect(matchFile(path, { year: 2024 }));
    assert.deepEqual(
      matches.map((m) => [m.lineNumber, m.file, m.fields.host]),
      [
        [2, path, '203.0.113.1'],
        [4, path, '203.0.113.2'],
      ],
    );
    assert.deepEqual(matches[0]?.time, new Date(2024, 2, 3, 0, 17, 1));
    assert.equal(matches[0]?.program, 'sshd');
    assert.equal(matches[0]?.pid, 1);
  });

  it('gives lines without a timestamp the time the clock says they were read', async () => {
    const path = join(dir, 'timeless.log');
    await writeFile(path, 'Failed password for root from 192.0.2.1 port 22 ssh2\n');
    const read = new Date('2024-05-05T05:05:05Z').getTime();
    const [m] = await collect(matchFile(path, { clock: () => read }));
    assert.equal(m?.time.getTime(), read);
  });

  it('tolerates CRLF, NUL bytes, invalid UTF-8 and a last line without newline', async () => {
    const path = join(dir, 'dirty.log');
    const bytes = Buffer.concat([
      Buffer.from(`${failed(1)}\r\n`),
      Buffer.from([0x00, 0x00, 0xff, 0xfe, 0xc3, 0x28, 0x0a]), // NULs and invalid UTF-8, own line
      Buffer.from('Mar  3 00:17:22 web1 sshd[1]: Invalid user \u00e9\u00e8'),
      Buffer.from([0xff, 0x00]),
      Buffer.from(' from 203.0.113.7 port 22\n'),
      Buffer.from(failed(9)), // no trailing newline
    ]);
    await writeFile(path, bytes);
    const matches = await collect(matchFile(path, { year: 2024 }));
    assert.deepEqual(
      matches.map((m) => [m.lineNumber, m.rule.id, m.fields.host]),
      [
        [1, 'sshd.failed-auth', '203.0.113.1'],
        [3, 'sshd.invalid-user', '203.0.113.7'],
        [4, 'sshd.failed-auth', '203.0.113.9'],
      ],
    );
    assert.ok(!matches[0]?.line.endsWith('\r'));
    assert.equal(matches[1]?.fields.user, '\u00e9\u00e8\ufffd\u0000');
  });

  it('cuts very long lines, flags them, and keeps counting lines', async () => {
    const path = join(dir, 'long.log');
    const long = `Mar  3 00:17:22 web1 sshd[1]: Failed password for root from 203.0.113.3 port 22 ssh2 ${'x'.repeat(3_000_000)}`;
    const longMatching = `Mar  3 00:17:22 web1 sshd[1]: Invalid user ${'y'.repeat(100)} from 203.0.113.4 port 22`;
    await writeFile(path, [long, longMatching, failed(5)].join('\n') + '\n');
    const rule = defineRule({ id: 'any.line', description: 'any', severity: 'info', tags: [], pattern: /^/ });
    const all = await collect(matchFile(path, { rules: [rule], maxLineLength: 1000 }));
    assert.deepEqual(
      all.map((m) => [m.lineNumber, m.line.length <= 1000, m.truncated === true]),
      [
        [1, true, true],
        [2, true, false],
        [3, true, false],
      ],
    );
    assert.equal(all[0]?.line.length, 1000);
    const auth = await collect(matchFile(path, { maxLineLength: 1000 }));
    assert.deepEqual(
      auth.map((m) => m.lineNumber),
      [2, 3],
    );
  });

  it('cuts a long line that spans read chunks', async () => {
    const path = join(dir, 'span.log');
    // 1 MiB reads: put a 1.5 MiB line across the first boundary.
    const filler = 'z'.repeat(1_500_000);
    await writeFile(path, `${failed(1)}\n${filler}\n${failed(2)}\n`);
    const rule = defineRule({ id: 'any.line', description: 'any', severity: 'info', tags: [], pattern: /^/ });
    const all = await collect(matchFile(path, { rules: [rule] }));
    assert.deepEqual(
      all.map((m) => [m.lineNumber, m.line.length, m.truncated ?? false]),
      [
        [1, failed(1).length, false],
        [2, 65_536, true],
        [3, failed(2).length, false],
      ],
    );
  });

  it('streams a multi-chunk file and finds every match', async () => {
    const path = join(dir, 'big.log');
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) lines.push(i % 3 === 0 ? failed(i) : `Mar  3 00:17:22 web1 CRON[${i}]: pam_unix(cron:session): session closed for user root`);
    await writeFile(path, lines.join('\n') + '\n');
    const matches = await collect(matchFile(path));
    assert.equal(matches.length, 20_000);
    assert.equal(matches.at(-1)?.lineNumber, 59_998);
  });

  it('keeps no read chunk alive through the lines or fields a caller keeps', async () => {
    // Lines and captures start as slices of a read's decoded piece (about 64 KiB); a kept
    // line or field must not pin it, or collecting one per 64 KiB would hold the whole file
    // in memory.
    const path = join(dir, 'pinning.log');
    const filler = `Mar  3 00:17:22 web1 CRON[9]: ${'x'.repeat(200)}\n`.repeat(Math.ceil((1 << 16) / 231));
    const chunks = 768;
    const attempt = (i: number): string => `Mar  3 00:17:22 web1 sshd[${i}]: Failed password for invalid user someone-${i} from 2001:db8:ffff::${i} port 22 ssh2\n`;
    await writeFile(path, Array.from({ length: chunks }, (_, i) => attempt(i) + filler).join(''));
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Reads are decoded into strings held outside the V8 heap: count both, once what earlier
    // tests left behind has been collected and released (which can take a turn of the loop).
    const used = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { heapUsed, external } = process.memoryUsage();
      return heapUsed + external;
    };
    for (const keep of [(m: LogMatch): unknown => m.line, (m: LogMatch): unknown => m.fields]) {
      const before = await used();
      const kept = (await collect(matchFile(path, { year: 2024 }))).map(keep);
      const grown = (await used()) - before;
      assert.equal(kept.length, chunks);
      assert.ok(grown < 8 * 2 ** 20, `${chunks} kept values hold ${(grown / 2 ** 20).toFixed(1)} MiB`);
    }
  });

  it('reports an unreadable file as IoError from the iteration, bad options at once', async () => {
    await assert.rejects(collect(matchFile(join(dir, 'missing.log'))), (e: unknown) => e instanceof IoError && e.errno === 'ENOENT');
    await assert.rejects(collect(matchFile(dir)), (e: unknown) => e instanceof IoError && e.errno === 'EISDIR' && e.path === dir);
    assert.throws(() => matchFile(''), InvalidOptionError);
    assert.throws(() => matchFile(join(dir, 'x'), { maxLineLength: 1 }), /maxLineLength/);
    assert.throws(() => matchFile(join(dir, 'x'), { rules: [{}] as never }), /rules\[0\]/);
  });

  it('closes the file when the loop breaks early', async () => {
    const path = join(dir, 'early.log');
    await writeFile(path, `${failed(1)}\n`.repeat(100_000));
    const openOnPath = async (): Promise<number> => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) {
        try {
          if ((await readlink(`/proc/self/fd/${fd}`)) === path) n++;
        } catch {
          // closed meanwhile
        }
      }
      return n;
    };
    for await (const m of matchFile(path)) {
      assert.equal(m.lineNumber, 1);
      assert.equal(await openOnPath(), 1);
      break;
    }
    assert.equal(await openOnPath(), 0);
  });

  it('hands out every line read before a read fails, then the IoError (the next read is issued early)', async () => {
    const path = join(dir, 'read-error.log');
    const line = `${failed(1)}\n`;
    const total = Math.ceil((3.5 * 2 ** 20) / line.length);
    await writeFile(path, line.repeat(total));
    const matches: LogMatch[] = [];
    // A real read error: the descriptor is closed under the reader after its first read.
    await assert.rejects(
      (async () => {
        for await (const m of matchFile(path)) {
          matches.push(m);
          if (matches.length === 1) closeSync(await fdOn(path));
        }
      })(),
      (e: unknown) => e instanceof IoError && e.syscall === 'read' && e.errno === 'EBADF' && e.path === path,
    );
    assert.ok(matches.length >= Math.floor(2 ** 20 / line.length), `the first read's lines all came out (${matches.length})`);
    assert.ok(matches.length < total);
    matches.forEach((m, i) => assert.equal(m.lineNumber, i + 1));
  });

  it('stops on an abort during the iteration and closes the file', async () => {
    const path = join(dir, 'abort-late.log');
    await writeFile(path, `${failed(1)}\n`.repeat(Math.ceil((3 * 2 ** 20) / failed(1).length)));
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const m of matchFile(path, { signal: ac.signal })) {
          seen = m.lineNumber;
          if (seen === 1) ac.abort();
        }
      })(),
      AbortedError,
    );
    assert.ok(seen >= 1 && seen < (3 * 2 ** 20) / failed(1).length);
    await assert.rejects(fdOn(path), /not open/);
  });

  it('stops on abort', async () => {
    const path = join(dir, 'abort.log');
    await writeFile(path, `${failed(1)}\n`.repeat(10));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(collect(matchFile(path, { signal: ac.signal })), AbortedError);
  });
});

describe('matchLines', () => {
  it('takes sync and async iterables, strips line endings, defaults to authRules', async () => {
    async function* gen(): AsyncGenerator<string> {
      yield `${failed(1)}\r\n`;
      yield 'noise';
      yield failed(2);
    }
    const a = await collect(matchLines(gen(), { file: 'sample' }));
    assert.deepEqual(
      a.map((m) => [m.lineNumber, m.file]),
      [
        [1, 'sample'],
        [3, 'sample'],
      ],
    );
    assert.ok(!a[0]?.line.endsWith('\n'));
    // A string is iterable (by character): refused rather than matched letter by letter.
    assert.throws(() => matchLines('one line'), /lines/);
    const b = await collect(matchLines([failed(1)]));
    assert.equal(b[0]?.file, '<lines>');
    assert.equal(b[0]?.rule, authRules[0]);
  });

  it('parses every line on its own, whatever the line before it looked like', async () => {
    const rule = defineRule({ id: 'any.line', description: 'any', severity: 'info', tags: [], pattern: /^(?<msg>.*)$/ });
    const lines = [
      'Mar  3 00:17:22 web1 sshd[1]: a',
      'Mar  3 00:17:22 web1 sshd[2]: b',
      'Mar  3 00:17:22.5 web1 sshd[3]: c',
      'Mar  3 00:17:22 web2 sudo: d',
      'Mar  3 00:17:22 sshd[4]: e',
      'Mar  3 00:17:22 web2: f',
      '<38>1 2024-03-01T00:00:00Z web3 su 5 - - g',
      'Mar  3 00:17:23 web2 su[6]: h',
      '2024-03-01T00:00:00Z web2 sshd[7]: i',
      '2024-03-01T00:00:00Z web2 sshd[8]: j',
      '2024-03-01T00:00:00+01:00 web2 sshd[9]: k',
      'Mar 33 00:17:23 web2 su[6]: l',
      'Mar  3 00:17:23 web2 su[6]: m',
    ];
    const matches = await collect(matchLines(lines, { rules: [rule], year: 2024 }));
    assert.deepEqual(
      matches.map((m) => [m.fields.msg, m.program, m.time.getTime()]),
      [
        ['a', 'sshd', new Date(2024, 2, 3, 0, 17, 22).getTime()],
        ['b', 'sshd', new Date(2024, 2, 3, 0, 17, 22).getTime()],
        ['c', 'sshd', new Date(2024, 2, 3, 0, 17, 22, 500).getTime()],
        ['d', 'sudo', new Date(2024, 2, 3, 0, 17, 22).getTime()],
        ['e', 'sshd', new Date(2024, 2, 3, 0, 17, 22).getTime()],
        ['f', 'web2', new Date(2024, 2, 3, 0, 17, 22).getTime()],
        ['g', 'su', Date.parse('2024-03-01T00:00:00Z')],
        ['h', 'su', new Date(2024, 2, 3, 0, 17, 23).getTime()],
        ['i', 'sshd', Date.parse('2024-03-01T00:00:00Z')],
        ['j', 'sshd', Date.parse('2024-03-01T00:00:00Z')],
        ['k', 'sshd', Date.parse('2024-02-29T23:00:00Z')],
        ['Mar 33 00:17:23 web2 su[6]: l', undefined, matches[11]?.time.getTime()],
        ['m', 'su', new Date(2024, 2, 3, 0, 17, 23).getTime()],
      ],
    );
  });

  it('matches the same message by the rules of the program that logged it, however often it came before', async () => {
    // The same message text matches nothing from one program and a rule from another, also
    // inside a rsyslog repeat wrapper and after many other messages.
    const rule = defineRule({ id: 'app.denied', description: 'denied', severity: 'info', tags: [], programs: ['app'], prefilter: 'denied', pattern: /^denied (?<user>\S+)$/ });
    // A rule for every program, so 'cron' lines have candidates too (that never match them).
    const root = defineRule({ id: 'any.denied-root', description: 'denied root', severity: 'info', tags: [], pattern: /^denied root$/ });
    const quiet = (prog: string, n: number): string => `Mar  3 00:17:${String(n).padStart(2, '0')} web1 ${prog}[${n}]: denied alice`;
    const lines = [
      ...Array.from({ length: 20 }, (_, n) => quiet('cron', n)),
      quiet('app', 20),
      quiet('cron', 21),
      quiet('app', 22),
      'Mar  3 00:17:23 web1 app[23]: message repeated 3 times: [ denied alice]',
      // Other messages that match nothing fill the memory in between.
      ...Array.from({ length: 40 }, (_, n) => `Mar  3 00:17:24 web1 app[${n}]: noise ${n}`),
      quiet('app', 25),
    ];
    const matches = await collect(matchLines(lines, { rules: [rule, root], year: 2024 }));
    assert.deepEqual(
      matches.map((m) => [m.lineNumber, m.fields.user, m.repeated]),
      [
        [21, 'alice', undefined],
        [23, 'alice', undefined],
        [24, 'alice', 3],
        [65, 'alice', undefined],
      ],
    );
  });

  it('gives lines without a timestamp the reference time', async () => {
    const now = new Date('2024-05-05T05:05:05Z');
    const [m] = await collect(matchLines(['Failed password for root from 192.0.2.1 port 22 ssh2'], { clock: () => now.getTime() }));
    assert.deepEqual(m?.time, now);
    assert.equal(m?.program, undefined);
  });

  it('runs custom rules with named groups and program filters', async () => {
    const rule = defineRule({
      id: 'nginx.auth',
      description: 'nginx basic auth failed',
      severity: 'warning',
      tags: ['auth-failure'],
      programs: ['nginx'],
      prefilter: 'password mismatch',
      pattern: /user "(?<user>[^"]*)": password mismatch, client: (?<host>[\w.:-]+)/,
    });
    const lines = [
      'Mar  3 00:17:22 web1 nginx[5]: 2024/03/03 00:17:22 [error] 5#5: *1 user "admin": password mismatch, client: 203.0.113.5, server: x',
      'Mar  3 00:17:22 web1 other[5]: 2024/03/03 00:17:22 [error] 5#5: *1 user "admin": password mismatch, client: 203.0.113.6, server: x',
    ];
    const matches = await collect(matchLines(lines, { rules: [rule] }));
    assert.deepEqual(
      matches.map((m) => m.fields),
      [{ user: 'admin', host: '203.0.113.5' }],
    );
    assert.ok(Object.isFrozen(rule));
    assert.throws(() => defineRule({ ...rule, pattern: 'x' as never }), /rule\.pattern/);
  });
});
