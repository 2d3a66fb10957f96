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

type RuleId = 'clock-option' | 'raw-clock' | 'system-clock-call' | 'monotonic-clock' | 'raw-timer' | 'alert-time' | 'escaper' | 'atomic-write';

interface Rule {
  readonly id: RuleId;
  readonly what: string;
  /** Tested against each code line (comments are skipped). */
  readonly line?: RegExp;
  /** Tested against the whole file, for patterns that span lines: where it found one, or `undefined`. */
  readonly file?: (text: string) => string | undefined;
}

const RULES: readonly Rule[] = [
  { id: 'clock-option', what: 'an option or field named `now` (the clock is `clock: Clock`, see src/core/clock.ts)', line: /^\s*(?:readonly\s+)?now\??\s*:/ },
  {
    id: 'raw-clock',
    what: '`Date.now`, `Date()` or `new Date()` (read the injected `clock`, or `systemClock()` where there is none)',
    line: /\bDate\.now\b|\bnew Date\(\s*\)|(?<!new\s+)\bDate\(\s*\)/,
  },
  {
    id: 'system-clock-call',
    what: 'a direct `systemClock()` call (a component reads its own `clock`; `systemClock` is only the default of a `clock` option)',
    line: /\bsystemClock\(\s*\)/,
  },
  {
    id: 'monotonic-clock',
    what: '`performance.now`/`process.hrtime` (windows and elapsed times use `monotonicClock` from src/core/clock.ts, or an injected clock)',
    line: /\bperformance\.now\b|\bprocess\.hrtime\b/,
  },
  {
    id: 'raw-timer',
    what: '`setTimeout`/`setInterval` or node:timers (use `schedule`/`repeat`/`sleep` or Component.setTimer/setRepeating)',
    line: /\bset(?:Timeout|Interval)\s*\(|['"](?:node:)?timers(?:\/promises)?['"]/,
  },
  {
    id: 'alert-time',
    what: "a `createAlert`/`resolveAlert` call without `time` (it would stamp the wall clock, not the component's injected one)",
    file: (text) => alertCallsWithoutTime(text)[0],
  },
  {
    id: 'escaper',
    what: 'a private escaper (use safeText/displayPath/escapeSlack/escapeHtml from src/core/text.ts)',
    // A regex class over control, bidi or zero-width characters, or a function named like an escaper.
    line: /\[\^?\\(?:u00[0-9a-f]{2}|x[0-9a-f]{2})-\\|\\u20(?:2[0-9a-f]|0[b-f]|6[0-9a-f])|function\s+(?:escape\w*|oneLine|printable\w*|displayText|displayPath|stripControl|sanitizeValue|sanitizeLine|shown)\b/i,
  },
  {
    id: 'atomic-write',
    what: 'a hand-rolled atomic write (temp file + fsync + rename: use src/core/durable-fs.ts)',
    file: (text) => (/\brename(?:Sync)?\s*\(/.test(text) && /\bf(?:data)?sync\b|\.tmp\b|O_EXCL|'wx'/.test(text) ? '(whole file)' : undefined),
  },
];

/** The owners of each mechanism: permanent, and the reason is the documentation. */
const EXCEPTIONS: Readonly<Record<string, { readonly rules: readonly RuleId[]; readonly why: string }>> = {
  'src/core/clock.ts': { rules: ['raw-clock', 'monotonic-clock', 'raw-timer'], why: 'the one place that reads the wall and monotonic clocks and arms timers' },
  'src/core/alert.ts': { rules: ['system-clock-call'], why: "createAlert's default `time` for callers without a clock; every call in src/ passes `time` (rule alert-time)" },
  'src/logwatcher/checkpoint.ts': { rules: ['system-clock-call'], why: '`savedAt` is compared with file birth times, which the file system stamps from the wall clock' },
  'src/cli/stream-logger.ts': { rules: ['system-clock-call'], why: 'the CLI stamps the lines it writes to a real terminal or log with real time' },
  'src/cli/commands/bans.ts': { rules: ['system-clock-call'], why: 'a one-shot CLI command: "how long is left" against real time; no component, no injected clock' },
  'src/demo/demo.ts': { rules: ['system-clock-call'], why: 'the demo runs for a real duration on a real machine' },
  'src/demo/samples.ts': { rules: ['system-clock-call'], why: "the demo's sample log lines carry today's time unless `start` is given" },
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

/**
 * The `createAlert(…)`/`resolveAlert(…)` calls whose arguments never name `time`, as their
 * first line. Arguments are read up to the matching parenthesis (strings and template
 * literals are not parsed; a parenthesis in a title could only cut a call short, which
 * reports it rather than hiding it).
 */
export function alertCallsWithoutTime(text: string): string[] {
  const missing: string[] = [];
  for (const call of text.matchAll(/\b(?:createAlert|resolveAlert)\(/g)) {
    const open = call.index + call[0].length;
    let depth = 1;
    let i = open;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
    }
    const args = text.slice(open, i - 1);
    const before = text.slice(text.lastIndexOf('\n', call.index) + 1, call.index);
    // A declaration (`function createAlert(init: AlertInit)`) is not a call, nor is a
    // mention inside a string on the same line (an odd number of quotes before it).
    if (/\bfunction\s+$/.test(before) || [...before.matchAll(/['"`]/g)].length % 2 === 1) continue;
    if (!/\btime\b/.test(args)) missing.push(text.slice(call.index, text.indexOf('\n', call.index)).trim());
  }
  return missing;
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
    const where = rule.file?.(lines.map((l) => l.line).join('\n'));
    if (where !== undefined) found.set(rule.id, where);
  }
  return found;
}

describe('conventions: one way to do each cross-cutting thing', () => {
  it('the rules catch what they are meant to (so a green run means something)', () => {
    const sample = [
      '  readonly now?: () => Date;',
      'const t = Date.now();',
      'const at = systemClock();',
      'const start = performance.now();',
      'setTimeout(() => {}, 5);',
      "const clean = s.replace(/[\\u0000-\\u001f]/g, '?');",
      "await writeFile(tmp + '.tmp', data); await fh.sync(); await fsync(fd); await rename(tmp, path);",
      "return createAlert({ source: 'x', rule: 'y', severity: 'info', title: 'z' });",
    ].join('\n');
    assert.deepEqual([...violations(sample).keys()].sort(), [
      'alert-time',
      'atomic-write',
      'clock-option',
      'escaper',
      'monotonic-clock',
      'raw-clock',
      'raw-timer',
      'system-clock-call',
    ]);
    // Each rule on its own, including the forms that slip past a naive pattern.
    const only = (code: string): RuleId[] => [...violations(code).keys()];
    assert.deepEqual(only("import { setTimeout as delay } from 'node:timers/promises';"), ['raw-timer']);
    assert.deepEqual(only('const stamp = Date();'), ['raw-clock']);
    assert.deepEqual(only('const t = process.hrtime.bigint();'), ['monotonic-clock']);
    assert.deepEqual(only('return resolveAlert(firing, { title });'), ['alert-time']);
    assert.deepEqual(only("return createAlert({\n  source: 'x',\n  labels: { a: f(b) },\n});"), ['alert-time'], 'a nested call does not end the arguments');
    // What is allowed: comments, dates from a number, a clock read through an option, alerts that carry their time.
    assert.deepEqual(only('// Date.now() in a comment\n * setTimeout( in JSDoc\nconst d = new Date(ms);'), []);
    assert.deepEqual(only('this.#clock = options.clock ?? systemClock;\nconst t = (options.clock ?? systemClock)();'), []);
    assert.deepEqual(only("return createAlert({\n  source: 'x',\n  labels: { a: f(b) },\n  time: new Date(this.clock()),\n});\nresolveAlert(firing, { time: sample.time });"), []);
    assert.deepEqual(only('export function createAlert(init: AlertInit): Alert {'), []);
    assert.deepEqual(only("throw new InvalidOptionError('alert', alert, 'an Alert (see createAlert())');"), []);
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
