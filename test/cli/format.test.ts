import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAlert, resolveAlert } from '../../src/core/alert.js';
import { escapeTerminal, truncateMiddle } from '../../src/core/text.js';
import { formatAlert } from '../../src/cli/format.js';
import { ProgressLine } from '../../src/cli/progress.js';

describe('escapeTerminal', () => {
  it('neutralises ANSI escapes, C1 controls and bidi overrides', () => {
    assert.equal(escapeTerminal('a\u001b[31mred\u001b]0;pwned\u0007'), 'a\\x1b[31mred\\x1b]0;pwned\\x07');
    assert.equal(escapeTerminal('x\u009bA'), 'x\\u009bA');
    assert.equal(escapeTerminal('invoice\u202efdp.exe'), 'invoice\\u202efdp.exe');
    assert.equal(escapeTerminal('a\r\nb\tc'), 'a\\r\nb\tc');
    assert.equal(escapeTerminal('a\nb\tc', { singleLine: true }), 'a\\nb\\tc');
    assert.equal(escapeTerminal('café ünïcode ✓'), 'café ünïcode ✓');
  });

  it('truncates in the middle', () => {
    assert.equal(truncateMiddle('/home/alice/very/long/path/file.exe', 15), '/home/a…ile.exe');
    assert.equal(truncateMiddle('short', 15), 'short');
  });
});

describe('formatAlert', () => {
  const alert = createAlert({
    source: 'log',
    rule: 'sshd.brute-force',
    severity: 'critical',
    title: 'SSH brute force from 203.0.113.5\u001b[2J',
    summary: 'line one\nline two',
    labels: { host: '203.0.113.5', user: 'ro\u001bot' },
    evidence: ['Failed password for \u001b[31mroot', 'two', 'three'],
    time: new Date('2026-01-02T03:04:05Z'),
    hostname: 'web-1',
  });

  it('renders one readable block with every attacker-controlled field escaped', () => {
    const text = formatAlert(alert, { maxEvidence: 2 });
    assert.ok(!text.includes('\u001b'), 'no raw ESC may survive');
    const lines = text.split('\n');
    assert.equal(lines[0], '[CRITICAL] FIRING  SSH brute force from 203.0.113.5\\x1b[2J');
    assert.match(text, /rule {6}log \/ sshd\.brute-force/);
    assert.match(text, /when {6}2026-01-02T03:04:05\.000Z on web-1/);
    assert.match(text, /labels {4}host=203\.0\.113\.5 user=ro\\x1bot/);
    assert.match(text, /summary {3}line one\n {12}line two/);
    assert.match(text, /evidence {2}\| Failed password for \\x1b\[31mroot\n {12}\| two\n {12}… 1 more/);
  });

  it('marks resolved alerts and adds colour only when asked', () => {
    const resolved = formatAlert(resolveAlert(alert, { time: new Date('2026-01-02T03:10:00Z') }));
    assert.match(resolved, /^\[RESOLVED\] Resolved: SSH brute force/);
    const coloured = formatAlert(alert, { color: true });
    assert.ok(coloured.startsWith('\u001b[1;31m[CRITICAL]\u001b[0m'));
  });
});

describe('ProgressLine', () => {
  function capture(isTTY: boolean): { stream: { write(s: string): boolean; isTTY: boolean; columns: number }; out: string[] } {
    const out: string[] = [];
    return { out, stream: { isTTY, columns: 80, write: (s: string) => out.push(s) > 0 } };
  }
  it('draws nothing when the stream is not a terminal', () => {
    const { stream, out } = capture(false);
    const line = new ProgressLine(stream, 'scanning');
    line.update({ done: 3, current: '/tmp/x' }, true);
    line.clear();
    assert.deepEqual(out, []);
  });
  it('redraws one line on a terminal, escaping the current path', () => {
    const { stream, out } = capture(true);
    const line = new ProgressLine(stream, 'scanning');
    line.update({ done: 5, total: 10, detail: '2 found', current: '/home/\u001b[31mevil' }, true);
    assert.equal(out.length, 1);
    assert.match(out[0] ?? '', /^\r\u001b\[2Kscanning \[#{10}-{10}\] 5\/10 2 found · \/home\/\\x1b\[31mevil$/);
    line.clear();
    assert.equal(out[1], '\r\u001b[2K');
  });
  it('redraws at most once per interval of its own clock', () => {
    const { stream, out } = capture(true);
    let t = 1_000_000;
    const line = new ProgressLine(stream, 'scanning', { intervalMs: 100, clock: () => t });
    line.update({ done: 1 });
    line.update({ done: 2 });
    assert.equal(out.length, 1, 'the second update came within the interval');
    t += 100;
    line.update({ done: 3 });
    assert.equal(out.length, 2);
    assert.match(out[1] ?? '', /scanning 3$/);
  });
});
