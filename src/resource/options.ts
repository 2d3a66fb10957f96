import { hostname as osHostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import type { ComponentOptions } from '../core/lifecycle.js';
import { checkSharedOptions, durationOption, rejectUnknownKeys, SHARED_OPTION_KEYS } from '../core/options.js';
import { expectArray, expectBoolean, expectNumber, expectOneOf, expectString } from '../core/validate.js';
import { resolveAnomaly, type AnomalyOptions, type ResolvedAnomaly } from './anomaly.js';
import type { ProcessLister } from './processes.js';
import type { MountFilterOptions } from './procfs-source.js';
import { defaultResourceRules, resolveRules, type ResolvedRule, type ResourceRule } from './rules.js';
import type { ResourceSampleSource } from './sample.js';

/** Options of {@link ResourceMonitor}. */
export interface ResourceMonitorOptions extends ComponentOptions {
  /**
   * Time between samples: ms, or text such as `'15s'`; from 100 ms to about 24.8 days.
   * @defaultValue `10000`
   */
  readonly interval?: number | string;
  /** Threshold rules. Pass `[]` for none. @defaultValue {@link defaultResourceRules} */
  readonly rules?: readonly ResourceRule[];
  /** Anomaly detection: `true` for the defaults, an object to tune it. @defaultValue `false` */
  readonly anomaly?: boolean | AnomalyOptions;
  /**
   * Whose CPU and memory the `cpu` and `memory` metrics mean: `'host'`, the process's
   * `'cgroup'`, or `'auto'`: the cgroup when it has a memory limit below host memory or a
   * CPU quota below the host's CPUs (a container), else the host.
   * @defaultValue `'auto'`
   */
  readonly scope?: 'auto' | 'host' | 'cgroup';
  /** Where procfs is mounted (point it at a fixture tree, or at the host's /proc from a container). @defaultValue `'/proc'` */
  readonly procRoot?: string;
  /** Where sysfs is mounted; cgroups are read under `<sysRoot>/fs/cgroup`. @defaultValue `'/sys'` */
  readonly sysRoot?: string;
  /** Which mounts to measure. @defaultValue real local file systems, one entry per device */
  readonly mounts?: MountFilterOptions;
  /**
   * Where samples come from: `'procfs'` (Linux), `'systeminformation'` (portable, starts
   * processes), `'auto'` (procfs on Linux), or your own {@link ResourceSampleSource}.
   * @defaultValue `'auto'`
   */
  readonly source?: 'auto' | 'procfs' | 'systeminformation' | ResourceSampleSource;
  /** Report busy % per CPU in each sample. @defaultValue `false` */
  readonly perCore?: boolean;
  /** How many top processes a firing CPU or memory alert names (0: none). @defaultValue `5` */
  readonly topProcesses?: number;
  /** Lists processes for those alerts. @defaultValue systeminformation's `processes()` */
  readonly processes?: ProcessLister;
  /** The hostname put on samples and alerts. @defaultValue `os.hostname()` */
  readonly hostname?: string;
  /** How long one `statfs` may take before that mount is reported as an error: ms or text (`'5s'`). @defaultValue `5000` */
  readonly statfsTimeout?: number | string;
}

/** @internal */
export interface ResolvedMonitorOptions {
  readonly interval: number;
  readonly rules: readonly ResolvedRule[];
  readonly anomaly: ResolvedAnomaly | undefined;
  readonly scope: 'auto' | 'host' | 'cgroup';
  readonly procRoot: string;
  readonly sysRoot: string;
  readonly mounts: MountFilterOptions;
  readonly source: 'procfs' | 'systeminformation' | ResourceSampleSource;
  readonly perCore: boolean;
  readonly topProcesses: number;
  readonly processes: ProcessLister | undefined;
  readonly hostname: string;
  readonly clock: Clock | undefined;
  readonly statfsTimeout: number;
}

/** Every option {@link ResourceMonitor} knows; anything else is a typo. */
const KNOWN_KEYS = [
  ...SHARED_OPTION_KEYS,
  'interval',
  'rules',
  'anomaly',
  'scope',
  'procRoot',
  'sysRoot',
  'mounts',
  'source',
  'perCore',
  'topProcesses',
  'processes',
  'hostname',
  'statfsTimeout',
] as const;
const MOUNT_KEYS = ['include', 'exclude', 'excludeFsTypes', 'network'] as const;

function stringList(option: string, value: unknown): string[] {
  return expectArray(option, value).map((v, i) => expectString(`${option}[${i}]`, v));
}

/** Validates every option once; the result is frozen. @internal */
export function resolveMonitorOptions(options: ResourceMonitorOptions, platform: NodeJS.Platform): ResolvedMonitorOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('ResourceMonitor', options, KNOWN_KEYS);
  checkSharedOptions(options);
  const m = options.mounts ?? {};
  if (typeof m !== 'object' || m === null) throw new InvalidOptionError('mounts', m, 'an object');
  rejectUnknownKeys('ResourceMonitor `mounts`', m, MOUNT_KEYS);
  const mounts: MountFilterOptions = Object.freeze({
    include: Object.freeze(m.include === undefined ? [] : stringList('mounts.include', m.include)),
    exclude: Object.freeze(m.exclude === undefined ? [] : stringList('mounts.exclude', m.exclude)),
    excludeFsTypes: Object.freeze(m.excludeFsTypes === undefined ? [] : stringList('mounts.excludeFsTypes', m.excludeFsTypes)),
    network: m.network === undefined ? false : expectBoolean('mounts.network', m.network),
  });
  let source: ResolvedMonitorOptions['source'];
  const s = options.source ?? 'auto';
  if (typeof s === 'string') {
    const choice = expectOneOf('source', s, ['auto', 'procfs', 'systeminformation'] as const);
    source = choice === 'auto' ? (platform === 'linux' ? 'procfs' : 'systeminformation') : choice;
  } else if (typeof s === 'object' && s !== null && typeof s.read === 'function' && typeof s.name === 'string') {
    source = s;
  } else {
    throw new InvalidOptionError('source', s, "'auto', 'procfs', 'systeminformation' or an object with `name` and `read()`");
  }
  if (options.processes !== undefined && typeof options.processes !== 'function') throw new InvalidOptionError('processes', options.processes, 'a function');
  return Object.freeze({
    interval: options.interval === undefined ? 10_000 : durationOption('interval', options.interval, { min: 100 }),
    rules: Object.freeze(resolveRules(options.rules === undefined ? defaultResourceRules : (expectArray('rules', options.rules) as readonly ResourceRule[]))),
    anomaly: resolveAnomaly(options.anomaly),
    scope: options.scope === undefined ? 'auto' : expectOneOf('scope', options.scope, ['auto', 'host', 'cgroup'] as const),
    procRoot: options.procRoot === undefined ? '/proc' : expectString('procRoot', options.procRoot),
    sysRoot: options.sysRoot === undefined ? '/sys' : expectString('sysRoot', options.sysRoot),
    mounts,
    source,
    perCore: options.perCore === undefined ? false : expectBoolean('perCore', options.perCore),
    topProcesses: options.topProcesses === undefined ? 5 : expectNumber('topProcesses', options.topProcesses, { min: 0, max: 100, integer: true }),
    processes: options.processes,
    hostname: options.hostname === undefined ? osHostname() : expectString('hostname', options.hostname),
    clock: options.clock,
    statfsTimeout: options.statfsTimeout === undefined ? 5000 : durationOption('statfsTimeout', options.statfsTimeout, { min: 1 }),
  });
}
