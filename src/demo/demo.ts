// `npm run demo`: the main job on built-in defaults, safe on any machine without root.
// Everything it writes lives under one temp directory that is removed at the end.
import { sleep, systemClock } from '../core/clock.js';
import { constants } from 'node:fs';
import { access, appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../core/alert.js';
import { LogWatcher } from '../logwatcher/watcher.js';
import type { Channel } from '../notifier/channel.js';
import { SlackChannel } from '../notifier/channels/slack.js';
import { Notifier } from '../notifier/notifier.js';
import { Quarantine } from '../quarantine/quarantine.js';
import { ResourceMonitor } from '../resource/monitor.js';
import { FileScanner } from '../scanner/file-scanner.js';
import type { ScanReport } from '../scanner/types.js';
import { ConsoleChannel } from '../cli/console-channel.js';
import type { OutStream } from '../cli/context.js';
import { cliDetectors } from '../cli/detectors.js';
import { formatBytes, formatDuration } from '../core/format.js';
import { escapeTerminal } from '../core/text.js';
import { wantsColor } from '../cli/format.js';
import { ProgressLine } from '../cli/progress.js';
import { bruteForceLines, plantDemoTree } from './samples.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** How long to run, in ms. */
  readonly durationMs: number;
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  /** SLACK_TOKEN / SLACK_CHANNEL are read from here. */
  readonly env: NodeJS.ProcessEnv;
  /** Stops the demo early (Ctrl-C); it still cleans up and prints its summary. */
  readonly signal: AbortSignal;
  /** Slack API base URL (a Slack-compatible test server). */
  readonly slackApiUrl?: string | undefined;
  /** The real auth log to watch when readable. @defaultValue `'/var/log/auth.log'` */
  readonly authLog?: string | undefined;
}

/** What the demo did, printed at the end. */
export interface DemoSummary {
  readonly durationMs: number;
  readonly log: { readonly path: string; readonly simulated: boolean; readonly lines: number; readonly matches: number; readonly failures: number };
  readonly resources: { readonly samples: number; readonly cpu: number | undefined; readonly memory: number | undefined };
  readonly scan: ScanReport | undefined;
  readonly quarantined: number;
  readonly alerts: { readonly raised: number; readonly printed: number; readonly slack: number | undefined; readonly failed: number };
}

const DEMO_MEMORY_THRESHOLD = 1;

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

// Waits out the demo's duration; Ctrl-C (the signal) ends the wait early, not the demo.
function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(Math.max(0, ms), { signal, persistent: true }).catch(() => {});
}

