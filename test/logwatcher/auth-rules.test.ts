import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, matchLines, sshProbeRules, type LogMatch, type LogRule } from '../../src/index.js';
import { authCorpus } from './fixtures/auth-corpus.js';

async function collect(lines: Iterable<string>, rules: readonly LogRule[] = authRules): Promise<LogMatch[]> {
  const out: LogMatch[] = [];
  for await (const m of matchLines(lines, { rules, year: 2024 })) out.push(m);
  return out;
}

describe('authRules corpus', () => {
  it('has at least 80 line variants', () => {
    assert.ok(authCorpus.length >= 80, `${authCorpus.length} entries`);
  });

  for (const [i, entry] of authCorpus.entries()) {
    it(`#${i + 1} ${entry.rule ?? 'noise'}: ${JSON.stringify(entry.line.slice(0, 110))}`, async () => {
      const matches = await collect([entry.line]);
      if (entry.rule === null) {
        // Connection bookkeeping (a close naming the address) may match; nothing else may.
        assert.deepEqual(
          matches.filter((m) => !m.rule.tags.includes('ssh-connection')).map((m) => m.rule.id),
          [],
          'noise must not match',
        );
        return;
      }
      assert.deepEqual(
        matches.map((m) => m.rule.id),
        [entry.rule],
        'exactly the expected rule',
      );
      const [m] = matches as [LogMatch];
      if (entry.tag !== undefined) assert.ok(m.rule.tags.includes(entry.tag), `tag ${entry.tag} in ${m.rule.tags.join(',')}`);
      assert.equal(m.fields.host, entry.host, 'host');
      assert.equal(m.fields.user, entry.user, 'user');
      for (const [k, v] of Object.entries(entry.fields ?? {})) assert.equal(m.fields[k], v, k);
      if (entry.counts !== undefined) {
        const counts = m.rule.alert !== undefined && m.rule.alert !== 'never' && m.rule.attempt !== 'unconfirmed';
        assert.equal(counts, entry.counts, 'counts towards a threshold');
      }
    });
  }
});

describe('authRules invariants', () => {
  // Failure rules whose lines name no address, and why. Adding a rule that captures no host
  // means adding it here, with its reason.
  const HOSTLESS: Record<string, string> = {
    'sshd.invalid-user-request': 'OpenSSH 6-7 logs no address here (the Invalid user line has it)',
    'sshd.user-locked': 'no address in the line; it takes its connection address',
    'sshd.too-many-failures-legacy': 'no address before OpenSSH 7.5; it takes its connection address',
    'pam.user-unknown': 'PAM names no address',
    'pam.faillock': 'PAM names no address',
    'sudo.incorrect-password': 'local',
    'sudo.not-allowed': 'local',
    'sudo.command-not-allowed': 'local',
    'su.failed': 'local',
    'su.failed-shadow': 'local',
    'su.pam-authenticate': 'local',
    'su.success': 'local',
    'su.success-shadow': 'local',
  };

  it('every auth-failure rule that can see a host captures it as `host`, proven on a line', async () => {
    const ids = authRules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    for (const rule of authRules) {
      assert.ok(rule.tags.includes('auth-failure') || rule.tags.includes('auth-success') || rule.tags.includes('ssh-connection'), `${rule.id} is tagged`);
      assert.ok(Object.isFrozen(rule), `${rule.id} is frozen`);
      if (!rule.tags.includes('auth-failure') && !rule.tags.includes('auth-success')) continue;
      if (HOSTLESS[rule.id] !== undefined) continue;
      // A corpus line of this rule with a known address must yield exactly that address.
      const entries = authCorpus.filter((e) => e.rule === rule.id && e.host !== undefined);
      assert.ok(entries.length > 0, `${rule.id}: no corpus line with a host (add one, or list it in HOSTLESS with a reason)`);
      for (const entry of entries) {
        const [m] = await collect([entry.line]);
        assert.equal(m?.fields.host, entry.host, `${rule.id} captures the host of ${entry.line}`);
      }
    }
  });

  it('the rsyslog repeated message counts as its repeat count', async () => {
    const [m] = await collect(['Mar  3 00:17:22 web3 sshd[9001]: message repeated 4 times: [ Failed password for root from 203.0.113.21 port 5000 ssh2]']);
    assert.equal(m?.repeated, 4);
  });

  it('sshProbeRules catch scanners with their own tag', async () => {
    const lines = [
      'Mar  3 00:17:22 web1 sshd[1234]: Did not receive identification string from 203.0.113.5 port 40000',
      'Mar  3 00:17:22 web1 sshd[1234]: banner exchange: Connection from 203.0.113.6 port 40000: invalid format',
      'Mar  3 00:17:22 web1 sshd[1234]: Unable to negotiate with 203.0.113.7 port 40000: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]',
      'Mar  3 00:17:22 web1 sshd[1234]: Connection closed by 203.0.113.8 port 52157 [preauth]',
      "Mar  3 00:17:22 web1 sshd[1234]: Bad protocol version identification 'GET / HTTP/1.1' from 203.0.113.9 port 40000",
      'Mar  3 00:17:22 web1 sshd[1234]: fatal: Timeout before authentication for 203.0.113.10 port 40000',
      'Mar  3 00:17:22 web1 sshd[1234]: Failed password for root from 203.0.113.11 port 5000 ssh2',
    ];
    const matches = await collect(lines, sshProbeRules);
    assert.deepEqual(
      matches.map((m) => [m.rule.id, m.fields.host]),
      [
        ['sshd.no-identification', '203.0.113.5'],
        ['sshd.bad-banner', '203.0.113.6'],
        ['sshd.negotiation-failed', '203.0.113.7'],
        ['sshd.preauth-close', '203.0.113.8'],
        ['sshd.bad-protocol', '203.0.113.9'],
        ['sshd.grace-timeout', '203.0.113.10'],
      ],
    );
    assert.ok(matches.every((m) => m.rule.tags.includes('ssh-probe') && !m.rule.tags.includes('auth-failure')));
  });
});

