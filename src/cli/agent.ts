// The agent behind `hostwarden run`: the four parts built from a validated config and
// wired through their public events only, as a user's own service would wire them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repeat, type CancelTimer } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { toError } from '../core/lifecycle.js';
import { createLogger, type Logger } from '../core/logger.js';
import { AlertmanagerChannel } from '../fleet/alertmanager-channel.js';
import { HostwardenMetrics } from '../fleet/metrics.js';
import { serveMetrics, type MetricsServer } from '../fleet/serve-metrics.js';
import { LogWatcher } from '../logwatcher/watcher.js';
import type { Channel } from '../notifier/channel.js';
import { EmailChannel } from '../notifier/channels/email.js';
import { LogChannel } from '../notifier/channels/log.js';
import { SlackChannel } from '../notifier/channels/slack.js';
import { WebhookChannel } from '../notifier/channels/webhook.js';
import { Notifier } from '../notifier/notifier.js';
import { Quarantine } from '../quarantine/quarantine.js';
import { ResourceMonitor } from '../resource/monitor.js';
import type { ResourceRule } from '../resource/rules.js';
import { FileScanner } from '../scanner/file-scanner.js';
import { BanManager } from '../response/ban-manager.js';
import { NftablesBackend } from '../response/nftables-backend.js';
import { FileWatcher } from '../watcher/file-watcher.js';
import { ConfigError, resolveSecret, type BansConfig, type ChannelConfig, type HostwardenConfig } from './config.js';
import { ConsoleChannel } from './console-channel.js';
import { cliDetectors } from './detectors.js';
import { rulesOf, tuneThresholds } from './rulesets.js';

/** What the agent needs from outside. */
export interface AgentEnvironment {
  /** Where secrets named by `tokenEnv`/`passwordEnv` are read. */
  readonly env: NodeJS.ProcessEnv;
  /** Diagnostics of every part. */
  readonly logger: Logger;
  /** Where `console` channels print. */
  readonly stdout: { write(chunk: string): boolean };
  /** Keep the process alive while running (true for `hostwarden run`). */
  readonly persistent?: boolean;
}

/**
 * Runs a part's constructor and turns its InvalidOptionError into a ConfigError naming
 * the config section, so `run` reports `config.logs: …` instead of a stack trace.
 */
function build<T>(section: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new ConfigError('config', [{ path: section, message: error.message }]);
    throw error;
  }
}

function channelFrom(c: ChannelConfig, i: number, env: AgentEnvironment): Channel {
  const path = `config.notifier.channels[${i}]`;
  const base = { ...(c.name === undefined ? {} : { name: c.name }), ...(c.minSeverity === undefined ? {} : { minSeverity: c.minSeverity }) };
  return build(path, (): Channel => {
    switch (c.type) {
      case 'slack': {
        const token = resolveSecret(c.token, c.tokenEnv, `${path}.tokenEnv`, env.env) ?? '';
        return new SlackChannel({ ...base, token, channel: c.channel, ...(c.slackApiUrl === undefined ? {} : { slackApiUrl: c.slackApiUrl }) });
      }
      case 'email': {
        const pass = resolveSecret(c.password, c.passwordEnv, `${path}.passwordEnv`, env.env);
        return new EmailChannel({
          ...base,
          host: c.host,
          from: c.from,
          to: c.to,
          ...(c.port === undefined ? {} : { port: c.port }),
          ...(c.secure === undefined ? {} : { secure: c.secure }),
          ...(c.user === undefined || pass === undefined ? {} : { auth: { user: c.user, pass } }),
          ...(c.requireTLS === undefined ? {} : { requireTLS: c.requireTLS }),
          ...(c.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: c.rejectUnauthorized }),
          ...(c.caFile === undefined ? {} : { ca: readFileSync(c.caFile, 'utf8') }),
          ...(c.servername === undefined ? {} : { servername: c.servername }),
        });
      }
      case 'webhook':
        return new WebhookChannel({ ...base, url: c.url, ...(c.headers === undefined ? {} : { headers: c.headers }) });
      case 'log':
        return new LogChannel({ ...base, logger: c.file === undefined ? env.logger : createLogger({ file: c.file, console: false }) });
      case 'console':
        return new ConsoleChannel({ ...base, stream: env.stdout });
      case 'alertmanager':
        return new AlertmanagerChannel({ ...base, urls: c.urls, logger: env.logger });
    }
  });
}