/** Runs the demo and resolves to its summary; never leaves files behind. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { stdout, stderr, env, signal, durationMs } = options;
  const started = systemClock();
  const tmp = await mkdtemp(join(tmpdir(), 'hostwarden-demo-'));
  const progress = new ProgressLine(stderr, 'scanning demo tree');
  const say = (text: string): void => {
    progress.clear();
    stdout.write(`${text}\n`);
  };
  const parts: { stop(): Promise<void> }[] = [];
  try {
    // Alerts: the console always, Slack too when configured, all through one Notifier.
    const consoleChannel = new ConsoleChannel({ stream: stdout, color: wantsColor(stdout, env), beforeWrite: () => progress.clear() });
    const channels: Channel[] = [consoleChannel];
    const token = env['SLACK_TOKEN'];
    const slackTarget = env['SLACK_CHANNEL'];
    const slackApiUrl = options.slackApiUrl ?? env['SLACK_API_URL'];
    const slack = token && slackTarget ? new SlackChannel({ token, channel: slackTarget, ...(slackApiUrl ? { slackApiUrl } : {}) }) : undefined;
    if (slack) channels.push(slack);
    const notifier = new Notifier({ channels, groupWait: 250 });
    let raised = 0;
    let slackSent = 0;
    let failed = 0;
    notifier.on('sent', (e) => {
      if (e.channel === slack?.name) slackSent += e.alerts.length;
    });
    notifier.on('failed', (e) => {
      failed++;
      say(`! delivery to ${e.channel} failed: ${escapeTerminal(e.error.message, { singleLine: true })}`);
    });
    notifier.on('error', (e) => say(`! notifier: ${escapeTerminal(e.message, { singleLine: true })}`));
    const count = (alert: Alert): void => {
      if (alert.status === 'firing') raised++;
    };
    await notifier.start();

    // Logs: the real auth log when this user may read it, else a simulated attack.
    const realLog = options.authLog ?? '/var/log/auth.log';
    const simulated = !(await readable(realLog));
    const logPath = simulated ? join(tmp, 'auth.log') : realLog;
    if (simulated) await writeFile(logPath, '');
    const watcher = new LogWatcher({ files: [logPath], startAt: simulated ? 'beginning' : 'end', pollInterval: 100 });
    let failures = 0;
    watcher.on('match', (m) => {
      if (!m.rule.tags.includes('auth-failure')) return;
      failures++;
      const who = [m.fields['user'] && `user ${m.fields['user']}`, m.fields['host'] && `from ${m.fields['host']}`].filter(Boolean).join(' ');
      say(`  auth failure  ${escapeTerminal(who, { singleLine: true })}  (${m.rule.id})`);
    });
    watcher.on('warning', (w) => say(`! logs: ${escapeTerminal(w.message, { singleLine: true })}`));
    watcher.on('error', (e) => say(`! logs: ${escapeTerminal(e.message, { singleLine: true })}`));
    watcher.on('alert', count);
    notifier.attach(watcher);
    await watcher.start();
    parts.push(watcher);

    // Resources: this machine, with a threshold low enough that the alert shows.
    const monitor = new ResourceMonitor({
      interval: 1000,
      topProcesses: 3,
      rules: [
        { id: 'memory.demo', metric: 'memory', above: DEMO_MEMORY_THRESHOLD, clearBelow: 0, severity: 'warning' },
        { id: 'cpu.high', metric: 'cpu', above: 80, for: 5000, severity: 'warning' },
      ],
    });
    let samples = 0;
    let cpu: number | undefined;
    let memory: number | undefined;
    monitor.on('sample', (s) => {
      samples++;
      cpu = s.cpu?.percent ?? cpu;
      memory = s.memory?.percent ?? memory;
    });
    monitor.on('error', (e) => say(`! resources: ${escapeTerminal(e.message, { singleLine: true })}`));
    monitor.on('alert', count);
    notifier.attach(monitor);
    await monitor.start();
    parts.push(monitor);

    say(`hostwarden demo: running for ${formatDuration(durationMs)} (Ctrl-C stops early)`);
    say(`  logs       ${simulated ? `${realLog} is not readable here; playing a simulated SSH brute force into ${logPath}` : `following ${realLog} from its end`}`);
    say(`  resources  sampling every 1s; demo threshold: memory above ${DEMO_MEMORY_THRESHOLD} %`);
    say(`  files      scanning a demo tree of harmless samples; findings go to a temp quarantine`);
    say(`  alerts     console${slack ? ` and Slack (${escapeTerminal(slackTarget ?? '', { singleLine: true })})` : ' (set SLACK_TOKEN and SLACK_CHANNEL to post to Slack too)'}`);
    say('');

    // Files: plant the samples, scan with the CLI's detectors, isolate every finding.
    const tree = join(tmp, 'home');
    await plantDemoTree(tree);
    const quarantine = new Quarantine({ directory: join(tmp, 'quarantine') });
    const scanner = new FileScanner({
      roots: [tree],
      detectors: cliDetectors(),
      quarantine: { into: quarantine, minSeverity: 'info' },
      progressInterval: 50,
      signal,
    });
    scanner.on('progress', (p) => progress.update({ done: p.filesScanned, detail: `files, ${p.findings} found`, ...(p.currentPath ? { current: p.currentPath } : {}) }));
    scanner.on('finding', (f) => say(`  finding       ${escapeTerminal(f.path.slice(tree.length + 1), { singleLine: true })}: ${escapeTerminal(f.reason, { singleLine: true })}`));
    scanner.on('quarantined', ({ record }) => say(`  quarantined   ${escapeTerminal(record.originalPath.slice(tree.length + 1), { singleLine: true })} as ${record.id}`));
    scanner.on('warning', (w) => say(`! scan: ${escapeTerminal(w.message, { singleLine: true })}`));
    scanner.on('error', (e) => say(`! scan: ${escapeTerminal(e.message, { singleLine: true })}`));
    scanner.on('alert', count);
    notifier.attach(scanner);
    const scanning = scanner.scan().finally(() => progress.clear());

    // Meanwhile the attack: one failed login every few hundred ms, spread over the first third.
    const attack = (async () => {
      if (!simulated) return;
      const lines = bruteForceLines({ attempts: 8 });
      const gap = Math.max(50, Math.min(1000, Math.floor(durationMs / 3 / lines.length)));
      for (const line of lines) {
        if (signal.aborted) return;
        await appendFile(logPath, `${line}\n`);
        await waitFor(gap, signal);
      }
    })();

    const report = await scanning.catch((error: unknown) => {
      if (!signal.aborted) say(`! scan failed: ${escapeTerminal(String(error), { singleLine: true })}`);
      return undefined;
    });
    await attack;
    await waitFor(durationMs - (systemClock() - started), signal);

    await Promise.all(parts.map((p) => p.stop()));
    parts.length = 0;
    await notifier.flush();
    await notifier.stop();
    const quarantined = report?.quarantined.length ?? 0;
    return {
      durationMs: systemClock() - started,
      log: { path: logPath, simulated, lines: watcher.stats.linesRead, matches: watcher.stats.matches, failures },
      resources: { samples, cpu, memory },
      scan: report,
      quarantined,
      alerts: { raised, printed: consoleChannel.printed, slack: slack ? slackSent : undefined, failed },
    };
  } finally {
    progress.clear();
    await Promise.allSettled(parts.map((p) => p.stop()));
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The closing summary, a few aligned lines. */
export function formatSummary(s: DemoSummary): string {
  const pct = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(1)} %`);
  const lines = [
    `── hostwarden demo summary (${formatDuration(s.durationMs)}) ──`,
    `Logs       ${s.log.simulated ? 'simulated brute force' : escapeTerminal(s.log.path, { singleLine: true })}: ${s.log.lines} lines read, ${s.log.matches} matched, ${s.log.failures} authentication failures`,
    `Resources  ${s.resources.samples} samples; last CPU ${pct(s.resources.cpu)}, memory ${pct(s.resources.memory)}`,
    s.scan
      ? `Files      ${s.scan.filesScanned} files (${formatBytes(s.scan.bytesScanned)}) scanned, ${s.scan.findings.length} findings, ${s.quarantined} quarantined`
      : 'Files      scan did not finish',
    `Alerts     ${s.alerts.raised} raised, ${s.alerts.printed} printed${s.alerts.slack === undefined ? '' : `, ${s.alerts.slack} sent to Slack`}${s.alerts.failed > 0 ? `, ${s.alerts.failed} deliveries failed` : ''}`,
    'Temp files removed.',
  ];
  return lines.join('\n');
}
