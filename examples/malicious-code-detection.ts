/**
 * The second seed script, rebuilt on hostwarden: walk /home (or the given roots) for
 * `.exe` and `.dll` files — plus executables whose name lies, the EICAR test signature and
 * optional ClamAV hash databases — log a warning for each to `malicious_code.log`, isolate
 * each finding in a quarantine directory, and warn the admin (Slack, or the console).
 *
 *   npx tsx examples/malicious-code-detection.ts --root /home --quarantine /var/lib/hostwarden/quarantine
 *   SLACK_TOKEN=xoxb-… SLACK_CHANNEL='#security' npx tsx examples/malicious-code-detection.ts
 *
 * Flags: --root <dir> (repeatable, default /home), --quarantine <dir> (default ./quarantine),
 * --log <file> (default malicious_code.log), --hash-db <file.hsb> (repeatable),
 * --min-severity info|warning|critical (what gets isolated; default critical: a PE disguised as a
 * document, EICAR, a hash match — never scripts or ordinary binaries, which would break tools),
 * --slack-api-url <url>, --watch (after the walk, keep watching the roots and scan every file
 * as it lands, until Ctrl-C). Environment: SLACK_TOKEN, SLACK_CHANNEL, SLACK_API_URL.
 * Scanning other users' homes and moving their files needs root. Ctrl-C cancels the walk
 * cleanly; the exit status is 0 when nothing was found, 1 when a finding of warning or
 * critical severity was, 2 when something could not be scanned.
 */
import { parseArgs } from 'node:util';
import {
  EICAR_SIGNATURE,
  FileScanner,
  FileWatcher,
  LogChannel,
  Notifier,
  Quarantine,
  SlackChannel,
  closeLogger,
  createLogger,
  executableDetector,
  extensionDetector,
  hashDetector,
  isSeverity,
  signatureDetector,
  type Channel,
  type Detector,
  type Severity,
} from 'hostwarden';

const { values: flags } = parseArgs({
  options: {
    root: { type: 'string', multiple: true },
    quarantine: { type: 'string', default: './quarantine' },
    log: { type: 'string', default: 'malicious_code.log' },
    'hash-db': { type: 'string', multiple: true },
    'min-severity': { type: 'string', default: 'critical' },
    'slack-api-url': { type: 'string' },
    watch: { type: 'boolean', default: false },
  },
});
const minSeverity = flags['min-severity'];
if (!isSeverity(minSeverity)) throw new Error(`--min-severity must be info, warning or critical, got ${minSeverity}`);

// Warnings go to the console and, as JSON lines, to malicious_code.log.
const logger = createLogger({ level: 'info', file: flags.log });

// The admin hears about each finding on Slack, or on the console without a token.
const token = process.env['SLACK_TOKEN'];
const slackChannel = process.env['SLACK_CHANNEL'];
const slackApiUrl = flags['slack-api-url'] ?? process.env['SLACK_API_URL'];
const channels: Channel[] =
  token && slackChannel ? [new SlackChannel({ token, channel: slackChannel, ...(slackApiUrl ? { slackApiUrl } : {}) })] : [new LogChannel({ logger, name: 'console' })];
const notifier = new Notifier({ channels, logger });

// The seed's rule (.exe, .dll) plus the stronger detectors.
const detectors: Detector[] = [extensionDetector({ extensions: ['.exe', '.dll'] }), executableDetector(), signatureDetector({ signatures: [EICAR_SIGNATURE] })];
const hashDbs = flags['hash-db'] ?? [];
if (hashDbs.length > 0) detectors.push(hashDetector({ files: hashDbs }));

const controller = new AbortController();
const scanner = new FileScanner({
  roots: flags.root ?? ['/home'],
  detectors,
  quarantine: { into: new Quarantine({ directory: flags.quarantine, logger }), minSeverity },
  signal: controller.signal,
  logger,
});

// Paths are attacker-chosen: findings and warnings carry them escaped; a quarantine
// record keeps the real path (to restore it), so strip control characters before logging it.
scanner.on('finding', (f) => logger.warn(`Suspicious file: ${f.displayPath}: ${f.reason}`, { path: f.path, rule: f.rule, severity: f.severity, size: f.size, sha256: f.sha256 }));
scanner.on('quarantined', ({ finding, record }) => logger.warn(`Isolated ${finding.displayPath} as ${record.id}`, { quarantine: flags.quarantine, sha256: record.sha256 }));
scanner.on('warning', (w) => logger.warn(`Could not check ${w.displayPath}: ${w.message}`, { code: w.code }));
scanner.on('error', (error) => logger.error(error.message));
notifier.on('error', (error) => logger.error(error.message));
notifier.on('failed', ({ channel, error }) => logger.error(`Could not warn the admin through ${channel}: ${error.message}`));
notifier.attach(scanner);

process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());

await notifier.start();
try {
  const report = await scanner.scan();
  logger.info(
    `Scanned ${report.filesScanned} files in ${Math.round(report.durationMs)} ms: ${report.findings.length} findings, ` +
      `${report.quarantined.length} isolated in ${flags.quarantine}, ${report.skippedCount} skipped`,
  );
  // As clamscan: 1 for a finding of warning or above (info findings are listed, not infections),
  // 2 when not everything could be scanned.
  const infections = report.findings.filter((f) => f.severity !== 'info').length;
  const { loop = 0, 'special-file': special = 0 } = report.skippedByReason;
  process.exitCode = infections > 0 ? 1 : report.skippedCount - loop - special > 0 ? 2 : 0;
  if (flags.watch && !controller.signal.aborted) await watchUntilStopped(minSeverity);
} catch (error) {
  if (!controller.signal.aborted) throw error;
  logger.info('Scan cancelled');
} finally {
  // Deliver every warning before exiting, then flush the log file.
  await notifier.stop();
  await closeLogger(logger);
}

// --watch: the walk found what was there; from now on every file that lands is scanned
// within about a second (kernel events, with crawls that catch anything events missed).
async function watchUntilStopped(isolateAt: Severity): Promise<void> {
  const watcher = new FileWatcher({
    roots: flags.root ?? ['/home'],
    detectors,
    quarantine: { into: new Quarantine({ directory: flags.quarantine, logger }), minSeverity: isolateAt },
    signal: controller.signal,
    persistent: true,
    logger,
  });
  watcher.on('finding', (f) => {
    if (f.severity !== 'info') process.exitCode = 1;
    logger.warn(`Suspicious file: ${f.displayPath}: ${f.reason}`, { path: f.path, rule: f.rule, severity: f.severity, size: f.size, sha256: f.sha256 });
  });
  watcher.on('quarantined', ({ finding, record }) => logger.warn(`Isolated ${finding.displayPath} as ${record.id}`, { quarantine: flags.quarantine, sha256: record.sha256 }));
  watcher.on('warning', (w) => logger.warn(`Watcher: ${w.displayPath ?? ''} ${w.message}`, { code: w.code }));
  watcher.on('health', (h) => logger.warn(`Watcher ${h.state}`, { checks: h.checks.filter((c) => !c.ok) }));
  watcher.on('error', (error) => logger.error(error.message));
  notifier.attach(watcher);
  await watcher.start();
  logger.info(`Watching ${(flags.root ?? ['/home']).join(', ')} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  await watcher.stop();
}
