import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAuthLog } from '../../bench/auth-log-generator.js';
import { authRules, matchFile, matchLines, parseSyslogLine, sshProbeRules, type LogRule } from '../../src/index.js';
import { firstChars, literalPrefixes, literalSuffix, numberGroups, stickyVariant } from '../../src/logwatcher/pattern.js';
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
  it('finds the literal prefixes a match must start with, through groups, alternatives and optional items', () => {
    const p = (re: RegExp): string[] | undefined => {
      const found = literalPrefixes(re);
      return found === undefined ? undefined : [...found].sort();
    };
    assert.deepEqual(p(/^Failed (?<m>\S+) for/), ['Failed ']);
    assert.deepEqual(p(/^refused connect from \S+/), ['refused connect from ']);
    assert.deepEqual(p(/^drop connection #\d+/), ['drop connection #']);
    assert.deepEqual(p(/^abc?d/), ['abcd', 'abd'], 'an optional character gives both');
    assert.deepEqual(p(/^a\.b\(c/), ['a.b(c']);
    assert.deepEqual(p(/^Failed (?<method>publickey) for (?:invalid|illegal) user/), ['Failed publickey for illegal user', 'Failed publickey for invalid user']);
    assert.deepEqual(p(/^(?<user>ROOT) LOGIN/), ['ROOT LOGIN']);
    assert.deepEqual(p(/^(?:error: )?Received disconnect/), ['Received disconnect', 'error: Received disconnect']);
    assert.deepEqual(p(/^(?:Connection (?:closed|reset) by|Disconnected from) (?<host>\S+)/), ['Connection closed by ', 'Connection reset by ', 'Disconnected from ']);
    assert.deepEqual(p(/^[aA]uth/), ['Auth', 'auth'], 'a small plain class');
    assert.deepEqual(p(/^x(?:ab)+c/), ['xab'], 'a repeated group: one copy, then stop');
    assert.deepEqual(p(/^x(?:ab)*c/), ['xab', 'xc'], 'a starred group: one copy, or what follows');
    assert.deepEqual(p(/^xa{2,}b/), ['xa']);
    assert.deepEqual(p(/^xa{0}b/), ['xb']);
    assert.deepEqual(p(/^xa{1}b/), ['xab']);
    assert.deepEqual(p(/^xa??b/), ['xab', 'xb'], 'a lazy quantifier gives the same texts');
    assert.deepEqual(p(/^(?:ab|abc)d/), ['abcd', 'abd']);
    assert.deepEqual(p(/^(?:a|ab)/), ['a'], 'a text that extends another is dropped');
    // Where the derivation must stop or refuse:
    assert.deepEqual(p(/^x(?=ab)/), ['x'], 'a lookahead ends it');
    assert.deepEqual(p(/^x(?!ab)y/), ['x']);
    assert.deepEqual(p(/^x(?<=x)y/), ['x'], 'a lookbehind ends it');
    assert.deepEqual(p(/^(a)x\1/), ['ax'], 'a back-reference ends it');
    assert.deepEqual(p(/^(?<q>a)b\k<q>/), ['ab']);
    assert.deepEqual(p(/^ab\sc/), ['ab'], 'a class escape ends it');
    assert.deepEqual(p(/^ab\0c/), ['ab']);
    assert.deepEqual(p(/^ab.c/), ['ab']);
    assert.deepEqual(p(/^ab[a-z]c/), ['ab'], 'a class of many characters ends it');
    assert.deepEqual(p(/^ab[^c]c/), ['ab']);
    assert.deepEqual(p(/^a{,2}/), ['a'], 'not a quantifier: a literal brace, which is not read');
    assert.deepEqual(p(/^ab{,2}/), ['ab']);
    assert.deepEqual(p(/^ab$/), ['ab']);
    assert.deepEqual(p(/^a\bb/), ['a'], 'a word boundary ends it');
    assert.equal(p(/^ab|cd/), undefined, 'top-level alternation');
    assert.equal(p(/^Abc/i), undefined, 'case-insensitive');
    assert.equal(p(/^Abc/m), undefined, 'multi-line');
    assert.equal(p(/Failed/), undefined, 'not anchored');
    assert.equal(p(/^(?:x|)/), undefined, 'may start with anything');
    assert.equal(p(/^(?:ab)?c*/), undefined);
    assert.equal(p(/^\d+ more/), undefined);
    assert.deepEqual(p(new RegExp('^a[[ab]--[b]]c', 'v')), ['a'], "the v flag's classes are not read");
    assert.deepEqual(p(new RegExp('^a\\u{62}c', 'u')), ['a']);
    assert.deepEqual(p(new RegExp('^a\u{1F600}?b', 'u')), ['a'], 'a quantified astral character: not its first half alone');
    assert.deepEqual(p(/^é(?:x|y)/), ['éx', 'éy'], 'other non-ASCII characters are plain text');
    const many = p(/^(?:a|b)(?:c|d)(?:e|f)(?:g|h)(?:i|j)(?:k|l)(?:m|n)x/);
    assert.equal(many?.length, 64, 'too many: stops before the item that would make 128');
    assert.ok(many.every((t) => t.length === 6));
    // Every text is a prefix of every match the pattern can make.
    for (const [re, line] of [
      [/^(?:error: )?(?:PAM: )?[aA]uthentication (?:failure|error) for/, 'PAM: authentication error for'],
      [/^x(?:ab)*c/, 'xababc'],
      [/^a??b/, 'b'],
    ] as const) {
      assert.ok(re.test(line));
      assert.ok(
        literalPrefixes(re)?.some((t) => line.startsWith(t)),
        `${String(re)} on ${line}`,
      );
    }
  });

  it('finds the literal suffix a match must end with, and refuses where it cannot tell', () => {
    assert.equal(literalSuffix(/^(?:pam_\w+: )?check pass; user unknown$/), 'check pass; user unknown');
    assert.equal(literalSuffix(/^refused connect from \S+ \((?<host>[\d.]+)\)$/), ')');
    assert.equal(literalSuffix(/x a\.b$/), 'x a.b', 'escaped punctuation is text');
    assert.equal(literalSuffix(/x\\$/), 'x\\', 'an escaped backslash is text, the $ after it an anchor');
    assert.equal(literalSuffix(/x\$/), undefined, 'an escaped $ is text, not the end');
    assert.equal(literalSuffix(/ab\d$/), undefined, 'a class escape ends it');
    assert.equal(literalSuffix(/(a)b\1$/), undefined, 'a back-reference');
    assert.equal(literalSuffix(/(?<q>a)\k<q>$/), undefined, 'a named back-reference: its name is not text');
    assert.equal(literalSuffix(/a\x41$/), undefined, 'a hex escape: its digits are not text');
    assert.equal(literalSuffix(/a\u0041$/), undefined);
    assert.equal(literalSuffix(new RegExp('a\\u{41}$', 'u')), undefined);
    assert.equal(literalSuffix(/a\cJ$/), undefined, 'a control escape');
    assert.equal(literalSuffix(new RegExp('a\\12$')), undefined, 'an octal escape');
    assert.equal(literalSuffix(/a\dbc$/), undefined, 'conservative: word characters after a letter escape are not taken');
    assert.equal(literalSuffix(/a\d bc$/), ' bc');
    assert.equal(literalSuffix(new RegExp('a[[b]c]d$', 'v')), undefined, 'the v flag');
    assert.equal(literalSuffix(/ab\b$/), undefined, 'a word boundary');
    assert.equal(literalSuffix(/abc?$/), undefined, 'a quantified character');
    assert.equal(literalSuffix(/ab+c$/), 'c');
    assert.equal(literalSuffix(/a{2}bc$/), 'bc');
    assert.equal(literalSuffix(/a[bc]$/), undefined);
    assert.equal(literalSuffix(/a[b\]]d$/), 'd', 'stops at the class, however it is escaped inside');
    assert.equal(literalSuffix(/(?:x|y)z$/), 'z');
    assert.equal(literalSuffix(/a(?=b)$/), undefined, 'a lookahead');
    assert.equal(literalSuffix(/ab(?<=b)$/), undefined, 'a lookbehind');
    assert.equal(literalSuffix(/^a|bc$/), undefined, 'top-level alternation');
    assert.equal(literalSuffix(/abc$/i), undefined, 'case-insensitive');
    assert.equal(literalSuffix(/abc$/m), undefined, 'multi-line: $ also before a newline');
    assert.equal(literalSuffix(/abc/), undefined, 'no $');
    assert.equal(literalSuffix(/^$/), undefined);
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
    // Prefix sets: a message starting with any alternative, or without an optional part, must reach the rule.
    { id: 'odd.alt-prefix', description: 'x', severity: 'info', tags: [], prefilter: ' end ', pattern: /^(?:alpha|beta) (?:one|two)? end (?<n>\d+)$/ },
    { id: 'odd.small-class', description: 'x', severity: 'info', tags: [], pattern: /^(?:x: )?[pP]ing (?<n>\d+)/ },
    { id: 'odd.shared-prefix', description: 'x', severity: 'info', tags: [], prefilter: 'closed by', pattern: /^Connection closed by (?<host>\S+)$/ },
    { id: 'odd.one-char', description: 'x', severity: 'info', tags: [], pattern: /^C$/ },
    { id: 'odd.non-ascii', description: 'x', severity: 'info', tags: [], pattern: /^é(?:x|y)z/ },
    { id: 'odd.starred', description: 'x', severity: 'info', tags: [], pattern: /^q(?:ab)*c/ },
    // Suffixes: the message must end with the text, inside `message repeated` too.
    { id: 'odd.suffix', description: 'x', severity: 'info', tags: [], pattern: /^(?:\w+ )?tail end\.$/ },
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
    'Mar  3 00:17:22 web1 app[1]: alpha one end 1',
    'Mar  3 00:17:22 web1 app[1]: beta two end 2',
    'Mar  3 00:17:22 web1 app[1]: beta  end 3',
    'Mar  3 00:17:22 web1 app[1]: beta three end 3',
    'Mar  3 00:17:22 web1 app[1]: message repeated 3 times: [ beta one end 4]',
    'Mar  3 00:17:22 web1 app[1]: message repeated 3 times: [ beta one end]',
    'Mar  3 00:17:22 web1 app[1]: Ping 5',
    'Mar  3 00:17:22 web1 app[1]: x: ping 6',
    'Mar  3 00:17:22 web1 app[1]: x: Pong 6',
    'Mar  3 00:17:22 web1 app[1]: Connection closed by 192.0.2.9',
    'Mar  3 00:17:22 web1 app[1]: Connection reset by 192.0.2.9',
    'Mar  3 00:17:22 web1 app[1]: C',
    'Mar  3 00:17:22 web1 app[1]: Cx',
    'Mar  3 00:17:22 web1 app[1]: éyz',
    'Mar  3 00:17:22 web1 app[1]: èyz',
    'Mar  3 00:17:22 web1 app[1]: qababc',
    'Mar  3 00:17:22 web1 app[1]: qc',
    'Mar  3 00:17:22 web1 app[1]: ',
    'Mar  3 00:17:22 web1 app[1]: tail end.',
    'Mar  3 00:17:22 web1 app[1]: my tail end.',
    'Mar  3 00:17:22 web1 app[1]: my tail end. ',
    'Mar  3 00:17:22 web1 app[1]: message repeated 2 times: [ my tail end.]',
    'Mar  3 00:17:22 web1 app[1]: end.',
    'Mar  3 00:17:22 web1 sshd[1]: pam_unix(sshd:auth): check pass; user unknown',
    'Mar  3 00:17:22 web1 sshd[1]: message repeated 2 times: [ check pass; user unknown]',
    'Mar  3 00:17:22 web1 sshd[1]: check pass; user unknown!',
    // Program names sharing a table slot (same length, first and last character) in turns.
    'Mar  3 00:17:22 web1 sshd[1]: Failed password for root from 192.0.2.10 port 22 ssh2',
    'Mar  3 00:17:22 web1 sXhd[1]: Failed password for root from 192.0.2.11 port 22 ssh2',
    'Mar  3 00:17:22 web1 sshd[1]: Failed password for root from 192.0.2.12 port 22 ssh2',
    'Mar  3 00:17:22 web1 sXhd[1]: Failed password for root from 192.0.2.13 port 22 ssh2',
    'Mar  3 00:17:22 web2 sshd[2]: Failed password for root from 192.0.2.14 port 22 ssh2',
    'Mar  3 00:17:22 web1 sshd[3]: Failed password for root from 192.0.2.15 port 22 ssh2',
    'Mar  3 00:17:22 mail-gateway-01 sshd[4]: Failed password for root from 192.0.2.16 port 22 ssh2',
    'Mar  3 00:17:22 mail-gateway-02 sshd[5]: Failed password for root from 192.0.2.17 port 22 ssh2',
    'Mar  3 00:17:22 web1 sshd[1]: Illegal user bob from 192.0.2.3',
    'Mar  3 00:17:22 web1 sshd[1]: Disconnected from 192.0.2.4 port 22',
    'Mar  3 00:17:22 web1 sshd[1]: Connection reset by invalid user bob 192.0.2.5 port 22',
    'Mar  3 00:17:22 web1 sshd[1]: error: Received disconnect from 192.0.2.6 port 22:14: No supported authentication methods available',
    'Mar  3 00:17:22 web1 sshd[1]: fatal: PAM: Permission denied for illegal user bob from 192.0.2.7',
    'Mar  3 00:17:22 web1 sshd[1]: Authentication failure for bob from 192.0.2.8',
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
    for await (const m of matchLines(lines, { rules, year: 2024 })) {
      fast.set(m.lineNumber, [...(fast.get(m.lineNumber) ?? []), m.rule.id]);
      // The prefix parts the matcher reports, from its caches, are the line's own.
      const parsed = parseSyslogLine(m.line, { year: 2024 });
      assert.deepEqual([m.syslogHost, m.program, m.pid], [parsed.hostname, parsed.program, parsed.pid], m.line);
    }
    lines.forEach((line, i) => assert.deepEqual(fast.get(i + 1) ?? [], naive(line), line));
  });

  it('on a generated auth log read with matchFile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwarden-naive-'));
    try {
      const path = join(dir, 'auth.log');
      await generateAuthLog(path, { lines: 20_000, seed: 7, attackShare: 0.5 });
      const lines = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
      const fast = new Map<number, string[]>();
      for await (const m of matchFile(path, { rules, year: 2024 })) fast.set(m.lineNumber, [...(fast.get(m.lineNumber) ?? []), m.rule.id]);
      assert.ok(fast.size > 5000);
      lines.forEach((line, i) => assert.deepEqual(fast.get(i + 1) ?? [], naive(line), line));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
