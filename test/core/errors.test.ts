import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryError, HostwardenError, InvalidOptionError, IoError, ParseError } from '../../src/index.js';

describe('errors', () => {
  it('name the option and the value', () => {
    const error = new InvalidOptionError('interval', -1, 'a finite number >= 0');
    assert.ok(error instanceof HostwardenError);
    assert.equal(error.code, 'ERR_INVALID_OPTION');
    assert.equal(error.name, 'InvalidOptionError');
    assert.equal(error.message, 'Expected `interval` to be a finite number >= 0, got -1');
  });

  it('keep values short and on one line in messages', () => {
    const error = new InvalidOptionError('files', `a\n${'x'.repeat(500)}`, 'a path');
    assert.ok(error.message.length < 140, error.message);
    assert.doesNotMatch(error.message, /\n/);
  });

  it('carry the cause and the system error code', () => {
    const cause = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', syscall: 'open' });
    const error = new IoError('cannot read /var/log/auth.log', { path: '/var/log/auth.log', cause });
    assert.equal(error.cause, cause);
    assert.equal(error.errno, 'EACCES');
    assert.equal(error.syscall, 'open');
    assert.equal(error.path, '/var/log/auth.log');
  });

  it('say whether delivery may be retried', () => {
    const error = new DeliveryError('Slack answered 429', { channel: 'slack', retryable: true, retryAfterMs: 3000, status: 429 });
    assert.equal(error.code, 'ERR_DELIVERY');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 3000);
    const parse = new ParseError('bad line', { source: 'main.hsb', line: 3 });
    assert.equal(parse.line, 3);
  });
});
