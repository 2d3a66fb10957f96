import { readFile } from 'node:fs/promises';
import type { Severity } from '../core/severity.js';
import { RESOURCE_METRICS, type ResourceMetric } from '../resource/metrics.js';
import { RULE_SETS, type RuleSetName } from './rulesets.js';
import { arr, bool, duration, either, num, obj, oneOf, optional, required, str, tagged, type ConfigIssue, type Schema } from './schema.js';

/** Where a {@link ChannelConfig}'s alerts start (its minimum severity). */
interface ChannelBase {
  /** A unique channel name; defaults to the type (plus an index when repeated). */
  readonly name?: string;
  /** Alerts below this severity skip the channel. */
  readonly minSeverity?: Severity;
}

/** A Slack channel: the token comes from the file or, better, from `tokenEnv`. */
export interface SlackChannelConfig extends ChannelBase {
  readonly type: 'slack';
  readonly token?: string;
  readonly tokenEnv?: string;
  readonly channel: string;
  readonly slackApiUrl?: string;
}

/** An SMTP channel. */
export interface EmailChannelConfig extends ChannelBase {
  readonly type: 'email';
  readonly host: string;
  readonly port?: number;
  readonly secure?: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly passwordEnv?: string;
  readonly from: string;
  readonly to: string[];
  /** Refuse to send without STARTTLS; on by default when `user` is set. */
  readonly requireTLS?: boolean;
  /** Verify the server's certificate (default true). */
  readonly rejectUnauthorized?: boolean;
  /** A PEM file of CA certificates to trust for this server. */
  readonly caFile?: string;
  /** The name the server's certificate must carry, when it differs from `host`. */
  readonly servername?: string;
}

/** A JSON webhook. */
export interface WebhookChannelConfig extends ChannelBase {
  readonly type: 'webhook';
  readonly url: string;
  readonly headers?: Record<string, string>;
}

/** A log file (JSON lines) or the process's logger. */
export interface LogChannelConfig extends ChannelBase {
  readonly type: 'log';
  readonly file?: string;
}

/** Readable alert blocks on stdout. */
export interface ConsoleChannelConfig extends ChannelBase {
  readonly type: 'console';
}

/** Prometheus Alertmanager (v2 API). */
export interface AlertmanagerChannelConfig extends ChannelBase {
  readonly type: 'alertmanager';
  readonly urls: string[];
}

/** One entry of `notifier.channels`. */
export type ChannelConfig = SlackChannelConfig | EmailChannelConfig | WebhookChannelConfig | LogChannelConfig | ConsoleChannelConfig | AlertmanagerChannelConfig;

/** A resource rule as written in the config. */
export interface ResourceRuleConfig {
  readonly metric: ResourceMetric;
  readonly above: number;
  readonly for?: number;
  readonly clearBelow?: number;
  readonly severity?: Severity;
  readonly mount?: string;
}

/** The `hostwarden run --config` file. Every section but `notifier` is optional. */
export interface HostwardenConfig {
  /** Directory for the log positions and the outbox, unless given per section. */
  readonly stateDirectory?: string;
  readonly logs?: {
    readonly files?: string[];
    readonly journal?: boolean;
    readonly rules?: RuleSetName[];
    readonly startAt?: 'end' | 'beginning';
    readonly stateFile?: string;
    readonly maxRetry?: number;
    readonly findTime?: number;
  };
  readonly resources?: {
    readonly interval?: number;
    readonly cpu?: number;
    readonly memory?: number;
    readonly disk?: number;
    readonly rules?: ResourceRuleConfig[];
    readonly anomaly?: boolean;
    readonly scope?: 'auto' | 'host' | 'cgroup';
    readonly procRoot?: string;
    readonly sysRoot?: string;
  };
  readonly scan?: {
    readonly roots: string[];
    readonly interval?: number;
    readonly extensions?: string[];
    readonly hashDb?: string[];
    readonly exclude?: string[];
    readonly maxFileSize?: number;
    /** Stay on the file system of each root (clamscan --cross-fs=no); other mounts then count as not scanned. */
    readonly oneFileSystem?: boolean;
    readonly quarantine?: { readonly directory: string; readonly minSeverity?: Severity };
  };
  /** Scan files as they land (FileWatcher). */
  readonly watch?: {
    readonly roots: string[];
    readonly extensions?: string[];
    readonly hashDb?: string[];
    readonly exclude?: string[];
    readonly maxFileSize?: number;
    readonly reconcileInterval?: number;
    readonly settle?: number;
    /** The index; default `<stateDirectory>/watch.index`. */
    readonly stateFile?: string;
    readonly quarantine?: { readonly directory: string; readonly minSeverity?: Severity };
  };
  readonly notifier: {
    readonly channels: ChannelConfig[];
    readonly outbox?: { readonly directory: string };
  };
  readonly metrics?: { readonly port: number; readonly host?: string };
  /** Active response: ban the sources of brute-force alerts (see docs/response.md). */
  readonly bans?: BansConfig;
}

