import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, parseDuration } from '../../src/core/format.js';

describe('formatDuration()', () => {
  it('renders 90 s as 1m30s, and other durations compactly', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(1500), '1.5s');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(59_990), '1m');
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(7 * 86_400_000), '7d');
    assert.equal(formatDuration(93_784_000), '1d2h3m4s');
    assert.equal(formatDuration(0), '0ms');
  });

  it('parses back to the same value from a minute up', () => {
    for (const ms of [60_000, 90_000, 5_400_000, 93_784_000, 30 * 86_400_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});

describe('formatBytes()', () => {
  it('uses binary units with one decimal', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3.2 * 1024 ** 3), '3.2 GiB');
  });
});

describe('parseDuration()', () => {
  it('reads what operators write', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('250'), 250);
    assert.equal(parseDuration(250), 250);
  });

  it('returns undefined for anything else', () => {
    for (const bad of ['', '10 minutes', '-5s', 'm', '5x', '1h 30m', -1, Number.NaN, Infinity, null, {}, '9'.repeat(100)]) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});
