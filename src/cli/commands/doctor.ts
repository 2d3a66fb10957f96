// `hostwarden doctor [--config f] [--probe]`: what the agent would watch on this host and what
// would keep it from working — a missing or unreadable log, a journal this user cannot read, a
// scan root that is gone, a state directory on a read-only or full disk, a peer program that is
// not installed, a channel secret that is not set, and (with --probe) a Slack, SMTP, webhook or
// Alertmanager peer that does not answer. One line each; exit 1 when anything failed.
// Silent degradation is how watchers fail in the field: this is the way to ask.
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type nodemailer from 'nodemailer';
import type * as SlackWebApi from '@slack/web-api';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { lazyRequire } from '../../core/lazy-require.js';
import { safeText } from '../../core/text.js';
import { expandGlob, parseFileSpec } from '../../logwatcher/glob.js';
import { nftablesChecks } from '../../response/doctor-checks.js';
import { ConfigError, loadConfig, resolveSecret, type ChannelConfig, type HostwardenConfig } from '../config.js';
import { EXIT, type CliContext } from '../context.js';
import {
  findProgram,
  probeHttp,
  probeJournal,
  probePeer,
  probeReadableDirectory,
  probeReadableFile,
  probeWritableDirectory,
  safeUrl,
  ONE_LINE,
  type DoctorLine,
  type DoctorStatus,
} from '../doctor-probes.js';

const loadSlack = lazyRequire<typeof SlackWebApi>('@slack/web-api');
const loadMailer = lazyRequire<typeof nodemailer>('nodemailer');

/** Options of `doctor`. */
export interface DoctorCliOptions {
  readonly config?: string;
  readonly probe?: boolean;
  /** Per-probe network timeout in ms. */
  readonly timeout?: number;
}

/** Where a default agent keeps its state, and what it watches, on a Debian-like host. */
export const DEFAULT_STATE_DIRECTORY = '/var/lib/hostwarden';
/** The auth logs a default agent looks for, in order (Debian/Ubuntu, then RHEL). */
export const DEFAULT_AUTH_LOGS = ['/var/log/auth.log', '/var/log/secure'] as const;

const ADM_HINT = ' — add the user to the adm group (usermod -aG adm <user>) or run as root';

/**
 * The agent `hostwarden run` would be given by a first config: the auth log (the journal when
 * this host has no auth log file), resources, a scan of /home with a quarantine, and an outbox.
 */
export async function defaultAgentConfig(authLogs: readonly string[] = DEFAULT_AUTH_LOGS): Promise<{ config: HostwardenConfig; note: string }> {
  const found: string[] = [];
  for (const file of authLogs)
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    )
      found.push(file);
  const logs = found.length > 0 ? { files: found } : { files: [], journal: true };
  const note =
    found.length > 0
      ? `no --config: checking a default agent (logs ${found.join(', ')}, resources, scan /home, state in ${DEFAULT_STATE_DIRECTORY})`
      : `no --config: checking a default agent (no ${authLogs.join(' or ')} here, so the journal; resources, scan /home, state in ${DEFAULT_STATE_DIRECTORY})`;
  return {
    note,
    config: {
      stateDirectory: DEFAULT_STATE_DIRECTORY,
      logs,
      resources: {},
      scan: { roots: ['/home'], quarantine: { directory: `${DEFAULT_STATE_DIRECTORY}/quarantine` } },
      notifier: { channels: [{ type: 'console' }], outbox: { directory: `${DEFAULT_STATE_DIRECTORY}/outbox` } },
    },
  };
}

