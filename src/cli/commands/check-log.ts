import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { checkRule } from '../../logwatcher/check-rule.js';
import type { LogRule } from '../../logwatcher/rule.js';
import type { Alert } from '../../core/alert.js';
import { RuleEngine } from '../../logwatcher/engine.js';
import { EXIT, UsageError, type CliContext } from '../context.js';
import { escapeTerminal } from '../../core/text.js';
import { formatAlert, wantsColor } from '../format.js';
import { readLines } from '../lines.js';
import type { CheckLogCliOptions } from '../program.js';
import { rulesOf, tuneThresholds } from '../rulesets.js';

/** The `--json` report of `check-log`. */
export interface CheckLogReport {
  file: string;
  lines: number;
  matchedLines: number;
  truncatedLines: number;
  /** Failed authentication attempts: the lines OpenSSH writes for one attempt count once. */
  attempts: number;
  /** Lines that matched an `auth-failure` rule (several per attempt). */
  failureLines: number;
  rules: Array<{ id: string; description: string; tags: readonly string[]; matches: number }>;
  /** Per source address: counted attempts (`failures`) and auth-failure lines. */
  hosts: Array<{ host: string; failures: number; lines: number }>;
  users: Array<{ user: string; failures: number; lines: number }>;
  alerts: Alert[];
  /** With `--bans`: who would have been banned, when, for how long. */
  bans?: Array<{ address: string; rule: string; since: Date; until: Date; count: number }>;
}

const TOP = 10;

function bump(map: Map<string, number>, key: string | undefined, by = 1): void {
  if (key !== undefined && key !== '') map.set(key, (map.get(key) ?? 0) + by);
}

function top(map: Map<string, number>): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Every key of either map, with the first map's count (0 when absent). */
function mergeKeys(counts: Map<string, number>, also: Map<string, number>): Map<string, number> {
  const out = new Map(counts);
  for (const key of also.keys()) if (!out.has(key)) out.set(key, 0);
  return out;
}

