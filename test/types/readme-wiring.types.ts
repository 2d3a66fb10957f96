// The README's wiring example, kept here so `npm test` type-checks it against the real API.
// Not run: it would watch this machine's real auth log.
import {
  BanManager,
  createLogger,
  type Channel,
  FileScanner,
  LogChannel,
  LogWatcher,
  NftablesBackend,
  Notifier,
  Quarantine,
  ResourceMonitor,
  SlackChannel,
} from '../../src/index.js';

export async function readmeWiring(): Promise<void> {
  const logger = createLogger({ file: '/var/log/hostwarden.json' });
  const channels: Channel[] = [new LogChannel({ logger })];
  const token = process.env['SLACK_TOKEN'];
  if (token) channels.push(new SlackChannel({ token, channel: '#security' }));
  const notifier = new Notifier({ channels, outbox: { directory: '/var/lib/hostwarden/outbox' } });
  const watcher = new LogWatcher({ files: ['/var/log/auth.log'], stateFile: '/var/lib/hostwarden/auth.state' });
  const monitor = new ResourceMonitor({ interval: 10_000 });
  const quarantine = new Quarantine({ directory: '/var/lib/hostwarden/quarantine' });
  const scanner = new FileScanner({ roots: ['/home'], quarantine: { into: quarantine, minSeverity: 'critical' } });
  const bans = new BanManager({ backend: new NftablesBackend(), stateFile: '/var/lib/hostwarden/bans.jsonl' });

  watcher.on('match', (m) => m.rule.tags.includes('auth-failure') && logger.warn(`failed login from ${m.fields['host']}`));
  bans.attach(watcher); // bans the source of each brute-force alert
  notifier.attach(watcher, monitor, scanner, bans);
  await notifier.start();
  await bans.start();
  await Promise.all([watcher.start(), monitor.start()]);
  const report = await scanner.scan();
  logger.info(`scanned ${report.filesScanned} files`);
}