function resourceRules(config: NonNullable<HostwardenConfig['resources']>): ResourceRule[] | undefined {
  const { cpu, memory, disk, rules } = config;
  if (cpu === undefined && memory === undefined && disk === undefined && rules === undefined) return undefined;
  const seed: Array<[number | undefined, ResourceRule]> = [
    [cpu, { id: 'cpu.high', metric: 'cpu', above: cpu ?? 80, for: 120_000, severity: 'warning' }],
    [memory, { id: 'memory.high', metric: 'memory', above: memory ?? 90, for: 60_000, severity: 'warning' }],
    [disk, { id: 'disk.space', metric: 'disk.space', above: disk ?? 90, severity: 'warning' }],
  ];
  // Without explicit rules, the seed's three with any threshold overridden; with rules,
  // exactly those plus the shorthands actually written.
  const out = seed.filter(([given]) => rules === undefined || given !== undefined).map(([, rule]) => rule);
  for (const r of rules ?? []) out.push({ ...r });
  return out;
}

// The `bans` section: a BanManager on nftables (or observing only).
function bansFrom(c: BansConfig, state: string | undefined, env: AgentEnvironment): BanManager {
  const stateFile = c.stateFile ?? (state === undefined ? undefined : join(state, 'bans.jsonl'));
  const mode = c.mode ?? 'enforce';
  const backend =
    mode === 'enforce'
      ? new NftablesBackend({
          ...(c.table === undefined ? {} : { table: c.table }),
          ...(c.hooks === undefined ? {} : { hooks: c.hooks }),
          ...(c.action === undefined ? {} : { action: c.action }),
        })
      : undefined;
  const escalation = c.escalation === true ? undefined : c.escalation;
  return new BanManager({
    mode,
    logger: env.logger,
    persistent: env.persistent ?? false,
    ...(backend === undefined ? {} : { backend }),
    ...(stateFile === undefined ? {} : { stateFile }),
    ...(c.banTime === undefined ? {} : { banTime: c.banTime }),
    ...(c.maxBanTime === undefined ? {} : { maxBanTime: c.maxBanTime }),
    ...(escalation === undefined ? {} : { escalation }),
    ...(c.ignore === undefined ? {} : { ignore: c.ignore }),
    ...(c.ignoreSshSession === undefined ? {} : { ignoreSshSession: c.ignoreSshSession }),
    ...(c.ipv6Prefix === undefined ? {} : { ipv6Prefix: c.ipv6Prefix }),
    ...(c.subnet === undefined ? {} : { subnet: c.subnet }),
    ...(c.rules === undefined ? {} : { rules: c.rules }),
  });
}

/** The parts of an {@link Agent}, for callers that want to listen to them. */
export interface AgentParts {
  readonly watcher: LogWatcher | undefined;
  readonly monitor: ResourceMonitor | undefined;
  readonly scanner: FileScanner | undefined;
  readonly fileWatcher: FileWatcher | undefined;
  readonly notifier: Notifier;
  readonly bans: BanManager | undefined;
}

/**
 * The four parts, built from a {@link HostwardenConfig}: a LogWatcher with a position
 * file, a ResourceMonitor, a FileScanner run at start and then every `scan.interval`,
 * and a Notifier (with an outbox) attached to all of them.
 */
