import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, matchLines, parseSyslogLine, sshProbeRules, type LogRule } from '../../src/index.js';
import { firstChars, literalAnchor, numberGroups, stickyVariant } from '../../src/logwatcher/pattern.js';
import { authCorpus } from './fixtures/auth-corpus.js';

const chars = (re: RegExp): string | undefined => {
  const set = firstChars(re);
  return set === undefined
    ? undefined
    : [...set]
        .map((c) => String.fromCharCode(c))
        .sort()
        .join('');
};

describe('pattern analysis', () => {
  it('finds literal anchors only where the match must start with them', () => {
    assert.equal(literalAnchor(/^Failed (?<m>\S+) for/), 'Failed ');
    assert.equal(literalAnchor(/^refused connect from \S+/), 'refused connect from ');
    assert.equal(literalAnchor(/^drop connection #\d+/), 'drop connection #');
    assert.equal(literalAnchor(/^abc?d/), 'ab', 'a quantified character is not part of it');
    assert.equal(literalAnchor(/^a\.b\(c/), 'a.b(c');
    assert.equal(literalAnchor(/^ab|cd/), undefined, 'top-level alternation');
    assert.equal(literalAnchor(/^Abc/i), undefined, 'case-insensitive');
    assert.equal(literalAnchor(/Failed/), undefined, 'not anchored');
    assert.equal(literalAnchor(/^(?:x|y)/), undefined);
    assert.equal(literalAnchor(/^Failed (?<method>publickey) for (?:invalid|illegal) user/), 'Failed publickey for ', 'through a plain-text group');
    assert.equal(literalAnchor(/^(?<user>ROOT) LOGIN/), 'ROOT LOGIN');
    assert.equal(literalAnchor(/^(?:ab)?c/), undefined, 'an optional group is not part of it');
    assert.equal(literalAnchor(/^x(?:ab)+c/), 'x', 'nor a repeated one');
    assert.equal(literalAnchor(/^x(?=ab)/), 'x', 'nor a lookahead');
  });

  it('computes first characters through groups, alternatives and optional items', () => {
    assert.equal(chars(/^(?:error: )?maximum/), 'em');
    assert.equal(chars(/^(?:Connection (?:closed|reset) by|Disconnected from) x/), 'CD');
    assert.equal(chars(/^(?<user>ROOT) LOGIN/), 'R');
    assert.equal(chars(/^a*b/), 'ab');
    assert.equal(chars(/^a+b/), 'a');
    assert.equal(chars(/^\(to /), '(');
    assert.equal(chars(/^\s*x/), undefined);
    assert.equal(chars(/^[ab]c/), 'ab');
    assert.equal(chars(/^[aA]uth/), 'Aa');
    assert.equal(chars(/^[a-c]x/), 'abc');
    assert.equal(chars(/^[.-]x/), '-.');
    assert.equal(chars(/^[\].]x/), '.]');
    assert.equal(chars(/^[^a]x/), undefined, 'a negated class');
    assert.equal(chars(/^[\s]x/), undefined, '\\s may match beyond ASCII');
    assert.equal(chars(/^(?:PAM )?\d+ more/), '0123456789P');
    assert.equal(chars(/^a{0,2}b/), 'ab');
    assert.equal(chars(/^(?:a|)b/), 'ab');
    assert.equal(chars(/^(?:a)?/), undefined, 'may match the empty string');
    assert.equal(chars(/^(?=a)a/), undefined, 'lookahead');
    assert.equal(chars(/^a{2}/), 'a');
    assert.equal(chars(new RegExp('^[[^a]]x', 'v')), undefined, "the v flag's nested classes");
    assert.equal(chars(new RegExp('^[x[^a]]', 'v')), undefined);
    assert.equal(chars(/^[[]x/), undefined, 'a class holding a bracket is not read (it could be a nested one)');
    assert.equal(chars(/^a{,2}/), undefined, 'not a quantifier: a literal brace');
    assert.equal(chars(/^é/), undefined, 'non-ASCII');
    assert.equal(chars(/^a|b/), undefined);
  });

  it('numbers named groups and keeps names for back-references', () => {
    assert.deepEqual(numberGroups(String.raw`^(a)(?<x>b)(?:c)(?<y>[(?<z>)])\((?=d)(?<w>e)`), {
      source: String.raw`^(a)(b)(?:c)([(?<z>)])\((?=d)(e)`,
      groups: [
        [2, 'x'],
        [3, 'y'],
        [4, 'w'],
      ],
    });
    const back = numberGroups(String.raw`^(?<q>['"])(?<v>.*)\k<q>$`);
    assert.equal(back.source, String.raw`^(?<q>['"])(?<v>.*)\k<q>$`);
    const m = new RegExp(back.source).exec(`"quoted"`);
    assert.equal(m?.[back.groups[1]?.[0] ?? -1], 'quoted');
  });

  it('builds sticky variants only where they mean the same', () => {
    const re = stickyVariant('^ab(c)$', '');
    assert.ok(re?.sticky);
    assert.equal(stickyVariant('ab', ''), undefined);
    assert.equal(stickyVariant('^a|^b', ''), undefined);
    assert.equal(stickyVariant('^(?:a|^b)', ''), undefined);
    assert.equal(stickyVariant('^(?<=x)a', ''), undefined);
    assert.equal(stickyVariant('^a', 'm'), undefined);
    assert.ok(stickyVariant('^[^a]b', ''), 'a caret inside a class is fine');
  });
});

// The dispatch tables, anchors, prefilters and sticky regexes are optimisations: they
// must give exactly what running every rule's own pattern on every message gives.
describe('the fast path agrees with a naive matcher', () => {
  const odd: LogRule[] = [
    { id: 'odd.optional-prefix', description: 'x', severity: 'info', tags: [], pattern: /^(?:error: )?(?:fatal: )?boom (?<n>\d+)$/ },
    { id: 'odd.unanchored', description: 'x', severity: 'info', tags: [], pattern: /from (?<host>[\d.]+)/ },
    { id: 'odd.class-start', description: 'x', severity: 'info', tags: [], pattern: /^[A-Z][a-z]+ user/ },
    { id: 'odd.lookbehind', description: 'x', severity: 'info', tags: [], pattern: /^(?<!x)Invalid/ },
    { id: 'odd.backref', description: 'x', severity: 'info', tags: [], pattern: /^(?<q>['"])(?<v>[^'"]*)\k<q>$/ },
    { id: 'odd.case', description: 'x', severity: 'info', tags: [], pattern: /^failed password/i },
    { id: 'odd.top-alt', description: 'x', severity: 'info', tags: [], pattern: /^Accepted|^Failed/ },
    { id: 'odd.program', description: 'x', severity: 'info', tags: [], programs: ['sudo'], pattern: /^\s*(?<user>\S+) : / },
  ];
  const rules = [...authRules, ...sshProbeRules, ...odd];
  const extra = [
    'Mar  3 00:17:22 web1 app[1]: error: fatal: boom 42',
    'Mar  3 00:17:22 web1 app[1]: boom 7',
    `Mar  3 00:17:22 web1 app[1]: "quoted"`,
    'Mar  3 00:17:22 web1 app[1]: FAILED PASSWORD for root',
    'Mar  3 00:17:22 web1 app[1]: Failed password for root',
    'Mar  3 00:17:22 web1 sshd[1]: message repeated 2 times: [ Invalid user bob from 192.0.2.1 port 22]',
    'Mar  3 00:17:22 web1 sshd[1]: message repeated 2 times: [ boom 3]',
    'no prefix at all: Failed password for root from 192.0.2.2 port 22 ssh2',
  ];

  function naive(line: string): string[] {
    const parsed = parseSyslogLine(line, { year: 2024 });
    let message = parsed.message;
    const repeated = /^message repeated \d+ times: \[ ?(.*?)\]?$/.exec(message);
    if (repeated !== null) message = repeated[1] ?? '';
    return rules.filter((r) => (r.programs === undefined || parsed.program === undefined || r.programs.includes(parsed.program)) && r.pattern.test(message)).map((r) => r.id);
  }

  it('on the corpus and odd patterns', async () => {
    const lines = [...authCorpus.map((e) => e.line), ...extra];
    const fast = new Map<number, string[]>();
    for await (const m of matchLines(lines, { rules, year: 2024 })) fast.set(m.lineNumber, [...(fast.get(m.lineNumber) ?? []), m.rule.id]);
    lines.forEach((line, i) => assert.deepEqual(fast.get(i + 1) ?? [], naive(line), line));
  });
});
