import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Alert } from '../../core/alert.js';
import { RuleEngine } from '../../logwatcher/engine.js';
import { EXIT, UsageError, type CliContext } from '../context.js';
import { escapeTerminal } from '../../core/terminal.js';
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
  rules: Array<{ id: string; description: string; tags: readonly string[]; matches: number }>;
  hosts: Array<{ host: string; failures: number }>;
  users: Array<{ user: string; failures: number }>;
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
  const rules = tuneThresholds(rulesOf(opts.rules), { maxRetry: opts.maxRetry, findTime: opts.findTime });
  const engine = new RuleEngine({ rules });
  const input = await openInput(file, ctx);
  const perRule = new Map<string, number>();
  const hosts = new Map<string, number>();
  const users = new Map<string, number>();
  const alerts: Alert[] = [];
  let lines = 0;
  let matchedLines = 0;
  let truncatedLines = 0;
  const label = file === '-' ? '<stdin>' : file;
  for await (const { line, truncated } of readLines(input)) {
    if (ctx.signal.aborted) break;
    lines++;
    if (truncated) truncatedLines++;
    const { matches, alerts: raised } = engine.handle(line, { file: label, lineNumber: lines, truncated });
    if (matches.length > 0) matchedLines++;
    else if (opts.showMissed && !opts.json) ctx.stdout.write(`${lines}: [missed] ${escapeTerminal(line, { singleLine: true })}\n`);
    for (const match of matches) {
      const times = match.repeated ?? 1;
      bump(perRule, match.rule.id, times);
      if (match.rule.tags.includes('auth-failure')) {
        bump(hosts, match.fields['host'], times);
        bump(users, match.fields['user'], times);
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
    rules: rules
      .filter((rule) => perRule.has(rule.id))
      .map((rule) => ({ id: rule.id, description: rule.description, tags: rule.tags, matches: perRule.get(rule.id) ?? 0 })),
    hosts: top(hosts).map(([host, failures]) => ({ host, failures })),
    users: top(users).map(([user, failures]) => ({ user, failures })),
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
  out(`Rules:    ${opts.rules.join(', ')}${opts.maxRetry !== undefined ? `, maxretry ${opts.maxRetry}` : ''}${opts.findTime !== undefined ? `, findtime ${opts.findTime}ms` : ''}`);
  if (report.rules.length > 0) {
    out();
    out('Matches per rule:');
    const width = Math.max(...report.rules.map((r) => r.id.length));
    for (const rule of report.rules) out(`  ${rule.id.padEnd(width)}  ${String(rule.matches).padStart(7)}   ${rule.tags.join(', ')}`);
  }
  const list = (title: string, rows: Array<[string, number]>, total: number): void => {
    if (rows.length === 0) return;
    out();
    out(`${title} (${total}${total > TOP ? `, top ${TOP}` : ''}):`);
    for (const [name, count] of rows.slice(0, TOP)) out(`  ${escapeTerminal(name, { singleLine: true }).padEnd(40)} ${String(count).padStart(7)}`);
  };
  list('Failures per host', report.hosts.map((h) => [h.host, h.failures]), report.hosts.length);
  list('Failures per user', report.users.map((u) => [u.user, u.failures]), report.users.length);
  out();
  out(`Alerts that would fire: ${report.alerts.length}`);
  const color = wantsColor(ctx.stdout, ctx.env);
  for (const alert of report.alerts) {
    out();
    out(formatAlert(alert, { color, maxEvidence: 3 }));
  }
}