export class Agent {
  readonly parts: AgentParts;
  readonly #config: HostwardenConfig;
  readonly #env: AgentEnvironment;
  #metrics: HostwardenMetrics | undefined;
  #metricsServer: MetricsServer | undefined;
  #scanTimer: CancelTimer | undefined;
  #scanning: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(config: HostwardenConfig, env: AgentEnvironment) {
    this.#config = config;
    this.#env = env;
    const persistent = env.persistent ?? false;
    const logger = env.logger;
    const state = config.stateDirectory;
    const channels = config.notifier.channels.map((c, i) => channelFrom(c, i, env));
    const outboxDir = config.notifier.outbox?.directory ?? (state === undefined ? undefined : join(state, 'outbox'));
    const notifier = build('config.notifier', () => new Notifier({ channels, logger, persistent, ...(outboxDir === undefined ? {} : { outbox: { directory: outboxDir } }) }));
    const logs = config.logs;
    const watcher =
      logs === undefined
        ? undefined
        : build('config.logs', () => {
            const stateFile = logs.stateFile ?? (state === undefined ? undefined : join(state, 'logs.state.json'));
            return new LogWatcher({
              files: logs.files ?? [],
              rules: tuneThresholds(rulesOf(logs.rules ?? ['auth']), { maxRetry: logs.maxRetry, findTime: logs.findTime }),
              logger,
              persistent,
              ...(logs.journal === undefined ? {} : { journal: logs.journal }),
              ...(logs.startAt === undefined ? {} : { startAt: logs.startAt }),
              ...(stateFile === undefined ? {} : { stateFile }),
            });
          });
    const res = config.resources;
    const monitor =
      res === undefined
        ? undefined
        : build('config.resources', () => {
            const rules = resourceRules(res);
            return new ResourceMonitor({
              logger,
              persistent,
              ...(res.interval === undefined ? {} : { interval: res.interval }),
              ...(res.anomaly === undefined ? {} : { anomaly: res.anomaly }),
              ...(res.scope === undefined ? {} : { scope: res.scope }),
              ...(res.procRoot === undefined ? {} : { procRoot: res.procRoot }),
              ...(res.sysRoot === undefined ? {} : { sysRoot: res.sysRoot }),
              ...(rules === undefined ? {} : { rules }),
            });
          });
    const sc = config.scan;
    const scanner =
      sc === undefined
        ? undefined
        : build('config.scan', () => {
            const q = sc.quarantine;
            return new FileScanner({
              roots: sc.roots,
              detectors: cliDetectors({ extensions: sc.extensions, hashDb: sc.hashDb }),
              logger,
              signal: this.#stop.signal,
              ...(sc.exclude === undefined ? {} : { exclude: sc.exclude }),
              ...(sc.maxFileSize === undefined ? {} : { maxFileSize: sc.maxFileSize }),
              ...(sc.oneFileSystem === undefined ? {} : { oneFileSystem: sc.oneFileSystem }),
              ...(state === undefined ? {} : { cache: { file: join(state, 'scan-cache.json') } }),
              ...(q === undefined
                ? {}
                : { quarantine: { into: new Quarantine({ directory: q.directory, logger }), ...(q.minSeverity === undefined ? {} : { minSeverity: q.minSeverity }) } }),
            });
          });
    const bans = config.bans === undefined ? undefined : build('config.bans', () => bansFrom(config.bans as BansConfig, state, env));
    if (bans && watcher) bans.attach(watcher);
    const wc = config.watch;
    const fileWatcher =
      wc === undefined
        ? undefined
        : build('config.watch', () => {
            const q = wc.quarantine;
            const stateFile = wc.stateFile ?? (state === undefined ? undefined : join(state, 'watch.index'));
            return new FileWatcher({
              roots: wc.roots,
              detectors: cliDetectors({ extensions: wc.extensions, hashDb: wc.hashDb }),
              logger,
              persistent,
              ...(wc.exclude === undefined ? {} : { exclude: wc.exclude }),
              ...(wc.maxFileSize === undefined ? {} : { maxFileSize: wc.maxFileSize }),
              ...(wc.reconcileInterval === undefined ? {} : { reconcileInterval: wc.reconcileInterval }),
              ...(wc.settle === undefined ? {} : { settle: wc.settle }),
              ...(stateFile === undefined ? {} : { stateFile }),
              ...(q === undefined
                ? {}
                : { quarantine: { into: new Quarantine({ directory: q.directory, logger }), ...(q.minSeverity === undefined ? {} : { minSeverity: q.minSeverity }) } }),
            });
          });
    // An 'error' nobody hears would crash the agent; log it and keep running.
    const logError = (name: string) => (error: Error) => logger.error(`${name}: ${error.message}`, { code: (error as { code?: string }).code });
    watcher?.on('error', logError('logs'));
    monitor?.on('error', logError('resources'));
    scanner?.on('error', logError('scan'));
    fileWatcher?.on('error', logError('watch'));
    fileWatcher?.on('warning', (w) => logger.warn(`watch: ${w.message}`, { path: w.displayPath, code: w.code }));
    fileWatcher?.on('health', (h) => logger.warn(`watch: ${h.state}`, { checks: h.checks.filter((c) => !c.ok) }));
    notifier.on('error', logError('notifier'));
    bans?.on('error', logError('bans'));
    bans?.on('warning', (w) => logger.warn(`bans: ${w.message}`));
    bans?.on('ban', ({ ban, mode }) =>
      logger.warn(`bans: ${mode === 'observe' ? 'would ban' : 'banned'} ${ban.address} until ${ban.until.toISOString()} (${ban.rule}, #${ban.count})`),
    );
    watcher?.on('warning', (w) => logger.warn(`logs: ${w.message}`));
    scanner?.on('warning', (w) => logger.warn(`scan: ${w.message}`, { path: w.path, reason: w.code }));
    notifier.on('failed', (f) => logger.error(`notifier: delivery to ${f.channel} failed: ${f.error.message}`));
    notifier.attach(...[watcher, monitor, scanner, fileWatcher, bans].filter((p) => p !== undefined));
    this.parts = { watcher, monitor, scanner, fileWatcher, notifier, bans };
  }

  /** Starts the notifier first (so no alert is raised before it can be delivered), then the sources. */
  async start(): Promise<void> {
    const { watcher, monitor, scanner, notifier, bans } = this.parts;
    await notifier.start();
    // Bans before the log: an alert from the first lines must find the manager running.
    await bans?.start();
    await watcher?.start();
    await monitor?.start();
    await this.parts.fileWatcher?.start();
    if (this.#config.metrics !== undefined) {
      this.#metrics = new HostwardenMetrics().observe(...[watcher, monitor, scanner, notifier, bans].filter((p) => p !== undefined));
      this.#metricsServer = await serveMetrics({
        registry: this.#metrics.registry,
        port: this.#config.metrics.port,
        host: this.#config.metrics.host ?? '127.0.0.1',
        persistent: this.#env.persistent ?? false,
      });
      this.#env.logger.info(`metrics on ${this.#metricsServer.url}`);
    }
    if (scanner !== undefined) {
      this.#runScan();
      const every = this.#config.scan?.interval;
      if (every !== undefined) {
        this.#scanTimer = repeat(() => this.#runScan(), every, { persistent: this.#env.persistent ?? false });
      }
    }
  }

  /** The scan in progress, if any (tests and the demo await it). */
  get scanning(): Promise<void> | undefined {
    return this.#scanning;
  }

  #runScan(): void {
    const scanner = this.parts.scanner;
    if (scanner === undefined || this.#scanning !== undefined) return; // never two walks at once
    const logger = this.#env.logger;
    this.#scanning = scanner
      .scan()
      .then((r) => logger.info(`scan: ${r.filesScanned} files, ${r.findings.length} findings, ${r.quarantined.length} quarantined in ${Math.round(r.durationMs)}ms`))
      .catch((error: unknown) => {
        if (!this.#stop.signal.aborted) logger.error(`scan failed: ${toError(error).message}`);
      })
      .finally(() => {
        this.#scanning = undefined;
      });
  }

  /** Stops the sources, then flushes and stops the notifier; resolves when all is released. */
  async stop(): Promise<void> {
    this.#scanTimer?.();
    this.#stop.abort();
    const { watcher, monitor, notifier } = this.parts;
    await Promise.allSettled([watcher?.stop(), monitor?.stop(), this.parts.fileWatcher?.stop(), this.#scanning]);
    await this.parts.bans?.stop();
    await this.#metricsServer?.close();
    this.#metrics?.close();
    await notifier.stop();
  }
}
