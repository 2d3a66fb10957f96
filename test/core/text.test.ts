import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayPath, escapeHtml, escapeSlack, escapeTerminal, isValidUtf8, safeText } from '../../src/core/text.js';

describe('safeText()', () => {
  it('leaves plain text, tabs and line feeds alone (the same string, not a copy)', () => {
    const text = 'Failed password for root from 203.0.113.5 port 22 ssh2\n\tnext ünïcødé 日本 🚀';
    assert.equal(safeText(text), text);
  });

  it('makes ANSI sequences, C0/C1 controls, bidi overrides, zero-width and U+2028/2029 visible', () => {
    assert.equal(safeText('a\x1b[2Jb'), 'a\\x1b[2Jb');
    assert.equal(safeText('a\x00b\x7fc'), 'a\\x00b\\x7fc');
    assert.equal(safeText('a\u0085b\u009bc'), 'a\\u0085b\\u009bc');
    assert.equal(safeText('invoice\u202Efdp.exe'), 'invoice\\u202efdp.exe');
    assert.equal(safeText('ad\u200Bmin\u2066x\u2069'), 'ad\\u200bmin\\u2066x\\u2069');
    assert.equal(safeText('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
    assert.equal(safeText('x\ufeffy\u00adz'), 'x\\ufeffy\\u00adz');
    assert.equal(safeText('tag\u{E0041}'), 'tag\\u{e0041}');
    assert.equal(safeText('a\rb'), 'a\\rb');
  });

  it('escapes a lone surrogate but keeps a pair', () => {
    assert.equal(safeText('a\ud800b'), 'a\\ud800b');
    assert.equal(safeText('🚀'), '🚀');
  });

  it('escapes line feeds and tabs on one line', () => {
    assert.equal(safeText('a\nb\tc', { singleLine: true }), 'a\\nb\\tc');
  });

  it('cuts at max with …, never inside an escape or a surrogate pair', () => {
    assert.equal(safeText('abcdef', { max: 4 }), 'abc…');
    assert.equal(safeText('abcd', { max: 4 }), 'abcd');
    assert.equal(safeText('ab\x1bcdef', { max: 5 }), 'ab…', 'the 4-character escape does not fit, so it is left out whole');
    assert.equal(safeText('a🚀bc', { max: 3 }), 'a…');
    for (let max = 1; max < 30; max++) {
      const out = safeText('x\x1b\u202e🚀'.repeat(5), { max });
      assert.ok(out.length <= max, `max ${max}: ${out}`);
      assert.doesNotMatch(out, /\\(?:x[0-9a-f]?|u[0-9a-f]{0,3})…$/, `max ${max} split an escape: ${out}`);
    }
  });

  it('reads only what fits in max from a huge line', () => {
    const huge = '\x1b'.repeat(5_000_000);
    const out = safeText(huge, { max: 100 });
    assert.equal(out.length, 97);
    assert.ok(out.endsWith('…'));
  });

  it('is idempotent', () => {
    const once = safeText('a\x1b\u202e\n\u2028b', { singleLine: true });
    assert.equal(safeText(once, { singleLine: true }), once);
  });

  it('escapeTerminal is safeText', () => {
    assert.equal(escapeTerminal('a\x1b]0;pwned\x07', { singleLine: true }), 'a\\x1b]0;pwned\\x07');
  });
});

describe('channel escapers', () => {
  it('escapeSlack neutralises mentions and links on top of safeText', () => {
    assert.equal(escapeSlack('<!channel> & <@U1> <https://evil|click>'), '&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://evil|click&gt;');
    assert.equal(escapeSlack('a\u202eb'), 'a\\u202eb');
  });

  it('escapeHtml escapes markup and quotes on top of safeText', () => {
    assert.equal(escapeHtml(`<script>"x"'y'\`</script>\x1b`), '&lt;script&gt;&quot;x&quot;&#39;y&#39;&#96;&lt;/script&gt;\\x1b');
  });

  it('never cuts an entity in half', () => {
    for (let max = 1; max < 20; max++) {
      const out = escapeSlack('<<<<<&&&&', { max });
      assert.ok(out.length <= max);
      assert.doesNotMatch(out, /&[a-z]*…$/, `max ${max}: ${out}`);
    }
  });
});

describe('displayPath()', () => {
  it('shows bytes that are not UTF-8 as \\xNN, distinct from the characters U+0080–U+00FF', () => {
    const raw = Buffer.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0xc3, 0xa9, 0x85]);
    assert.equal(displayPath(raw), '/tmp/\\xffé\\x85');
    assert.equal(displayPath('/tmp/\u00ff\u0085'), '/tmp/ÿ\\u0085');
  });

  it('shows a backslash as \\\\ so a literal "\\x1b" in a name never looks like ESC', () => {
    assert.equal(displayPath('/a\\x1b'), '/a\\\\x1b');
    assert.equal(displayPath('/a\x1b'), '/a\\x1b');
  });

  it('rejects overlong forms and encoded surrogates as invalid bytes', () => {
    assert.equal(displayPath(Buffer.from([0xc0, 0xaf])), '\\xc0\\xaf');
    assert.equal(displayPath(Buffer.from([0xed, 0xa0, 0x80])), '\\xed\\xa0\\x80');
    assert.equal(displayPath(Buffer.from([0xe2, 0x80])), '\\xe2\\x80');
    assert.equal(isValidUtf8(Buffer.from('日本🚀')), true);
    assert.equal(isValidUtf8(Buffer.from([0xf5, 0x80, 0x80, 0x80])), false);
  });

  it('is one line and bounded', () => {
    assert.equal(displayPath('/a\nb'), '/a\\nb');
    assert.equal(displayPath(`/${'x'.repeat(10_000)}`).length, 4096);
    assert.equal(displayPath(Buffer.alloc(10_000, 0xff), { max: 10 }), '\\xff\\xff…');
  });
});
