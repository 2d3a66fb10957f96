import assert from 'node:assert/strict';
import { appendFile, chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { LineSplitter } from '../../src/logwatcher/lines.js';
import { runScript } from '../helpers/run-script.js';
import { runUnprivileged } from '../helpers/unprivileged.js';
import { harness, tempDir } from './helpers.js';
import { mulberry32 } from '../helpers/prng.js';

function split(max: number, ...chunks: (string | Buffer)[]): { lines: [string, number][]; pending: number } {
  const splitter = new LineSplitter(max);
  const lines: [string, number][] = [];
  for (const chunk of chunks) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    // The caller's buffer is reused between reads: pass a larger one with garbage after `length`.
    const reused = Buffer.concat([buf, Buffer.from('\nGARBAGE\n')]);
    splitter.push(reused, buf.length, (line, cut) => lines.push([line, cut]));
  }
  return { lines, pending: splitter.pendingBytes };
}

test('LineSplitter: CRLF, NUL bytes, invalid UTF-8 and split chunks', () => {
  const { lines, pending } = split(
    1024,
    'crlf\r\nnul\0\0\0 bytes\n',
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a]), // "bad" + invalid bytes
    Buffer.from('caf\xc3', 'latin1'), // "café" split inside its two-byte é
    Buffer.from([0xa9, 0x0a]),
    'partial',
  );
  assert.deepEqual(lines, [
    ['crlf', 0],
    ['nul bytes', 0],
    ['bad\ufffd\ufffd', 0],
    ['café', 0],
  ]);
  assert.equal(pending, 'partial'.length, 'the unfinished line is held, not emitted');
});

test('LineSplitter: any ASCII text, read in any pieces, gives the same lines as splitting it whole', () => {
  // ASCII reads are decoded once and sliced; reads with other bytes line by line: both,
  // and lines carried across reads, must agree with the plain definition.
  const random = mulberry32(11);
  const next = (n: number): number => Math.floor(random() * n);
  const max = 40;
  for (let round = 0; round < 200; round++) {
    const lines = Array.from({ length: 1 + next(30) }, () => {
      const len = [0, 1, 5, 39, 40, 41, 90][next(7)] as number;
      return Array.from({ length: len }, () => 'ab \r:x'[next(6)]).join('');
    });
    const text = lines.join('\n') + '\n';
    const expected = lines.map((l): [string, number] => (l.length > max ? [l.slice(0, max), l.length - max] : [l.endsWith('\r') ? l.slice(0, -1) : l, 0]));
    const pieces: string[] = [];
    for (let at = 0; at < text.length;) {
      const size = 1 + next(next(2) === 0 ? 8 : 200);
      pieces.push(text.slice(at, at + size));
      at += size;
    }
    assert.deepEqual(split(max, ...pieces).lines, expected, `round ${round}`);
  }
});

test('LineSplitter: large ASCII reads, decoded in pieces, give the same lines (long, empty and cut ones at the seams)', () => {
  const random = mulberry32(5);
  const next = (n: number): number => Math.floor(random() * n);
  const max = 100_000;
  for (let round = 0; round < 12; round++) {
    const lines = Array.from({ length: 10 + next(60) }, (_, i) => {
      const len = [0, 0, 1, 80, 65_535, 65_536, 65_537, 70_000, 99_999, 140_000][next(10)] as number;
      return String.fromCharCode(97 + (i % 26)).repeat(len);
    });
    const text = lines.join('\n') + '\n';
    const expected = lines.map((l): [string, number] => (l.length > max ? [l.slice(0, max), l.length - max] : [l, 0]));
    const pieces: string[] = [];
    for (let at = 0; at < text.length;) {
      const size = 1 + next(400_000);
      pieces.push(text.slice(at, at + size));
      at += size;
    }
    assert.deepEqual(
      split(max, ...pieces).lines.map(([line, cut]) => [line.length, line[0], cut]),
      expected.map(([line, cut]) => [line.length, line[0], cut]),
      `round ${round}`,
    );
  }
});

