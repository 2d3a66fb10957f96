/**
 * Your own rules on the same machinery: a LogRule for an application's log, a file
 * detector of your own, and a handler that acts on the alert (here, like a fail2ban
 * action, it appends the offending address to a block list your firewall job reads).
 *
 *   npx tsx examples/custom-rule.ts --log ./app.log --root ./www --blocklist ./blocked-hosts.txt
 *
 * Then, in another shell:
 *   for i in 1 2 3; do echo "$(date -Is) shop[42]: login failed for user=bob ip=203.0.113.7" >> app.log; done
 *   printf '<?php eval(base64_decode($_POST["x"])); ?>' > www/upload.php
 *
 * Stops cleanly on Ctrl-C / SIGTERM.
 */
import { appendFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FileScanner, LogWatcher, createAlert, createLogger, defineRule, matchLines, type Alert, type Detector, type DetectorFinding, safeText } from 'hostwarden';

const { values: flags } = parseArgs({
  options: {
    log: { type: 'string', default: './app.log' },
    root: { type: 'string', default: './www' },
    blocklist: { type: 'string', default: './blocked-hosts.txt' },
  },
});
const logger = createLogger({ level: 'info' });

// 1. A log rule: named groups become fields; 3 failures per address within a minute alert.
const shopLoginFailed = defineRule({
  id: 'shop.login-failed',
  description: 'Shop login failed',
  severity: 'warning',
  tags: ['auth-failure'],
  programs: ['shop'],
  prefilter: 'login failed',
  pattern: /login failed for user=(?<user>\S+) ip=(?<host>[\d.:a-fA-F]+)/,
  alert: { count: 3, within: 60_000, groupBy: 'host', rule: 'shop.brute-force', severity: 'critical', title: 'Shop brute force from {host} ({count} failures in {within})' },
});

// Test the rule before trusting it, as you would with fail2ban-regex.
const sample = ['2026-03-01T10:00:00+00:00 web1 shop[42]: login failed for user=bob ip=203.0.113.7'];
for await (const match of matchLines(sample, { rules: [shopLoginFailed] })) {
  logger.info(`rule self-test: ${match.rule.id} matched, host=${match.fields['host']}`);
}

// 2. A detector is a plain object: say what to read, then judge what was read.
const phpWebshell: Detector = {
  name: 'php-webshell',
  needs: (file) =>
    file.name.toLowerCase().endsWith('.php') ? { patterns: [{ id: 'eval-input', pattern: /eval\s*\(\s*(base64_decode\s*\()?\s*\$_(POST|GET|REQUEST|COOKIE)/ }] } : undefined,
  inspect: (_file, content): DetectorFinding[] =>
    content.matches.some((m) => m.id === 'eval-input') ? [{ rule: 'file.webshell', severity: 'critical', reason: 'PHP evaluates request input (web shell pattern)' }] : [],
};

// 3. A handler: act on firing brute-force alerts, once per address.
const blocked = new Set<string>();
async function onAlert(alert: Alert): Promise<void> {
  logger.warn(`${alert.status.toUpperCase()}: ${safeText(alert.title, { singleLine: true })}`, { rule: alert.rule, labels: alert.labels });
  const host = alert.labels['host'];
  if (alert.rule !== 'shop.brute-force' || alert.status !== 'firing' || host === undefined || blocked.has(host)) return;
  // The address came out of a log line: accept only what is plainly an IP address.
  if (!/^[\d.]+$|^[\da-fA-F:]+$/.test(host)) return;
  blocked.add(host);
  await appendFile(flags.blocklist, `${host}\n`);
  logger.warn(`Added ${host} to ${flags.blocklist}`);
}

const watcher = new LogWatcher({ files: [flags.log], rules: [shopLoginFailed], persistent: true, logger });
watcher.on('alert', (alert) => void onAlert(alert).catch((error: unknown) => logger.error(String(error))));
watcher.on('error', (error) => {
  logger.error(error.message);
});
await watcher.start();

const stop = new AbortController();
const scanner = new FileScanner({ roots: [flags.root], detectors: [phpWebshell], signal: stop.signal, logger });
scanner.on('alert', (alert) => void onAlert(alert));
scanner.on('warning', (w) => logger.warn(w.message));
const report = await scanner.scan().catch((error: unknown) => {
  logger.error(`scan of ${flags.root} failed: ${String(error)}`);
  return undefined;
});
if (report) logger.info(`Scanned ${report.filesScanned} files under ${flags.root}: ${report.findings.length} findings`);
// One manual alert through the same handler, e.g. from your own health check.
await onAlert(createAlert({ source: 'custom', rule: 'custom.ready', severity: 'info', title: `Watching ${flags.log} with ${shopLoginFailed.id}` }));

async function shutdown(): Promise<void> {
  stop.abort();
  await watcher.stop();
  logger.info('stopped');
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