/** Opens the input, turning the usual failures into advice rather than a stack trace. */
async function openInput(file: string, ctx: CliContext): Promise<AsyncIterable<Buffer | string>> {
  if (file === '-') {
    if (ctx.stdin === undefined) throw new UsageError('no standard input to read');
    return ctx.stdin;
  }
  let handle;
  try {
    handle = await open(file, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
  } catch (error) {
    await handle?.close();
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const hint = code === 'EACCES' ? ' (auth logs are usually root:adm 0640: run as root or join the adm group)' : '';
    throw new UsageError(`cannot read ${escapeTerminal(file, { singleLine: true })}: ${code}${hint}`);
  }
  return createReadStream('', { fd: handle, highWaterMark: 1 << 20 });
}

/**
 * `hostwarden check-log <file>`: runs the rule engine over a finished file, as the
 * LogWatcher would over the same lines (thresholds counted in the lines' own time),
 * and reports what matched and which alerts would have fired.
 */
export async function checkLog(file: string, opts: CheckLogCliOptions, ctx: CliContext): Promise<number> {
  if (opts.lint === true) return lintRules(file, ctx, opts.json === true);
  const rules = tuneThresholds(rulesOf(opts.rules), { maxRetry: opts.maxRetry, findTime: opts.findTime });
  const engine = new RuleEngine({ rules });
  const input = await openInput(file, ctx);
  const perRule = new Map<string, number>();
  const hosts = new Map<string, number>();
  const users = new Map<string, number>();
  const hostLines = new Map<string, number>();
  const userLines = new Map<string, number>();
  let attempts = 0;
  let failureLines = 0;
  const alerts: Alert[] = [];
  let lines = 0;
  let matchedLines = 0;
  let truncatedLines = 0;
  const label = file === '-' ? '<stdin>' : file;
  for await (const { line, truncated } of readLines(input)) {
    if (ctx.signal.aborted) break;
    lines++;
    if (truncated) truncatedLines++;
    const { matches, alerts: raised, attempts: counted } = engine.handle(line, { file: label, lineNumber: lines, truncated });
    if (matches.length > 0) matchedLines++;
    else if (opts.showMissed && !opts.json) ctx.stdout.write(`${lines}: [missed] ${escapeTerminal(line, { singleLine: true })}\n`);
    for (const attempt of counted) {
      if (!attempt.rule.tags.includes('auth-failure')) continue;
      const times = attempt.repeated ?? 1;
      attempts += times;
      bump(hosts, attempt.fields['host'], times);
      bump(users, attempt.fields['user'], times);
    }
    if (matches.some((m) => m.rule.tags.includes('auth-failure'))) failureLines++;
    for (const match of matches) {
      const times = match.repeated ?? 1;
      bump(perRule, match.rule.id, times);
      if (match.rule.tags.includes('auth-failure')) {
        bump(hostLines, match.fields['host'], times);
        bump(userLines, match.fields['user'], times);
      }
      if (opts.showMatches && !opts.json) {
        ctx.stdout.write(`${lines}: [${match.rule.id}] ${escapeTerminal(line, { singleLine: true })}\n`);
      }
    }
    for (const alert of raised) if (alert.status === 'firing') alerts.push(alert);
  }
  const report: CheckLogReport = {
    file: label,
    lines,
    matchedLines,
    truncatedLines,
    rules: rules.filter((rule) => perRule.has(rule.id)).map((rule) => ({ id: rule.id, description: rule.description, tags: rule.tags, matches: perRule.get(rule.id) ?? 0 })),
    attempts,
    failureLines,
    hosts: top(mergeKeys(hosts, hostLines)).map(([host, failures]) => ({ host, failures, lines: hostLines.get(host) ?? 0 })),
    users: top(mergeKeys(users, userLines)).map(([user, failures]) => ({ user, failures, lines: userLines.get(user) ?? 0 })),
    alerts,
  };
  if (opts.bans) report.bans = await (await import('../../response/replay.js')).replayBans(alerts);
  if (opts.json) {
    ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  printReport(report, ctx, opts);
  if (report.bans) ctx.stdout.write(`\n${(await import('../../response/replay.js')).formatReplay(report.bans)}`);
  return EXIT.ok;
}

function printReport(report: CheckLogReport, ctx: CliContext, opts: CheckLogCliOptions): void {
  const out = (s = ''): void => void ctx.stdout.write(`${s}\n`);
  const pct = report.lines === 0 ? '0.00' : ((100 * report.matchedLines) / report.lines).toFixed(2);
  out(`File:     ${escapeTerminal(report.file, { singleLine: true })}`);
  out(`Lines:    ${report.lines} read, ${report.matchedLines} matched (${pct} %)${report.truncatedLines > 0 ? `, ${report.truncatedLines} cut at 64 KiB` : ''}`);
  out(`Failures: ${report.attempts} attempts in ${report.failureLines} lines (the lines OpenSSH writes for one attempt count once)`);
  out(`Rules:    ${opts.rules.join(', ')}${opts.maxRetry !== undefined ? `, maxretry ${opts.maxRetry}` : ''}${opts.findTime !== undefined ? `, findtime ${opts.findTime}ms` : ''}`);
  if (report.rules.length > 0) {
    out();
    out('Matches per rule:');
    const width = Math.max(...report.rules.map((r) => r.id.length));
    for (const rule of report.rules) out(`  ${rule.id.padEnd(width)}  ${String(rule.matches).padStart(7)}   ${rule.tags.join(', ')}`);
  }
  const list = (title: string, rows: Array<[string, number, number]>, total: number): void => {
    if (rows.length === 0) return;
    out();
    out(`${title} (${total}${total > TOP ? `, top ${TOP}` : ''}):${' '.repeat(Math.max(1, 30 - title.length))}attempts    lines`);
    for (const [name, count, lines] of rows.slice(0, TOP)) {
      out(`  ${escapeTerminal(name, { singleLine: true }).padEnd(40)} ${String(count).padStart(7)}  ${String(lines).padStart(7)}`);
    }
  };
  list(
    'Failures per host',
    report.hosts.map((h) => [h.host, h.failures, h.lines]),
    report.hosts.length,
  );
  list(
    'Failures per user',
    report.users.map((u) => [u.user, u.failures, u.lines]),
    report.users.length,
  );
  out();
  out(`Alerts that would fire: ${report.alerts.length}`);
  const color = wantsColor(ctx.stdout, ctx.env);
  for (const alert of report.alerts) {
    out();
    out(formatAlert(alert, { color, maxEvidence: 3 }));
  }
}

/**
 * `check-log --lint <rules-file>`: checks that each of a user's rule patterns runs in time
 * linear in the line length (one bad regex stalls the host service on one crafted line).
 * The file is a JSON array of `{ id?, pattern, flags? }` or plain text with one regular
 * expression per line (`#` comments). Exit 1 when a pattern is super-linear.
 */
async function lintRules(file: string, ctx: CliContext, json: boolean): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${escapeTerminal(file, { singleLine: true })}: ${(error as NodeJS.ErrnoException).code ?? 'EIO'}`);
  }
  const rules = parseRulesFile(text);
  const checks = rules.map((rule) => checkRule(rule));
  if (json) ctx.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  else {
    for (const check of checks) {
      ctx.stdout.write(`${check.linear ? 'linear      ' : 'SUPER-LINEAR'}  ${escapeTerminal(check.rule, { singleLine: true })}\n`);
      for (const problem of check.problems) ctx.stdout.write(`              ${escapeTerminal(problem, { singleLine: true })}\n`);
    }
    const bad = checks.filter((c) => !c.linear).length;
    ctx.stdout.write(`${checks.length} pattern${checks.length === 1 ? '' : 's'} checked, ${bad} super-linear\n`);
  }
  return checks.every((c) => c.linear) ? EXIT.ok : EXIT.found;
}

function parseRulesFile(text: string): LogRule[] {
  const make = (id: string, source: string, flags = ''): LogRule => {
    try {
      return { id, description: id, severity: 'warning', tags: [], pattern: new RegExp(source, flags.replace(/[gy]/g, '')) };
    } catch (error) {
      throw new UsageError(`${id}: not a valid regular expression: ${(error as Error).message}`);
    }
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`rules file is not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(list)) throw new UsageError('rules file: expected a JSON array of { id?, pattern, flags? }');
    return list.map((item: unknown, i) => {
      const r = (item ?? {}) as { id?: unknown; pattern?: unknown; flags?: unknown };
      if (typeof r.pattern !== 'string') throw new UsageError(`rules file [${i}]: pattern must be a string`);
      return make(typeof r.id === 'string' ? r.id : `#${i + 1}`, r.pattern, typeof r.flags === 'string' ? r.flags : '');
    });
  }
  return text
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line !== '' && !line.startsWith('#'))
    .map(([line, n]) => make(`line ${n}`, line));
}