async function logLines(config: HostwardenConfig): Promise<DoctorLine[]> {
  const logs = config.logs;
  if (logs === undefined) return [{ status: 'info', area: 'logs', message: 'no logs section: no log is watched' }];
  const lines: DoctorLine[] = [];
  for (const entry of logs.files ?? []) {
    const spec = parseFileSpec(entry, process.cwd());
    if (spec.kind === 'path') {
      lines.push(await probeReadableFile('logs', spec.path, ADM_HINT));
      continue;
    }
    const matches = await expandGlob(spec);
    if (matches.length === 0)
      lines.push({ status: 'fail', area: 'logs', message: `${safeText(entry, ONE_LINE)}: matches no file now (new matches are picked up when they appear)` });
    for (const file of matches) lines.push(await probeReadableFile('logs', file, ADM_HINT));
  }
  if (logs.journal === true) {
    const journalctl = await findProgram('journalctl');
    lines.push(
      journalctl === undefined ? { status: 'fail', area: 'logs', message: 'journal: journalctl is not installed (apt-get install systemd)' } : await probeJournal(journalctl),
    );
  }
  if ((logs.files ?? []).length === 0 && logs.journal !== true)
    lines.push({ status: 'fail', area: 'logs', message: 'logs.files is empty and logs.journal is off: nothing would be read' });
  const stateFile = logs.stateFile ?? (config.stateDirectory === undefined ? undefined : resolve(config.stateDirectory, 'logs.state.json'));
  if (stateFile === undefined) lines.push({ status: 'warn', area: 'logs', message: 'no stateFile or stateDirectory: after a restart, lines written meanwhile are not read' });
  else lines.push(await probeWritableDirectory('logs', resolve(stateFile, '..'), 'position file directory'));
  return lines;
}

async function resourceLines(config: HostwardenConfig): Promise<DoctorLine[]> {
  const resources = config.resources;
  if (resources === undefined) return [{ status: 'info', area: 'resources', message: 'no resources section: CPU, memory and disks are not watched' }];
  const proc = resources.procRoot ?? '/proc';
  const lines: DoctorLine[] = [];
  for (const name of ['stat', 'meminfo', 'loadavg', 'self/mountinfo']) lines.push(await probeReadableFile('resources', `${proc}/${name}`));
  return lines;
}

async function scanLines(config: HostwardenConfig): Promise<DoctorLine[]> {
  const scan = config.scan;
  if (scan === undefined) return [{ status: 'info', area: 'scan', message: 'no scan section: no files are scanned' }];
  const lines: DoctorLine[] = [];
  for (const root of scan.roots) lines.push(await probeReadableDirectory('scan', resolve(root)));
  for (const db of scan.hashDb ?? []) lines.push(await probeReadableFile('scan', resolve(db)));
  if (scan.quarantine !== undefined) lines.push(await probeWritableDirectory('scan', resolve(scan.quarantine.directory), 'quarantine'));
  else lines.push({ status: 'info', area: 'scan', message: 'no quarantine: findings are reported, not isolated' });
  return lines;
}

/** The name a channel goes by in the report (never a secret). */
function channelLabel(channel: ChannelConfig, index: number): string {
  const name = channel.name === undefined ? '' : ` "${safeText(channel.name, ONE_LINE)}"`;
  switch (channel.type) {
    case 'slack':
      return `slack${name} ${safeText(channel.channel, ONE_LINE)}`;
    case 'email':
      return `email${name} ${safeText(channel.host, ONE_LINE)}:${channel.port ?? (channel.secure === true ? 465 : 587)}`;
    case 'webhook':
      return `webhook${name} ${safeUrl(channel.url)}`;
    case 'alertmanager':
      return `alertmanager${name} ${channel.urls.map(safeUrl).join(', ')}`;
    case 'log':
      return `log${name} ${channel.file === undefined ? '(console)' : safeText(channel.file, ONE_LINE)}`;
    case 'console':
      return `console${name} #${index}`;
  }
}

async function probeSlack(token: string, slackApiUrl: string | undefined, timeout: number): Promise<string | undefined> {
  const { WebClient, LogLevel } = loadSlack();
  const client = new WebClient(token, {
    ...(slackApiUrl === undefined ? {} : { slackApiUrl: slackApiUrl.endsWith('/') ? slackApiUrl : `${slackApiUrl}/` }),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout,
    logLevel: LogLevel.ERROR,
  });
  try {
    // auth.test checks the token without posting anything.
    const result = await client.auth.test();
    return result.ok ? undefined : `Slack says ${safeText(String(result.error), ONE_LINE)}`;
  } catch (error) {
    const data = (error as { data?: { error?: unknown } }).data;
    if (typeof data?.error === 'string') return `Slack says ${safeText(data.error, ONE_LINE)}`;
    // The token is cut out before escaping, so no rendering of it can survive.
    return safeText(token === '' ? (error as Error).message : (error as Error).message.replaceAll(token, '[token]'), ONE_LINE);
  }
}