describe('authRules against crafted input', () => {
  const prefix = 'Mar  3 00:17:22 web1 sshd[1]: ';
  const cases: [string, string, string][] = [
    // [description, line, expected host]
    ['10k spaces in the user name', `${prefix}Invalid user ${' '.repeat(10_000)}x from 203.0.113.90 port 22`, '203.0.113.90'],
    ['10k "from " repetitions', `${prefix}Failed password for invalid user ${'from '.repeat(2_000)}from 203.0.113.91 port 22 ssh2`, '203.0.113.91'],
    ['fake sources before the real one', `${prefix}Failed password for invalid user ${'a from 10.0.0.1 port 1 ssh2 '.repeat(400)}from 203.0.113.92 port 22 ssh2`, '203.0.113.92'],
    ['nested quantifier bait', `${prefix}Connection closed by invalid user ${'1.1.1.1 port 1 '.repeat(700)}203.0.113.93 port 22 [preauth]`, '203.0.113.93'],
    ['long near-miss', `${prefix}Disconnecting invalid user ${'x '.repeat(5_000)}203.0.113.94 port 22: Too many authentication failures [preauth]`, '203.0.113.94'],
  ];
  for (const [what, line, host] of cases) {
    it(`${what}: completes and captures the real source`, async () => {
      const matches = await collect([line]);
      assert.equal(matches.length, 1);
      assert.equal(matches[0]?.fields.host, host);
    });
  }

  it('near-miss lines of 10k characters complete without matching', async () => {
    const lines = [
      `${prefix}Failed password for ${'from '.repeat(2_000)}`,
      `${prefix}Invalid user ${'a from '.repeat(1_500)}`,
      `${prefix}Connection closed by authenticating user ${'x port 1 '.repeat(1_200)}[preauth] trailing`,
      `${prefix}pam_unix(sshd:auth): authentication failure;${' ruser= rhost='.repeat(800)} x`,
      `Mar  3 00:17:22 web1 sudo: bob : 3 incorrect password attempts ;${' ; '.repeat(3_000)}`,
    ];
    assert.deepEqual(await collect(lines), []);
  });

  it('prefix garbage of 100k characters completes without matching', async () => {
    const lines = [
      '1'.repeat(100_000),
      `<${'1'.repeat(100_000)}`,
      `<38>1 ${'['.repeat(100_000)}`,
      `[${' '.repeat(100_000)}`,
      `Mar  3 00:17:22 ${'x'.repeat(100_000)}`,
      `Mar  3 00:17:22 web1 ${'a'.repeat(100_000)}[1]: Failed password for root from 192.0.2.1 port 22 ssh2`,
      `2024-03-01T00:00:00${'9'.repeat(100_000)}`,
      `Sun 2024-03-03 00:17:22 ${'U'.repeat(100_000)}`,
    ];
    assert.deepEqual(await collect(lines), []);
  });
});