/** The `bans` section: a BanManager with an NftablesBackend. */
export interface BansConfig {
  readonly mode?: 'enforce' | 'observe';
  readonly stateFile?: string;
  readonly table?: string;
  readonly hooks?: ('input' | 'forward')[];
  readonly action?: 'drop' | 'reject';
  readonly banTime?: number;
  readonly maxBanTime?: number;
  readonly escalation?: boolean | { readonly factor?: number; readonly multipliers?: number[]; readonly forgetAfter?: number };
  readonly ignore?: string[];
  readonly ignoreSshSession?: boolean;
  readonly ipv6Prefix?: number;
  readonly subnet?: boolean | { readonly threshold?: number; readonly within?: number; readonly ipv4Prefix?: number; readonly ipv6Prefix?: number };
  readonly rules?: string[];
}

const severity = oneOf(['info', 'warning', 'critical'] as const);
const percent = num({ min: 0, max: 100 });
const url = str({ pattern: /^https?:\/\/[^\s]+$/, patternText: 'an http(s) URL' });
const channelBase = { name: optional(str()), minSeverity: optional(severity) };
const headers: Schema<Record<string, string>> = {
  expected: 'an object of string header values',
  parse(value, path, issues) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path, message: 'expected an object of string header values' });
      return undefined;
    }
    const bad = Object.entries(value).filter(([, v]) => typeof v !== 'string');
    for (const [k] of bad) issues.push({ path: `${path}.${k}`, message: 'expected a string' });
    return bad.length === 0 ? (value as Record<string, string>) : undefined;
  },
};

function secretFrom(field: string): (value: Record<string, unknown>, path: string, issues: ConfigIssue[]) => void {
  return (value, path, issues) => {
    if (value[field] !== undefined && value[`${field}Env`] !== undefined) {
      issues.push({ path: `${path}.${field}`, message: `give either ${field} or ${field}Env, not both` });
    }
  };
}

const channel = tagged<ChannelConfig>({
  slack: obj<SlackChannelConfig>(
    { ...channelBase, token: optional(str()), tokenEnv: optional(str()), channel: required(str()), slackApiUrl: optional(url) },
    (value, path, issues) => {
      secretFrom('token')(value as unknown as Record<string, unknown>, path, issues);
      if (value.token === undefined && value.tokenEnv === undefined)
        issues.push({ path: `${path}.token`, message: 'expected a non-empty string (or tokenEnv naming an environment variable)' });
    },
  ),
  email: obj<EmailChannelConfig>(
    {
      ...channelBase,
      host: required(str()),
      port: optional(num({ min: 1, max: 65535, integer: true })),
      secure: optional(bool()),
      user: optional(str()),
      password: optional(str()),
      passwordEnv: optional(str()),
      from: required(str()),
      to: required(arr(str(), { min: 1 })),
      requireTLS: optional(bool()),
      rejectUnauthorized: optional(bool()),
      caFile: optional(str()),
      servername: optional(str()),
    },
    (value, path, issues) => secretFrom('password')(value as unknown as Record<string, unknown>, path, issues),
  ),
  webhook: obj<WebhookChannelConfig>({ ...channelBase, url: required(url), headers: optional(headers) }),
  log: obj<LogChannelConfig>({ ...channelBase, file: optional(str()) }),
  console: obj<ConsoleChannelConfig>({ ...channelBase }),
  alertmanager: obj<AlertmanagerChannelConfig>({ ...channelBase, urls: required(arr(url, { min: 1 })) }),
});

const resourceRule = obj<ResourceRuleConfig>({
  metric: required(oneOf(RESOURCE_METRICS)),
  above: required(num()),
  for: optional(duration()),
  clearBelow: optional(num()),
  severity: optional(severity),
  mount: optional(str()),
});