async function probeSmtp(channel: Extract<ChannelConfig, { type: 'email' }>, password: string | undefined, timeout: number): Promise<string | undefined> {
  const options: SMTPTransport.Options = {
    host: channel.host,
    port: channel.port ?? (channel.secure === true ? 465 : 587),
    secure: channel.secure ?? false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    logger: false,
    ...(channel.user !== undefined && password !== undefined ? { auth: { user: channel.user, pass: password } } : {}),
  };
  const transport = loadMailer().createTransport(options);
  try {
    // verify() connects, says EHLO, upgrades to TLS when offered and logs in: no mail is sent.
    await transport.verify();
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    return safeText(password === undefined || password === '' ? message : message.replaceAll(password, '[password]'), ONE_LINE);
  } finally {
    transport.close();
  }
}

async function channelLine(channel: ChannelConfig, index: number, ctx: CliContext, probe: boolean, timeout: number): Promise<DoctorLine> {
  const label = channelLabel(channel, index);
  const fail = (why: string): DoctorLine => ({ status: 'fail', area: 'notifier', message: `${label}: ${why}` });
  let secret: string | undefined;
  try {
    if (channel.type === 'slack') secret = resolveSecret(channel.token, channel.tokenEnv, `notifier.channels[${index}].tokenEnv`, ctx.env);
    if (channel.type === 'email') secret = resolveSecret(channel.password, channel.passwordEnv, `notifier.channels[${index}].passwordEnv`, ctx.env);
  } catch (error) {
    return fail(error instanceof ConfigError ? safeText(error.issues[0]?.message ?? error.message, ONE_LINE) : safeText(String(error), ONE_LINE));
  }
  if (channel.type === 'console') return { status: 'ok', area: 'notifier', message: `${label}: prints alerts on stdout` };
  if (channel.type === 'log') {
    if (channel.file === undefined) return { status: 'ok', area: 'notifier', message: `${label}: logs alerts` };
    const line = await probeWritableDirectory('notifier', resolve(channel.file, '..'), 'log channel directory');
    return { ...line, message: `${label}: ${line.message}` };
  }
  if (!probe) return { status: 'info', area: 'notifier', message: `${label}: not contacted (--probe checks that it answers)` };
  switch (channel.type) {
    case 'slack': {
      const problem = await probeSlack(secret ?? '', channel.slackApiUrl, timeout);
      return problem === undefined ? { status: 'ok', area: 'notifier', message: `${label}: token accepted (auth.test)` } : fail(problem);
    }
    case 'email': {
      const problem = await probeSmtp(channel, secret, timeout);
      return problem === undefined
        ? { status: 'ok', area: 'notifier', message: `${label}: SMTP server answers${channel.user === undefined ? '' : ' and accepts the login'}` }
        : fail(problem);
    }
    case 'webhook': {
      const answer = await probeHttp(channel.url, timeout);
      return answer.error === undefined
        ? { status: 'ok', area: 'notifier', message: `${label}: reachable (HEAD answered ${answer.status})` }
        : fail(`unreachable (${safeText(answer.error, ONE_LINE)})`);
    }
    case 'alertmanager': {
      const problems: string[] = [];
      for (const url of channel.urls) {
        const answer = await probeHttp(new URL('-/ready', url.endsWith('/') ? url : `${url}/`).toString(), timeout, 'GET');
        if (answer.error !== undefined) problems.push(`${safeUrl(url)} unreachable (${safeText(answer.error, ONE_LINE)})`);
        else if (answer.status !== 200) problems.push(`${safeUrl(url)} not ready (HTTP ${answer.status})`);
      }
      return problems.length === 0 ? { status: 'ok', area: 'notifier', message: `${label}: ready` } : fail(problems.join('; '));
    }
  }
}

async function notifierLines(config: HostwardenConfig, ctx: CliContext, probe: boolean, timeout: number): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [];
  for (const [i, channel] of config.notifier.channels.entries()) lines.push(await channelLine(channel, i, ctx, probe, timeout));
  if (config.notifier.channels.every((c) => c.type === 'console' || c.type === 'log')) {
    lines.push({ status: 'warn', area: 'notifier', message: 'alerts only reach this host (console/log): nobody is told when it is down' });
  }
  const outbox = config.notifier.outbox?.directory;
  if (outbox === undefined) lines.push({ status: 'warn', area: 'notifier', message: 'no outbox: alerts accepted during an outage are lost on a restart' });
  else lines.push(await probeWritableDirectory('notifier', resolve(outbox), 'outbox'));
  return lines;
}

