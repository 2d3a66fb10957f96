import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWarning } from '../../src/core/warning.js';

describe('createWarning()', () => {
  it('keeps the exact path and adds an escaped display path', () => {
    const path = '/home/u/inv\u202efdp.exe\n';
    const w = createWarning('unreadable', 'Cannot read it', { path, cause: new Error('EACCES') });
    assert.equal(w.code, 'unreadable');
    assert.equal(w.path, path);
    assert.equal(w.displayPath, '/home/u/inv\\u202efdp.exe\\n');
    assert.equal(w.rawPath, undefined);
    assert.equal((w.cause as Error).message, 'EACCES');
  });

  it('keeps the raw bytes of a name that is not UTF-8', () => {
    const raw = Buffer.from([0x2f, 0x78, 0xff]);
    const w = createWarning('vanished', 'gone', { path: raw });
    assert.deepEqual(w.rawPath, raw);
    assert.equal(w.displayPath, '/x\\xff');
    const ok = createWarning('vanished', 'gone', { path: Buffer.from('/é') });
    assert.equal(ok.path, '/é');
    assert.equal(ok.rawPath, undefined);
  });

  it('makes the message one safe, bounded line', () => {
    const w = createWarning('bad-line', `line\n\x1b[31mforged\u2028${'x'.repeat(5000)}`);
    assert.ok(w.message.startsWith('line\\n\\x1b[31mforged\\u2028'));
    assert.ok(w.message.length <= 2000);
    assert.equal('path' in w, false);
    assert.equal('cause' in w, false);
  });
});
