/**
 * The first seed script, rebuilt on hostwarden: follow the authentication log, react to
 * every failed login, alert on SSH brute force, CPU above 80 % and memory above 90 %, and
 * send every alert to Slack — or to the console when no Slack token is set. The source of a
 * brute force is banned: by default in observe mode (reported, "Would ban …", nothing
 * touched); with --enforce in an nftables table of its own (root), with escalation for
 * repeat offenders and bans kept across restarts.
 *
 *   SLACK_TOKEN=xoxb-… SLACK_CHANNEL='#ops' npx tsx examples/server-anomaly-detection.ts
 *   npx tsx examples/server-anomaly-detection.ts --log ./auth.log --cpu 80 --memory 90
 *
 * Flags: --log <file> (default /var/log/auth.log; the systemd journal when it does not
 * exist), --journal, --state-file <file>, --cpu <percent>, --memory <percent>,
 * --for <ms> (how long a resource must stay above its threshold, default 60000),
 * --interval <ms> (resource sampling, default 10000), --slack-api-url <url>,
 * --enforce (ban with nftables), --ban-state <file> (default /var/lib/hostwarden/bans.jsonl),
 * --ban-time <duration> (default 10m), --ignore <cidr> (repeatable: never banned).
 * Environment: SLACK_TOKEN, SLACK_CHANNEL, SLACK_API_URL (a Slack-compatible server).
 * Reading /var/log/auth.log needs root or the `adm` group. Stops cleanly on Ctrl-C / SIGTERM.
 */
import { access, constants } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  BanManager,
  LogChannel,
  LogWatcher,
  NftablesBackend,
  Notifier,
  ResourceMonitor,
  SlackChannel,
  closeLogger,
  createLogger,
  type Alert,
  type Channel,
  type LogMatch,
  type LogWatcherOptions,
  safeText,
} from 'hostwarden';

const { values: flags } = parseArgs({
  options: {
    log: { type: 'string', default: '/var/log/auth.log' },
    journal: { type: 'boolean', default: false },
    'state-file': { type: 'string' },
    cpu: { type: 'string', default: '80' },
    memory: { type: 'string', default: '90' },
    for: { type: 'string', default: '60000' },
    interval: { type: 'string', default: '10000' },
    'slack-api-url': { type: 'string' },
    enforce: { type: 'boolean', default: false },
    'ban-state': { type: 'string', default: '/var/lib/hostwarden/bans.jsonl' },
    'ban-time': { type: 'string', default: '10m' },
    ignore: { type: 'string', multiple: true, default: [] },
  },
});

const logger = createLogger({ level: 'info' });

// Every alert goes to Slack; without a token, to the console through the logger.
const token = process.env['SLACK_TOKEN'];
const slackChannel = process.env['SLACK_CHANNEL'];
const slackApiUrl = flags['slack-api-url'] ?? process.env['SLACK_API_URL'];
const channels: Channel[] = [];
if (token && slackChannel) {
  channels.push(new SlackChannel({ token, channel: slackChannel, ...(slackApiUrl ? { slackApiUrl } : {}) }));
} else {
  logger.warn('SLACK_TOKEN and SLACK_CHANNEL are not set: alerts go to the console');
  channels.push(new LogChannel({ logger }));
}
const notifier = new Notifier({ channels, logger });
notifier.on('failed', ({ channel, error }) => logger.error(`Could not deliver to ${channel}: ${error.message}`));

// The authentication log, or the journal on hosts without one (Debian 12 has no rsyslog).
const hasLog = await access(flags.log, constants.F_OK).then(
  () => true,
  () => false,
);
const stateFile = flags['state-file'];
const source: LogWatcherOptions = flags.journal || !hasLog ? { journal: true } : { files: [flags.log] };
const watcher = new LogWatcher({ ...source, persistent: true, logger, ...(stateFile ? { stateFile } : {}) });

// The seed's handler for authentication failures: every failed or abusive attempt.
function onAuthenticationFailure(match: LogMatch): void {
  // User names and hosts come from the log: an attacker chooses them, so strip control characters.
  const user = safeText(match.fields['user'] ?? '?', { singleLine: true });
  const host = safeText(match.fields['host'] ?? '?', { singleLine: true });
  logger.warn(`Authentication failure for ${user} from ${host}`, { rule: match.rule.id, file: match.file, line: match.lineNumber });
}
watcher.on('match', (match) => {
  if (match.rule.tags.includes('auth-failure')) onAuthenticationFailure(match);
});
// The built-in rules also turn 5 failures from one host within 10 minutes into an alert.
watcher.on('warning', (warning) => logger.warn(warning.message));

// The additional response: ban the source of a brute force (5 failures within 10 minutes).
// Observe mode reports whom it would ban; --enforce bans with nftables. This host's own
// addresses and the SSH session running this script are never banned.
const bans = new BanManager({
  ...(flags.enforce ? { backend: new NftablesBackend(), stateFile: flags['ban-state'] } : { mode: 'observe' as const }),
  banTime: flags['ban-time'],
  ignore: flags.ignore,
  logger,
});
bans.attach(watcher);
bans.on('ban', ({ ban, mode }) => logger.warn(`${mode === 'observe' ? 'Would ban' : 'Banned'} ${ban.address} until ${ban.until.toISOString()} (${ban.rule}, ban #${ban.count})`));
bans.on('warning', (warning) => logger.warn(warning.message));

// CPU > 80 % and memory > 90 %, each for a minute before it counts, with resolved notices.
const holdFor = Number(flags.for);
const monitor = new ResourceMonitor({
  interval: Number(flags.interval),
  persistent: true,
  logger,
  rules: [
    { id: 'cpu.high', metric: 'cpu', above: Number(flags.cpu), for: holdFor, severity: 'warning' },
    { id: 'memory.high', metric: 'memory', above: Number(flags.memory), for: holdFor, severity: 'critical' },
  ],
});
function onHighCpu(alert: Alert): void {
  logger.warn(alert.status === 'firing' ? `High CPU: ${alert.title}` : `CPU back to normal: ${alert.title}`);
}
function onHighMemory(alert: Alert): void {
  logger.warn(alert.status === 'firing' ? `High memory: ${alert.title}` : `Memory back to normal: ${alert.title}`);
}
monitor.on('alert', (alert) => {
  if (alert.rule === 'cpu.high') onHighCpu(alert);
  else if (alert.rule === 'memory.high') onHighMemory(alert);
});

// Errors are reported, never fatal: a monitor must outlive a bad line or a Slack outage.
const logError = (error: Error): void => {
  logger.error(error.message);
};
watcher.on('error', logError);
monitor.on('error', logError);
notifier.on('error', logError);
bans.on('error', logError);
notifier.attach(watcher, monitor, bans);
await notifier.start();
await bans.start();
await watcher.start();
await monitor.start();
logger.info(
  `Watching ${'files' in source ? flags.log : 'the systemd journal'}; bans ${flags.enforce ? 'enforced with nftables' : 'observed only (--enforce to ban)'}; CPU > ${flags.cpu} %, memory > ${flags.memory} %; alerts to ${channels[0]?.name}`,
);

// Ctrl-C / SIGTERM: stop the sources, deliver what is pending, then exit.
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info(`${signal}: stopping`);
  await Promise.all([watcher.stop(), monitor.stop()]);
  await bans.stop();
  await notifier.stop();
  await closeLogger(logger);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