async function peerLines(config: HostwardenConfig): Promise<DoctorLine[]> {
  return [
    await probePeer('journalctl', ['--version'], 'systemd', config.logs?.journal === true ? 'logs.journal is on' : undefined),
    await probePeer('nft', ['--version'], 'nftables', config.bans !== undefined && config.bans.mode !== 'observe' ? 'bans are enforced' : undefined),
  ];
}

// With a `bans` section that enforces, nft must run with permission and the ban table should
// be there (it is created when the agent starts, so a missing table is only a warning).
async function banLines(config: HostwardenConfig): Promise<DoctorLine[]> {
  const bans = config.bans;
  if (bans === undefined) return [];
  if (bans.mode === 'observe') return [{ status: 'info', area: 'bans', message: 'observe mode: bans are reported, the firewall is not touched' }];
  const checks = await nftablesChecks(bans.table === undefined ? {} : { table: bans.table });
  return checks.map((check) => ({
    status: check.ok ? 'ok' : check.name === 'ban table' ? 'warn' : 'fail',
    area: 'bans',
    message: safeText(`${check.name}: ${check.message ?? ''}`, ONE_LINE),
  }));
}

const LABEL: Record<DoctorStatus, string> = { ok: 'ok  ', info: 'info', warn: 'warn', fail: 'FAIL' };

/** Formats one report line: status, area, message. */
export function formatDoctorLine(line: DoctorLine): string {
  return `${LABEL[line.status]}  ${line.area.padEnd(9)}  ${line.message}`;
}

/** Runs every check for a configuration (or the default agent) and returns the lines in report order. */
export async function doctorLines(config: HostwardenConfig, ctx: CliContext, options: { probe: boolean; timeout: number }): Promise<DoctorLine[]> {
  const lines: DoctorLine[] = [];
  lines.push(...(await logLines(config)));
  lines.push(...(await resourceLines(config)));
  lines.push(...(await scanLines(config)));
  lines.push(...(await notifierLines(config, ctx, options.probe, options.timeout)));
  if (config.stateDirectory !== undefined) lines.push(await probeWritableDirectory('state', resolve(config.stateDirectory), 'state directory'));
  lines.push(...(await peerLines(config)));
  lines.push(...(await banLines(config)));
  return lines;
}

/** `hostwarden doctor`: prints one line per check and resolves to 0, or 1 when any check failed. */
export async function doctor(opts: DoctorCliOptions, ctx: CliContext): Promise<number> {
  const timeout = opts.timeout ?? 5_000;
  let config: HostwardenConfig;
  if (opts.config === undefined) {
    const chosen = await defaultAgentConfig();
    config = chosen.config;
    ctx.stdout.write(`${chosen.note}\n`);
  } else {
    try {
      config = await loadConfig(opts.config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues)
        ctx.stdout.write(`${formatDoctorLine({ status: 'fail', area: 'config', message: safeText(`${issue.path}: ${issue.message}`, ONE_LINE) })}\n`);
      ctx.stdout.write('1 problem area: the config itself; fix it first (hostwarden run --config f --check)\n');
      return EXIT.found;
    }
    ctx.stdout.write(`${formatDoctorLine({ status: 'ok', area: 'config', message: `${safeText(opts.config, ONE_LINE)}: valid` })}\n`);
  }
  const lines = await doctorLines(config, ctx, { probe: opts.probe === true, timeout });
  for (const line of lines) ctx.stdout.write(`${formatDoctorLine(line)}\n`);
  const failed = lines.filter((l) => l.status === 'fail').length;
  const warned = lines.filter((l) => l.status === 'warn').length;
  ctx.stdout.write(
    failed === 0 ? `no problems found${warned === 0 ? '' : ` (${warned} warning${warned === 1 ? '' : 's'})`}\n` : `${failed} problem${failed === 1 ? '' : 's'} found\n`,
  );
  return failed === 0 ? EXIT.ok : EXIT.found;
}
