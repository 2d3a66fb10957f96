import { lstat } from 'node:fs/promises';
import { Quarantine } from '../../quarantine/quarantine.js';
import { FileScanner } from '../../scanner/file-scanner.js';
import type { Finding, ScanReport } from '../../scanner/types.js';
import { isAtLeast } from '../../core/severity.js';
import { EXIT, type CliContext } from '../context.js';
import { cliDetectors, parseExtensions } from '../detectors.js';
import { formatBytes, formatDuration } from '../duration.js';
import { escapeTerminal } from '../../core/terminal.js';
import { ProgressLine } from '../progress.js';
import type { ScanCliOptions } from '../program.js';

/** Skip reasons that mean "could not look", which clamscan reports as errors (exit 2). */
const ERROR_SKIPS = new Set(['unreadable']);

/**
 * `hostwarden scan <path…>`: one FileScanner run with clamscan's conventions —
 * one line per finding (`path: reason FOUND`), a summary, exit 0 clean / 1 found / 2 error.
 */
export async function scan(paths: string[], opts: ScanCliOptions, ctx: CliContext): Promise<number> {
  // A path named on the command line that cannot be reached is an error (clamscan's
  // "Can't access file"), not a file that vanished mid-walk; the others are still scanned.
  const roots: string[] = [];
  let missing = 0;
  for (const path of paths) {
    try {
      await lstat(path);
      roots.push(path);
    } catch (error) {
      missing++;
      ctx.stderr.write(`${escapeTerminal(path, { singleLine: true })}: cannot access (${(error as NodeJS.ErrnoException).code ?? 'EIO'}) ERROR\n`);
    }
  }
  if (roots.length === 0) return EXIT.error;
  const quarantine = opts.quarantine === undefined ? undefined : new Quarantine({ directory: opts.quarantine });
  const scanner = new FileScanner({
    roots,
    detectors: cliDetectors({ extensions: opts.extensions === undefined ? undefined : parseExtensions(opts.extensions), hashDb: opts.hashDb, scripts: opts.scripts }),
    ...(opts.exclude === undefined ? {} : { exclude: opts.exclude }),
    ...(opts.maxFileSize === undefined ? {} : { maxFileSize: opts.maxFileSize }),
    // "--quarantine" isolates every reported finding.
    ...(quarantine === undefined ? {} : { quarantine: { into: quarantine, minSeverity: opts.minSeverity } }),
    signal: ctx.signal,
  });
  const progress = new ProgressLine(ctx.stderr, 'scanning', { enabled: opts.progress && !opts.json && ctx.stderr.isTTY === true });
  const text = (s: string): void => {
    if (opts.json) return;
    progress.clear();
    ctx.stdout.write(s);
  };
  let quarantineFailures = 0;
  const reported = (f: Finding): boolean => isAtLeast(f.severity, opts.minSeverity);
  scanner.on('finding', (f) => reported(f) && text(`${escapeTerminal(f.path, { singleLine: true })}: ${escapeTerminal(f.reason, { singleLine: true })} [${f.rule}, ${f.severity}] FOUND\n`));
  scanner.on('quarantined', ({ record }) => text(`${escapeTerminal(record.originalPath, { singleLine: true })}: moved to quarantine as ${record.id}\n`));
  scanner.on('warning', (w) => {
    if (w.code === 'quarantine-failed') quarantineFailures++;
    progress.clear();
    ctx.stderr.write(`${escapeTerminal(w.path, { singleLine: true })}: ${escapeTerminal(w.message, { singleLine: true })} WARNING\n`);
  });
  scanner.on('progress', (p) =>
    progress.update({ done: p.filesScanned, detail: `files, ${formatBytes(p.bytesScanned)}, ${p.findings} found`, ...(p.currentPath === undefined ? {} : { current: p.currentPath }) }),
  );
  // 'error' events are per-path problems the scanner survived; the exit status says so.
  let errors = 0;
  scanner.on('error', (error) => {
    errors++;
    progress.clear();
    ctx.stderr.write(`hostwarden: ${escapeTerminal(error.message)}\n`);
  });
  let report: ScanReport;
  try {
    report = await scanner.scan();
  } finally {
    progress.clear();
  }
  report = { ...report, findings: report.findings.filter(reported) };
  const unreadable = report.skipped.filter((s) => ERROR_SKIPS.has(s.reason)).length;
  const code = report.findings.length > 0 ? EXIT.found : errors + unreadable + quarantineFailures + missing > 0 ? EXIT.error : EXIT.ok;
  if (opts.json) {
    ctx.stdout.write(`${JSON.stringify({ ...report, exitCode: code }, null, 2)}\n`);
    return code;
  }
  const infected = new Set(report.findings.map((f) => f.path)).size;
  const lines = [
    '',
    '----------- SCAN SUMMARY -----------',
    `Scanned files: ${report.filesScanned}${report.cached > 0 ? ` (${report.cached} unchanged, from cache)` : ''}`,
    `Scanned directories: ${report.directories}`,
    `Data scanned: ${formatBytes(report.bytesScanned)} (${formatBytes(report.bytesHashed)} read in full)`,
    `Infected files: ${infected} (${report.findings.length} finding${report.findings.length === 1 ? '' : 's'})`,
    ...(quarantine === undefined ? [] : [`Quarantined: ${report.quarantined.length} in ${escapeTerminal(quarantine.directory, { singleLine: true })}`]),
    `Skipped: ${report.skippedCount}${summariseSkips(report)}`,
    `Time: ${formatDuration(report.durationMs)}`,
  ];
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return code;
}

function summariseSkips(report: ScanReport): string {
  if (report.skippedCount === 0) return '';
  const by = new Map<string, number>();
  for (const s of report.skipped) by.set(s.reason, (by.get(s.reason) ?? 0) + 1);
  return ` (${[...by].map(([reason, n]) => `${n} ${reason}`).join(', ')})`;
}
