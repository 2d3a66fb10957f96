import { lstat } from 'node:fs/promises';
import { Quarantine } from '../../quarantine/quarantine.js';
import { FileScanner } from '../../scanner/file-scanner.js';
import type { Finding, ScanReport, SkipReason } from '../../scanner/types.js';
import { isAtLeast, type Severity } from '../../core/severity.js';
import { EXIT, type CliContext } from '../context.js';
import { cliDetectors, parseExtensions } from '../detectors.js';
import { formatBytes, formatDuration } from '../../core/format.js';
import { escapeTerminal } from '../../core/text.js';
import { ProgressLine } from '../progress.js';
import type { ScanCliOptions } from '../program.js';

/**
 * Skip reasons that mean "not everything was scanned" (exit 2, like clamscan's errors):
 * everything but a directory loop (its content was scanned through the other path) and
 * special files (FIFOs, sockets and devices hold no content at rest to scan).
 */
const NOT_SCANNED: readonly SkipReason[] = ['unreadable', 'vanished', 'changed', 'too-large', 'other-filesystem', 'scan-failed'];

/** Findings that make a file "infected" (exit 1); `info` findings (scripts, ordinary binaries) are listed, not counted. */
const INFECTION: Severity = 'warning';

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
    // "--quarantine" isolates only critical findings unless told otherwise: scripts and
    // ordinary binaries (info) or executables merely named .exe (warning) stay in place.
    ...(quarantine === undefined ? {} : { quarantine: { into: quarantine, minSeverity: opts.quarantineSeverity } }),
    oneFileSystem: opts.oneFileSystem === true,
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
  // clamscan's "FOUND" only for what counts as an infection; info findings are listed as such.
  scanner.on(
    'finding',
    (f) =>
      reported(f) &&
      text(`${f.displayPath}: ${escapeTerminal(f.reason, { singleLine: true })} [${f.rule}, ${f.severity}] ${isAtLeast(f.severity, INFECTION) ? 'FOUND' : 'INFO'}\n`),
  );
  scanner.on('quarantined', ({ finding, record }) => text(`${finding.displayPath}: moved to quarantine as ${record.id}\n`));
  scanner.on('warning', (w) => {
    if (w.code === 'quarantine-failed') quarantineFailures++;
    progress.clear();
    ctx.stderr.write(`${w.displayPath}: ${escapeTerminal(w.message, { singleLine: true })} WARNING\n`);
  });
  scanner.on('progress', (p) =>
    progress.update({
      done: p.filesScanned,
      detail: `files, ${formatBytes(p.bytesScanned)}, ${p.findings} found`,
      ...(p.currentPath === undefined ? {} : { current: p.currentPath }),
    }),
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
  const notScanned = NOT_SCANNED.reduce((n, reason) => n + (report.skippedByReason[reason] ?? 0), 0);
  const infections = report.findings.filter((f) => isAtLeast(f.severity, INFECTION));
  const code = infections.length > 0 ? EXIT.found : errors + notScanned + quarantineFailures + missing > 0 ? EXIT.error : EXIT.ok;
  if (opts.json) {
    ctx.stdout.write(`${JSON.stringify({ ...report, notScanned, exitCode: code }, jsonSafe, 2)}\n`);
    return code;
  }
  const infected = new Set(infections.map((f) => f.displayPath)).size;
  const listed = report.findings.length - infections.length;
  const lines = [
    '',
    '----------- SCAN SUMMARY -----------',
    `Scanned files: ${report.filesScanned}${report.cached > 0 ? ` (${report.cached} unchanged, from cache)` : ''}`,
    `Scanned directories: ${report.directories}`,
    `Data scanned: ${formatBytes(report.bytesScanned)} (${formatBytes(report.bytesHashed)} read in full)`,
    `Infected files: ${infected} (${infections.length} finding${infections.length === 1 ? '' : 's'} of warning or critical severity)`,
    ...(listed > 0 ? [`Listed, not counted: ${listed} info finding${listed === 1 ? '' : 's'}`] : []),
    ...(quarantine === undefined ? [] : [`Quarantined: ${report.quarantined.length} in ${escapeTerminal(quarantine.directory, { singleLine: true })}`]),
    `Skipped: ${report.skippedCount}${summariseSkips(report)}`,
    ...(notScanned > 0 ? [`Not everything was scanned: ${notScanned} path${notScanned === 1 ? '' : 's'} skipped (exit status 2 unless something was found)`] : []),
    `Time: ${formatDuration(report.durationMs)}`,
  ];
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return code;
}

// Buffers (raw paths that are not UTF-8) as their bytes in hex, readable and exact.
function jsonSafe(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(raw) ? { hex: raw.toString('hex') } : value;
}

function summariseSkips(report: ScanReport): string {
  if (report.skippedCount === 0) return '';
  return ` (${Object.entries(report.skippedByReason)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ')})`;
}
