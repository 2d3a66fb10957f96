// One way to do each cross-cutting thing (issue #13): this test reads every file under
// src/ and fails where a second clock, a raw timer, a private escaper or a hand-rolled
// atomic write appears. Two lists say where that is allowed:
// - EXCEPTIONS: the one module that owns the mechanism (and why), permanent;
// - NOT_YET_MIGRATED: files the other parts are moving to src/core right now, grouped by
//   part so that each part deletes only its own lines. An entry that no longer violates
//   its rule fails the test too, so the list only ever shrinks.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

type RuleId = 'clock-option' | 'raw-clock' | 'raw-timer' | 'escaper' | 'atomic-write';

interface Rule {
  readonly id: RuleId;
  readonly what: string;
  /** Tested against each code line (comments are skipped). */
  readonly line?: RegExp;
  /** Tested against the whole file, for patterns that span lines. */
  readonly file?: (text: string) => boolean;
}

const RULES: readonly Rule[] = [
  { id: 'clock-option', what: 'an option or field named `now` (the clock is `clock: Clock`, see src/core/clock.ts)', line: /^\s*(?:readonly\s+)?now\??\s*:/ },
  { id: 'raw-clock', what: '`Date.now` or `new Date()` (read the injected `clock`, or `systemClock()` where there is none)', line: /\bDate\.now\b|\bnew Date\(\s*\)/ },
  { id: 'raw-timer', what: '`setTimeout`/`setInterval` (use `schedule`/`repeat`/`sleep` or Component.setTimer/setRepeating)', line: /\bset(?:Timeout|Interval)\s*\(/ },
  {
    id: 'escaper',
    what: 'a private escaper (use safeText/displayPath/escapeSlack/escapeHtml from src/core/text.ts)',
    // A regex class over control, bidi or zero-width characters, or a function named like an escaper.
    line: /\[\^?\\(?:u00[0-9a-f]{2}|x[0-9a-f]{2})-\\|\\u20(?:2[0-9a-f]|0[b-f]|6[0-9a-f])|function\s+(?:escape\w*|oneLine|printable\w*|displayText|displayPath|stripControl|sanitizeValue|sanitizeLine|shown)\b/i,
  },
  {
    id: 'atomic-write',
    what: 'a hand-rolled atomic write (temp file + fsync + rename: use src/core/durable-fs.ts)',
    file: (text) => /\brename(?:Sync)?\s*\(/.test(text) && /\bf(?:data)?sync\b|\.tmp\b|O_EXCL|'wx'/.test(text),
  },
];

/** The owners of each mechanism: permanent, and the reason is the documentation. */
const EXCEPTIONS: Readonly<Record<string, { readonly rules: readonly RuleId[]; readonly why: string }>> = {
  'src/core/clock.ts': { rules: ['raw-clock', 'raw-timer'], why: 'the one place that reads the wall clock and arms timers' },
  'src/core/text.ts': { rules: ['escaper'], why: 'the one escaper' },
  'src/core/durable-fs.ts': { rules: ['atomic-write'], why: 'the one durable, directory-pinned write path' },
};

/** Files still being migrated by their parts (see the header). */
const NOT_YET_MIGRATED: Readonly<Record<string, readonly RuleId[]>> = {};

const root = fileURLToPath(new URL('../..', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Lines of code, without `//` comments and JSDoc lines: docs may name what code may not use. */
function codeLines(text: string): { line: string; n: number }[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ line }) => !/^\s*(?:\/\/|\/\*|\*)/.test(line));
}

/** Every rule violation in the file, as `rule` → first offending line. */
export function violations(text: string): Map<RuleId, string> {
  const found = new Map<RuleId, string>();
  const lines = codeLines(text);
  for (const rule of RULES) {
    if (rule.line) {
      const hit = lines.find(({ line }) => rule.line?.test(line));
      if (hit) found.set(rule.id, `${hit.n}: ${hit.line.trim()}`);
    }
    if (rule.file?.(lines.map((l) => l.line).join('\n'))) found.set(rule.id, '(whole file)');
  }
  return found;
}

describe('conventions: one way to do each cross-cutting thing', () => {
  it('the rules catch what they are meant to (so a green run means something)', () => {
    const sample = [
      '  readonly now?: () => Date;',
      'const t = Date.now();',
      'setTimeout(() => {}, 5);',
      "const clean = s.replace(/[\\u0000-\\u001f]/g, '?');",
      "await writeFile(tmp + '.tmp', data); await fh.sync(); await fsync(fd); await rename(tmp, path);",
    ].join('\n');
    assert.deepEqual([...violations(sample).keys()].sort(), ['atomic-write', 'clock-option', 'escaper', 'raw-clock', 'raw-timer']);
    assert.deepEqual([...violations('// Date.now() in a comment\n * setTimeout( in JSDoc\nconst d = new Date(ms);').keys()], []);
  });

  it('src/ has no second clock, raw timer, private escaper or atomic write outside the lists', async () => {
    const problems: string[] = [];
    for (const path of await sourceFiles(join(root, 'src'))) {
      const file = relative(root, path).split('\\').join('/');
      const allowed = new Set<RuleId>([...(EXCEPTIONS[file]?.rules ?? []), ...(NOT_YET_MIGRATED[file] ?? [])]);
      for (const [rule, where] of violations(await readFile(path, 'utf8'))) {
        if (!allowed.has(rule)) problems.push(`${file}:${where} — ${RULES.find((r) => r.id === rule)?.what}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the not-yet-migrated list is honest: every entry still needs its exemption', async () => {
    const stale: string[] = [];
    for (const [file, rules] of Object.entries(NOT_YET_MIGRATED)) {
      let text: string;
      try {
        text = await readFile(join(root, file), 'utf8');
      } catch {
        stale.push(`${file}: no such file`);
        continue;
      }
      const found = violations(text);
      for (const rule of rules) if (!found.has(rule)) stale.push(`${file}: ${rule} (migrated: delete it from NOT_YET_MIGRATED)`);
    }
    assert.deepEqual(stale, []);
  });
});
