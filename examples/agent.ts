/**
 * All four parts wired together as a long-running service would run them: a LogWatcher
 * with a position file (a restart neither loses nor repeats a line), a ResourceMonitor
 * with anomaly detection, a FileScanner run at start and then periodically with
 * quarantine, a Notifier with a durable outbox (an alert survives a Slack outage and a
 * restart), and Prometheus metrics. Stops cleanly on SIGINT/SIGTERM (what `docker stop`
 * and systemd send).
 *
 *   SLACK_TOKEN=xoxb-… SLACK_CHANNEL='#ops' npx tsx examples/agent.ts --state-dir /var/lib/hostwarden
 *
 * Flags: --state-dir <dir> (default ./hostwarden-state), --log <file or glob> (repeatable,
 * default /var/log/auth.log), --root <dir> (repeatable, default /home), --scan-every <ms>
 * (default 6 h), --interval <ms> (resource sampling, default 10000), --metrics-port <port>
 * (off by default), --slack-api-url <url>. Environment: SLACK_TOKEN, SLACK_CHANNEL, SLACK_API_URL.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  EICAR_SIGNATURE,
  FileScanner,
  HostwardenMetrics,
  LogChannel,
  LogWatcher,
  Notifier,
  Quarantine,
  ResourceMonitor,
  SlackChannel,
  closeLogger,
  createLogger,
  defaultResourceRules,
  executableDetector,
  extensionDetector,
  serveMetrics,
  signatureDetector,
  type Channel,
  type MetricsServer,
} from 'hostwarden';

const { values: flags } = parseArgs({
  options: {
    'state-dir': { type: 'string', default: './hostwarden-state' },
    log: { type: 'string', multiple: true },
    root: { type: 'string', multiple: true },
    'scan-every': { type: 'string', default: String(6 * 3_600_000) },
    interval: { type: 'string', default: '10000' },
    'metrics-port': { type: 'string' },
    'slack-api-url': { type: 'string' },
  },
});
const stateDir = flags['state-dir'];
const logger = createLogger({ level: 'info', file: join(stateDir, 'hostwarden.log') });

const token = process.env['SLACK_TOKEN'];
const slackChannel = process.env['SLACK_CHANNEL'];
const slackApiUrl = flags['slack-api-url'] ?? process.env['SLACK_API_URL'];
const channels: Channel[] = [new LogChannel({ logger, minSeverity: 'info' })];
if (token && slackChannel) channels.push(new SlackChannel({ token, channel: slackChannel, minSeverity: 'warning', ...(slackApiUrl ? { slackApiUrl } : {}) }));

// persistent: this is the service's main job, so its timers keep the process alive.
const notifier = new Notifier({ channels, outbox: { directory: join(stateDir, 'outbox') }, logger, persistent: true });
const watcher = new LogWatcher({ files: flags.log ?? ['/var/log/auth.log'], stateFile: join(stateDir, 'logwatcher.json'), logger, persistent: true });
const monitor = new ResourceMonitor({ interval: Number(flags.interval), rules: defaultResourceRules, anomaly: true, logger, persistent: true });
const stop = new AbortController();
const scanner = new FileScanner({
  roots: flags.root ?? ['/home'],
  detectors: [extensionDetector(), executableDetector(), signatureDetector({ signatures: [EICAR_SIGNATURE] })],
  quarantine: { into: new Quarantine({ directory: join(stateDir, 'quarantine'), logger }), minSeverity: 'critical' },
  cache: { file: join(stateDir, 'scan-cache.json') }, // rescans skip files unchanged since they were found clean
  signal: stop.signal,
  logger,
});

const logError =
  (part: string) =>
  (error: Error): void => {
    logger.error(`${part}: ${error.message}`);
  };
watcher.on('error', logError('logs'));
monitor.on('error', logError('resources'));
scanner.on('error', logError('scan'));
notifier.on('error', logError('notifier'));
notifier.on('failed', ({ channel, error }) => logger.error(`delivery to ${channel} failed for good: ${error.message}`));
notifier.attach(watcher, monitor, scanner);

let metricsServer: MetricsServer | undefined;
const metrics = new HostwardenMetrics().observe(watcher, monitor, scanner, notifier);

// The notifier first, so the outbox of a previous run is delivered and nothing raised is lost.
await notifier.start();
await watcher.start();
await monitor.start();
if (flags['metrics-port'] !== undefined) {
  metricsServer = await serveMetrics({ registry: metrics.registry, port: Number(flags['metrics-port']), host: '127.0.0.1' });
  logger.info(`Metrics on ${metricsServer.url}`);
}

let scanning: Promise<void> | undefined;
function scanNow(): void {
  if (scanning) return; // a slow walk must not overlap the next one
  scanning = scanner
    .scan()
    .then((r) => {
      logger.info(`Scan: ${r.filesScanned} files (${r.cached} unchanged), ${r.findings.length} findings, ${r.quarantined.length} quarantined`);
    })
    .catch((error: unknown) => {
      if (!stop.signal.aborted) logger.error(`Scan failed: ${String(error)}`);
    })
    .finally(() => (scanning = undefined));
}
scanNow();
const scanTimer = setInterval(scanNow, Number(flags['scan-every']));
logger.info(`hostwarden agent running; state in ${stateDir}`);

async function shutdown(signal: string): Promise<void> {
  logger.info(`${signal}: stopping`);
  clearInterval(scanTimer);
  stop.abort(); // cancels a scan in progress
  await Promise.allSettled([watcher.stop(), monitor.stop(), scanning]);
  await metricsServer?.close();
  metrics.close();
  await notifier.stop(); // delivers what it can; the rest waits in the outbox for the next start
  logger.info('stopped');
  await closeLogger(logger);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
