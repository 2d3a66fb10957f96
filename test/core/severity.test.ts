import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSeverity, isAtLeast, isSeverity, maxSeverity, SEVERITIES } from '../../src/core/severity.js';

describe('severity', () => {
  it('orders info < warning < critical', () => {
    assert.deepEqual(
      ['critical', 'info', 'warning'].sort((a, b) => compareSeverity(a as 'info', b as 'info')),
      [...SEVERITIES],
    );
    assert.ok(compareSeverity('warning', 'warning') === 0);
    assert.ok(compareSeverity('critical', 'warning') > 0);
  });

  it('compares against a minimum', () => {
    assert.equal(isAtLeast('critical', 'warning'), true);
    assert.equal(isAtLeast('warning', 'warning'), true);
    assert.equal(isAtLeast('info', 'warning'), false);
    assert.equal(maxSeverity('info', 'critical'), 'critical');
    assert.equal(maxSeverity('warning', 'info'), 'warning');
  });

  it('recognises only the three names', () => {
    assert.equal(isSeverity('info'), true);
    assert.equal(isSeverity('Info'), false);
    assert.equal(isSeverity('toString'), false);
    assert.equal(isSeverity(2), false);
  });
});
