// Every built-in rule matches in time linear in the line length. A local user can write any
// line with `logger`, so a pattern that backtracks super-linearly is a denial of service.
// checkRule times each pattern at 1, 8 and 64 KiB on lines built to stress it and judges by
// growth ratios; the first test proves it catches the patterns that were broken in v1.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, checkRule, sshModeRules, sshProbeRules, type LogRule } from '../../src/index.js';

const bad = (id: string, pattern: RegExp): LogRule => ({ id, description: id, severity: 'warning', tags: [], pattern });

/** Attacker text that auth lines carry in user names, key IDs and PAM items, repeated. */
const HOSTILE_UNITS = [
  ' from 10.9.9.9 port 22 ssh2',
  ' from 10.9.9.9 port 22 ssh2: ',
  ' rhost=10.9.9.9',
  ' ruser= rhost=10.9.9.9 user=x',
  ' 10.9.9.9 port 22',
  ' 10.9.9.9 port 22 [preauth]',
  ' USER=root ;',
  ' ; COMMAND=x',
  ' not allowed because listed in DenyUsers',
  ' via 10.9.9.9',
];

const hostileInputs = HOSTILE_UNITS.map(
  (unit) =>
    (n: number): string =>
      `x${unit.repeat(Math.ceil(n / unit.length))}`.slice(0, n),
);

describe('linear-time rules', () => {
  it('checkRule flags the v1 sudo patterns (cubic, quadratic) and an exponential one', () => {
    const v1 = [
      bad('v1.sudo.not-allowed', /^\s*(?<user>\S+) : (?:.*? ; )?user NOT (?:in sudoers|authorized on host) ;.*? USER=(?<runas>[^\s;]+)(?: ;.*? COMMAND=(?<command>.*))?$/),
      bad('v1.sudo.incorrect-password', /^\s*(?<user>\S+) : (?<attempts>\d+) incorrect password attempts? ;.*? USER=(?<runas>[^\s;]+)(?: ;.*? COMMAND=(?<command>.*))?$/),
      bad('nested', /^(?<word>\w+\s?)+$/),
    ];
    for (const rule of v1) {
      const check = checkRule(rule);
      assert.equal(check.linear, false, `${rule.id} must be flagged: ${JSON.stringify(check.timings.slice(0, 3))}`);
      assert.ok(check.problems.length > 0);
    }
  });

  const rules = new Map<string, LogRule>();
  for (const rule of [...authRules, ...sshModeRules('aggressive'), ...sshProbeRules]) rules.set(rule.id, rule);
  for (const rule of rules.values()) {
    it(`${rule.id} is linear on 1/8/64 KiB stress lines`, () => {
      const check = checkRule(rule, { inputs: hostileInputs });
      assert.ok(check.linear, check.problems.join('\n'));
      assert.ok(check.timings.length >= 10, 'enough stress lines were tried');
    });
  }
});