test('LineSplitter: a huge line is cut at the limit and its size reported; memory stays bounded', () => {
  const splitter = new LineSplitter(100);
  const out: [string, number][] = [];
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  // 10 MiB without a newline: the held part never exceeds the limit.
  for (let i = 0; i < 160; i++) splitter.push(chunk, chunk.length, (l, c) => out.push([l, c]));
  assert.equal(splitter.pendingBytes, 160 * 64 * 1024);
  assert.equal(out.length, 0);
  splitter.push(Buffer.from('tail\nnext\n'), 10, (l, c) => out.push([l, c]));
  assert.equal(out.length, 2);
  assert.equal(out[0]?.[0], 'a'.repeat(100));
  assert.equal(out[0]?.[1], 160 * 64 * 1024 + 4 - 100);
  assert.deepEqual(out.slice(1), [['next', 0]]);
  // Inside one chunk, too.
  const one = split(10, `${'b'.repeat(25)}\nok\n`);
  assert.deepEqual(one.lines, [
    ['b'.repeat(10), 15],
    ['ok', 0],
  ]);
});

test('LineSplitter: a cut never leaves half a character', () => {
  // 'é' is two bytes: a limit of 4 falls inside the third é of "ééé…".
  const { lines } = split(5, `${'é'.repeat(10)}\n`);
  assert.deepEqual(lines, [['éé', 20 - 5]]); // cutBytes counts the bytes past the limit
  const emoji = split(6, `${'😀'.repeat(3)}\n`); // four bytes each
  assert.deepEqual(emoji.lines, [['😀', 12 - 6]]);
});

test('LogWatcher: bad input is handled, cut lines are flagged, nothing is dropped', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file], maxLineLength: 1024 });
  const truncatedFlags: boolean[] = [];
  h.watcher.on('match', (m) => truncatedFlags.push(m.truncated === true));
  await h.watcher.start();
  await appendFile(
    file,
    Buffer.concat([
      Buffer.from('windows line\r\n'),
      Buffer.from([0, 0, 0, 0]), // what a crash leaves in a log
      Buffer.from('after the NULs\n'),
      Buffer.from([0xc3, 0x28, 0x0a]), // invalid UTF-8
      Buffer.from(`${'x'.repeat(5000)}\n`),
      Buffer.from('normal\n'),
      Buffer.from('no newline yet'),
    ]),
  );
  await h.waitLines(5);
  await h.settle();
  assert.deepEqual(h.lines, ['windows line', 'after the NULs', '\ufffd(', 'x'.repeat(1024), 'normal']);
  assert.deepEqual(truncatedFlags, [false, false, false, true, false]);
  const cut = h.warnings.find((w) => w.code === 'line-truncated');
  assert.equal(cut?.lineNumber, 4);
  assert.equal(cut?.cutBytes, 5000 - 1024);
  await appendFile(file, '\n');
  await h.waitLines(6);
  assert.equal(h.lines[5], 'no newline yet');
  assert.deepEqual(h.errors, []);
});

test('LogWatcher: a throwing listener becomes an error event and does not stop following', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file] });
  h.watcher.on('match', (m) => {
    if (m.line === 'boom') throw new Error('listener bug');
  });
  await h.watcher.start();
  await appendFile(file, 'before\nboom\nafter\n');
  await h.waitLines(3);
  assert.deepEqual(h.lines, ['before', 'boom', 'after']);
  assert.equal(h.errors.length, 1);
  assert.equal((h.errors[0] as { code?: string }).code, 'ERR_LISTENER');
});

test('LogWatcher: an unreadable file is reported once and read once it becomes readable', async (t) => {
  const dir = await tempDir(t);
  // root reads any file whatever its mode, so the check runs as `nobody` then.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chown(dir, 65534, 65534);
  const fixture = new URL('./fixtures/unreadable.ts', import.meta.url);
  // As nobody, the child runs from a bundle in a temp dir: the clone may live where nobody cannot enter.
  const child = asRoot ? await runUnprivileged(fixture, [dir]) : await runScript(fixture, [dir], 60_000);
  assert.equal(child.code, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { warnings: string[]; lines: string[] };
  assert.deepEqual(result.warnings, ['unreadable']);
  assert.deepEqual(result.lines, ['secret line']);
});