/** The schema of {@link HostwardenConfig}. */
export const configSchema: Schema<HostwardenConfig> = obj<HostwardenConfig>(
  {
    $schema: optional(str()),
    stateDirectory: optional(str()),
    logs: optional(
      obj({
        files: optional(arr(str())),
        journal: optional(bool()),
        rules: optional(arr(oneOf(Object.keys(RULE_SETS) as RuleSetName[]), { min: 1 })),
        startAt: optional(oneOf(['end', 'beginning'] as const)),
        stateFile: optional(str()),
        maxRetry: optional(num({ min: 1, integer: true })),
        findTime: optional(duration({ min: 1000 })),
      }),
    ),
    resources: optional(
      obj({
        interval: optional(duration({ min: 100, timer: true })),
        cpu: optional(percent),
        memory: optional(percent),
        disk: optional(percent),
        rules: optional(arr(resourceRule)),
        anomaly: optional(bool()),
        scope: optional(oneOf(['auto', 'host', 'cgroup'] as const)),
        procRoot: optional(str()),
        sysRoot: optional(str()),
      }),
    ),
    scan: optional(
      obj({
        roots: required(arr(str(), { min: 1 })),
        interval: optional(duration({ min: 1000, timer: true })),
        extensions: optional(arr(str())),
        hashDb: optional(arr(str())),
        exclude: optional(arr(str())),
        maxFileSize: optional(num({ min: 1, integer: true })),
        oneFileSystem: optional(bool()),
        quarantine: optional(obj({ directory: required(str()), minSeverity: optional(severity) })),
      }),
    ),
    watch: optional(
      obj({
        roots: required(arr(str(), { min: 1 })),
        extensions: optional(arr(str())),
        hashDb: optional(arr(str())),
        exclude: optional(arr(str())),
        maxFileSize: optional(num({ min: 1, integer: true })),
        reconcileInterval: optional(duration({ min: 1000 })),
        settle: optional(duration({ min: 0 })),
        stateFile: optional(str()),
        quarantine: optional(obj({ directory: required(str()), minSeverity: optional(severity) })),
      }),
    ),
    notifier: required(
      obj({
        channels: required(arr(channel, { min: 1 })),
        outbox: optional(obj({ directory: required(str()) })),
      }),
    ),
    metrics: optional(obj({ port: required(num({ min: 0, max: 65535, integer: true })), host: optional(str()) })),
    bans: optional(
      obj<BansConfig>({
        mode: optional(oneOf(['enforce', 'observe'] as const)),
        stateFile: optional(str()),
        table: optional(str({ pattern: /^[A-Za-z][A-Za-z0-9_]{0,14}$/, patternText: 'an nft table name (letters, digits, _; at most 15)' })),
        hooks: optional(arr(oneOf(['input', 'forward'] as const), { min: 1 })),
        action: optional(oneOf(['drop', 'reject'] as const)),
        banTime: optional(duration({ min: 1000 })),
        maxBanTime: optional(duration({ min: 1000 })),
        escalation: optional(
          either(bool(), obj({ factor: optional(num({ min: 1 })), multipliers: optional(arr(num({ min: 0 }), { min: 1 })), forgetAfter: optional(duration()) })),
        ),
        ignore: optional(arr(str())),
        ignoreSshSession: optional(bool()),
        ipv6Prefix: optional(num({ min: 16, max: 128, integer: true })),
        subnet: optional(
          either(
            bool(),
            obj({
              threshold: optional(num({ min: 2, integer: true })),
              within: optional(duration({ min: 1000 })),
              ipv4Prefix: optional(num({ min: 8, max: 31, integer: true })),
              ipv6Prefix: optional(num({ min: 16, max: 127, integer: true })),
            }),
          ),
        ),
        rules: optional(arr(str(), { min: 1 })),
      }),
    ),
  },
  (value, path, issues) => {
    const names = new Set<string>();
    value.notifier.channels.forEach((c, i) => {
      if (c.name === undefined) return;
      if (names.has(c.name)) issues.push({ path: `${path}.notifier.channels[${i}].name`, message: `duplicate channel name ${JSON.stringify(c.name)}` });
      names.add(c.name);
    });
    if (value.logs && value.logs.files === undefined && value.logs.journal !== true) {
      issues.push({ path: `${path}.logs.files`, message: 'is required unless logs.journal is true: expected an array of a non-empty string' });
    }
  },
);

/** A config file that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  /** Every problem, each with its path. */
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(`Invalid config${source === 'config' ? '' : ` ${source}`}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Validates parsed JSON as a config; throws a {@link ConfigError} listing every issue. */
export function validateConfig(value: unknown, source = 'config'): HostwardenConfig {
  const issues: ConfigIssue[] = [];
  const config = configSchema.parse(value, 'config', issues);
  if (config === undefined || issues.length > 0) throw new ConfigError(source, issues);
  return config;
}

/** Reads, parses and validates a config file. */
export async function loadConfig(file: string): Promise<HostwardenConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError(file, [{ path: 'config', message: `cannot read ${file} (${code})` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{ path: 'config', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return validateConfig(json, file);
}

/** Resolves a secret given inline or through an environment variable. */
export function resolveSecret(inline: string | undefined, envName: string | undefined, path: string, env: NodeJS.ProcessEnv): string | undefined {
  if (inline !== undefined) return inline;
  if (envName === undefined) return undefined;
  const value = env[envName];
  if (value === undefined || value === '') throw new ConfigError('config', [{ path, message: `environment variable ${envName} is not set` }]);
  return value;
}
