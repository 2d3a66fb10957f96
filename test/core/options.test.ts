import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DELAY_MS } from '../../src/core/clock.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { checkSharedOptions, clockOption, durationOption, rejectUnknownKeys } from '../../src/core/options.js';

describe('rejectUnknownKeys()', () => {
  it('accepts known keys', () => {
    assert.doesNotThrow(() => rejectUnknownKeys('X', { interval: 1, clock: undefined }, ['interval', 'clock']));
  });

  it('rejects a typo with "did you mean", naming the component and the key', () => {
    const error = (() => {
      try {
        rejectUnknownKeys('ResourceMonitor', { intervl: 5 }, ['interval', 'rules']);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(error instanceof InvalidOptionError);
    assert.equal(error.option, 'intervl');
    assert.match(error.message, /Unknown option `intervl` of ResourceMonitor \(did you mean `interval`\?\)/);
  });

  it('points the v1 `now` option to `clock`', () => {
    assert.throws(() => rejectUnknownKeys('ResourceMonitor', { now: () => 0 }, ['interval', 'clock']), /did you mean `clock`/);
  });

  it('rejects a key even when its value is undefined, without a far-fetched hint', () => {
    assert.throws(
      () => rejectUnknownKeys('X', { somethingElse: undefined }, ['interval']),
      (e: Error) => !/did you mean/.test(e.message) && /somethingElse/.test(e.message),
    );
  });
});

describe('shared option validators', () => {
  it('accept good values and name the option in errors', () => {
    assert.doesNotThrow(() => checkSharedOptions({ clock: () => 5, logger: console, signal: new AbortController().signal, persistent: true }));
    assert.throws(() => checkSharedOptions({ persistent: 'yes' as unknown as boolean }), /Expected `persistent` to be a boolean/);
    assert.throws(() => checkSharedOptions({ logger: {} as never }), /`logger`/);
    assert.throws(() => checkSharedOptions({ signal: {} as never }, 'outbox.'), /`outbox\.signal`/);
  });

  it('reject a clock returning a Date, with the fix in the message', () => {
    assert.throws(() => clockOption('clock', () => new Date()), /returned a Date; use \(\) => date.getTime\(\)/);
    assert.throws(() => clockOption('clock', 5), InvalidOptionError);
  });
});

describe('durationOption()', () => {
  it('takes milliseconds or text', () => {
    assert.equal(durationOption('interval', 5000), 5000);
    assert.equal(durationOption('interval', '1h30m'), 5_400_000);
    assert.equal(durationOption('interval', '24d'), 24 * 86_400_000);
  });

  it('rejects a delay longer than one timer can wait (25d), instead of clamping', () => {
    assert.throws(
      () => durationOption('scan.interval', '25d'),
      (e: Error) => e instanceof InvalidOptionError && /`scan\.interval`/.test(e.message) && /24\.8 days/.test(e.message),
    );
    assert.throws(() => durationOption('x', MAX_DELAY_MS + 1), InvalidOptionError);
    assert.equal(durationOption('x', MAX_DELAY_MS), MAX_DELAY_MS);
  });

  it('enforces min and rejects garbage', () => {
    assert.throws(() => durationOption('interval', 10, { min: 100 }), /`interval`/);
    assert.throws(() => durationOption('interval', 'soon'), /a duration/);
  });
});
