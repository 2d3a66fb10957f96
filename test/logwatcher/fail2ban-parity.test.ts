// Parity with fail2ban's own annotated sshd corpus (Debian package `fail2ban`), read at test
// time from the installed package: every line fail2ban counts must be an auth-failure with the
// same host, every line it does not count must count no attempt. The lines are fed in file
// order through one RuleEngine, as fail2ban feeds them through one filter, because both keep
// per-connection state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, RuleEngine, sshModeRules, type LogRule } from '../../src/index.js';
import { haveFail2banCorpus, readCorpus, type CorpusLine, type Fail2banMode } from './fail2ban-corpus.js';

/**
 * Deliberate differences, by corpus line (`file:line`), each with its reason (also listed in
 * docs/logwatcher-rules.md). The test fails if one of them starts agreeing, so the list stays true.
 */
const EXCLUDED: Record<string, string> = {
  // fail2ban counts a successful login as a failure when the same connection failed for
  // other users before ("intruder tries to forget failed attempts"). hostwarden never counts
  // a success as a failed attempt: the failures themselves were counted on their own lines,
  // and a login after failures raises auth.success-after-failures instead.
  'sshd:244': 'a success is not a failed attempt (auth.success-after-failures covers it)',
  'sshd-journal:244': 'a success is not a failed attempt (auth.success-after-failures covers it)',
};

interface Verdict {
  readonly agrees: boolean;
  readonly got: string;
}

function judge(engine: RuleEngine, c: CorpusLine, lineNumber: number, file: string): Verdict {
  const { matches, attempts } = engine.handle(c.line, { file, lineNumber });
  const failures = [...matches.filter((m) => m.rule.tags.includes('auth-failure')), ...attempts];
  const got = failures.map((m) => `${m.rule.id}=${m.fields.host ?? '?'}`).join(', ') || 'nothing';
  if (c.match) return { agrees: failures.some((m) => m.fields.host !== undefined && (c.host === undefined || m.fields.host === c.host)), got };
  return { agrees: attempts.length === 0, got: `counted ${attempts.map((m) => m.rule.id).join(', ') || 'nothing'}` };
}

function rulesFor(mode: Fail2banMode): readonly LogRule[] {
  return mode === 'normal' ? authRules : sshModeRules(mode);
}

function run(mode: Fail2banMode): { total: number; agreed: number; misses: string[]; excludedAgreeing: string[] } {
  let total = 0;
  let agreed = 0;
  const misses: string[] = [];
  const excludedAgreeing: string[] = [];
  for (const file of ['sshd', 'sshd-journal'] as const) {
    const engine = new RuleEngine({ rules: rulesFor(mode), hostname: 'test', year: 2005 });
    readCorpus(file, mode).forEach((c, i) => {
      const v = judge(engine, c, i + 1, file);
      if (EXCLUDED[c.where] !== undefined) {
        if (v.agrees) excludedAgreeing.push(c.where);
        return;
      }
      total++;
      if (v.agrees) agreed++;
      else misses.push(`${c.where}: fail2ban ${c.match ? `counts ${c.host ?? 'a failure'}` : 'counts nothing'}, hostwarden ${v.got}`);
    });
  }
  return { total, agreed, misses, excludedAgreeing };
}

describe("fail2ban's sshd corpus", () => {
  it('is installed (Debian package fail2ban, listed in .ci/apt-packages)', () => {
    assert.ok(haveFail2banCorpus(), 'install fail2ban: its corpus is the reference for authRules');
  });

  for (const mode of ['normal', 'ddos', 'extra', 'aggressive'] as const) {
    it(`${mode} mode: every line agrees except the listed deliberate differences`, () => {
      const { total, agreed, misses, excludedAgreeing } = run(mode);
      assert.ok(total >= (mode === 'normal' ? 150 : 20), `only ${total} annotated lines read for ${mode} mode: corpus layout changed?`);
      assert.deepEqual(excludedAgreeing, [], 'these exclusions agree now: remove them from EXCLUDED');
      assert.deepEqual(misses, [], `${agreed}/${total} agree`);
      // Counting the exclusions as disagreements, normal mode must stay at or above 98 %.
      const all = total + (mode === 'normal' ? Object.keys(EXCLUDED).length : 0);
      assert.ok(agreed / all >= 0.98, `${agreed}/${all}`);
    });
  }
});
