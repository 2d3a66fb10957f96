import type { Alert } from '../core/alert.js';
import { schedule } from '../core/clock.js';
import type { HostwardenEvents } from '../core/emitter.js';
import { HostwardenError, IoError, StateError } from '../core/errors.js';
import { formatDuration } from '../core/format.js';
import { Component, toError } from '../core/lifecycle.js';
import { createWarning } from '../core/warning.js';
import { alertKey, anomalyAlert, anomalyResolved, ruleAlert, ruleResolved } from './alerts.js';
import { AnomalyDetector, type AnomalyTransition } from './anomaly.js';
import type { ResourceMetric } from './metrics.js';
import { resolveMonitorOptions, type ResolvedMonitorOptions, type ResourceMonitorOptions } from './options.js';
import { systemInformationProcesses, topProcesses, type ProcessInfo } from './processes.js';
import { ProcfsSampleSource } from './procfs-source.js';
import { RuleEngine, type RuleTransition } from './rules.js';
import type { ResourceReading, ResourceSample, ResourceSampleSource, ResourceScope } from './sample.js';
import { loadSystemInformation, SystemInformationSampleSource } from './systeminformation-source.js';

/** Events of {@link ResourceMonitor}. */
export interface ResourceMonitorEvents extends HostwardenEvents {
  /** A sample was taken: what was measured, when, and whose scope the rules used. */
  sample: [sample: ResourceSample];
  /**
   * A rule or the anomaly detector fired, reminded, or resolved. Keys are
   * `resource:<rule>:<mount or hostname>`; every firing alert is followed by a resolved
   * one with the same key when the condition ends.
   */
  alert: [alert: Alert];
}

/** The host's static inventory, from systeminformation. */
export interface HostInventory {
  /** The hostname the monitor reports. */
  readonly hostname: string;
  /** Operating system. */
  readonly os: {
    /** Node's platform name, e.g. `linux`. */
    readonly platform: string;
    /** Distribution, e.g. `Debian GNU/Linux`. */
    readonly distro: string;
    /** Distribution release, e.g. `12`. */
    readonly release: string;
    /** Kernel version. */
    readonly kernel: string;
    /** CPU architecture, e.g. `x64`. */
    readonly arch: string;
  };
  /** CPU model and counts. */
  readonly cpu: {
    /** e.g. `Intel`, `AMD`. */
    readonly manufacturer: string;
    /** The model name. */
    readonly brand: string;
    /** Logical CPUs. */
    readonly cores: number;
    /** Physical cores. */
    readonly physicalCores: number;
    /** Base clock, in GHz. */
    readonly speedGHz: number;
  };
  /** Installed memory. */
  readonly memory: {
    /** Physical memory, in bytes. */
    readonly totalBytes: number;
    /** Swap space, in bytes. */
    readonly swapTotalBytes: number;
  };
}

// How long to wait for the process list when an alert fires before sending it without.
const PROCESS_LIST_TIMEOUT_MS = 10_000;
const CPU_METRICS: ReadonlySet<ResourceMetric> = new Set(['cpu', 'host.cpu', 'cgroup.cpu', 'load', 'load5', 'load15']);
const MEMORY_METRICS: ReadonlySet<ResourceMetric> = new Set(['memory', 'host.memory', 'cgroup.memory', 'swap']);

/**
 * Watches CPU, memory, swap, load, disks and the container's cgroup, like Monit's
 * resource checks: threshold rules with `for`, hysteresis and reminders, plus a learned
 * baseline that flags unusual values. On Linux a sample reads /proc, `statfs` and cgroup
 * files asynchronously: no child process, no blocking I/O.
 *
 * @example
 * const monitor = new ResourceMonitor({ interval: 15_000, anomaly: true, logger: console });
 * monitor.on('alert', (alert) => console.log(alert.status, alert.title));
 * monitor.on('error', (error) => console.warn(error.message));
 * await monitor.start();
 */
export class ResourceMonitor extends Component<ResourceMonitorEvents> {
  readonly #o: ResolvedMonitorOptions;
  readonly #source: ResourceSampleSource;
  readonly #rules: RuleEngine;
  readonly #anomaly: AnomalyDetector | undefined;
  readonly #firing = new Map<string, Alert>();
  #opened: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #skipped = 0;
  #lastErrors = new Set<string>();
  #lastWarnings = new Set<string>();
  #skipStreak = false;
  #scopeWarned = false;
  #startedAt: number | undefined;
  #lastSampleAt: number | undefined;
  #inventory: Promise<HostInventory> | undefined;

  /**
   * @throws {@link InvalidOptionError} naming the option and the value, for any invalid option.
   */
  constructor(options: ResourceMonitorOptions = {}) {
    const o = resolveMonitorOptions(options, process.platform);
    super(options);
    this.#o = o;
    // The CPU window needs differences only: with no clock given, the source keeps its
    // monotonic default, so a wall-clock step never makes a negative window.
    const clock = o.clock;
    if (o.source === 'procfs') {
      this.#source = new ProcfsSampleSource({
        procRoot: o.procRoot,
        sysRoot: o.sysRoot,
        mounts: o.mounts,
        perCore: o.perCore,
        statfsTimeout: o.statfsTimeout,
        cgroup: o.scope !== 'host',
        ...(clock ? { clock } : {}),
      });
    } else if (o.source === 'systeminformation') {
      this.#source = new SystemInformationSampleSource({ mounts: o.mounts, perCore: o.perCore, ...(clock ? { clock } : {}) });
    } else {
      this.#source = o.source;
    }
    this.#rules = new RuleEngine(o.rules);
    this.#anomaly = o.anomaly ? new AnomalyDetector(o.anomaly) : undefined;
  }

  /** The alerts firing now (the latest notice of each), e.g. to show on a status page. */
  firing(): Alert[] {
    return [...this.#firing.values()];
  }

  /** Samples skipped because the previous one was still running when the timer fired. */
  get skippedSamples(): number {
    return this.#skipped;
  }

  /**
   * Takes one sample now, emits `'sample'`, evaluates rules and anomalies and emits any
   * `'alert'`; resolves with the sample once its alerts are out. Works before `start()`
   * too (the first sample has `cpu: null`: CPU % needs two readings).
   *
   * @throws {@link StateError} after `stop()`.
   * @throws the source's error when the whole reading failed (also emitted when sampling on the timer).
   */
  sample(): Promise<ResourceSample> {
    if (this.stopping) return Promise.reject(new StateError('Cannot sample a ResourceMonitor that was stopped'));
    this.#busy++;
    const run = this.#queue.then(() => this.#sampleOnce());
    this.#queue = run.catch(() => {}).finally(() => this.#busy--);
    return run;
  }

  /**
   * The host's static inventory (OS, CPU model, memory size) from systeminformation,
   * read once and cached. It may start processes (`lsb_release`…), so call it at startup,
   * not per sample.
   */
  inventory(): Promise<HostInventory> {
    this.#inventory ??= (async () => {
      const si = await loadSystemInformation();
      const [os, cpu, mem] = await Promise.all([si.osInfo(), si.cpu(), si.mem()]);
      return {
        hostname: this.#o.hostname,
        os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel, arch: os.arch },
        cpu: { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: cpu.cores, physicalCores: cpu.physicalCores, speedGHz: cpu.speed },
        memory: { totalBytes: mem.total, swapTotalBytes: mem.swaptotal },
      };
    })();
    this.#inventory.catch(() => (this.#inventory = undefined));
    return this.#inventory;
  }

  protected override async onStart(): Promise<void> {
    this.#startedAt = this.clock();
    await this.#open();
    this.setRepeating(() => this.#tick(), this.#o.interval);
  }

  // A monitor whose samples stopped arriving (a hung source, a starved loop) is degraded,
  // even though nothing threw: this is asked at health() time, with the monitor's clock.
  protected override refreshHealth(): void {
    const since = this.#lastSampleAt ?? this.#startedAt;
    if (since === undefined) return;
    const age = this.clock() - since;
    const allowed = 2 * this.#o.interval + this.#o.statfsTimeout;
    const what = this.#lastSampleAt === undefined ? 'no sample yet' : `last sample ${formatDuration(Math.max(0, age))} ago`;
    this.setHealthCheck('sample-age', age <= allowed, `${what} (at most ${formatDuration(allowed)} expected)`);
  }

  protected override async onStop(): Promise<void> {
    await this.#queue;
    await this.#closeSource();
  }

  // Once, whether from onStop() or from the cleanup registered when sample() opened the
  // source on a monitor that was never started (stop() does not call onStop() then).
  #closeSource(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#opened) return;
      await this.#opened.catch(() => {});
      try {
        await this.#source.close?.();
      } catch (error) {
        this.emitError(toError(error));
      }
    })();
    return this.#closing;
  }

  #open(): Promise<void> {
    if (!this.#opened) this.onCleanup(() => void this.#closeSource());
    this.#opened ??= (async () => {
      try {
        await this.#source.open?.();
      } catch (error) {
        // A source that cannot prime still samples; its errors surface per sample.
        this.emitError(toError(error));
      }
    })();
    return this.#opened;
  }

  #tick(): void {
    if (this.#busy > 0) {
      this.#skipped++;
      this.logger.debug('hostwarden resource sample skipped: the previous one is still running');
      // Once per streak of skips: a source that hangs for an hour is one warning, not 360.
      if (!this.#skipStreak) {
        this.#skipStreak = true;
        this.emitWarning(createWarning('sample-skipped', `A resource sample was skipped: the previous one is still running after ${formatDuration(this.#o.interval)}`));
      }
      return;
    }
    this.#skipStreak = false;
    this.sample().catch((error: unknown) => {
      if (this.stopping && error instanceof StateError) return;
      // A source that keeps failing the same way is reported once per streak.
      this.#reportErrors([toError(error)]);
    });
  }

  async #sampleOnce(): Promise<ResourceSample> {
    await this.#open();
    let reading: ResourceReading;
    try {
      reading = await this.#source.read();
    } catch (cause) {
      const error = cause instanceof HostwardenError ? cause : new IoError(`Sample source '${this.#source.name}' failed`, { cause });
      this.setHealthCheck('source', false, `sample source '${this.#source.name}' failed: ${error.message}`);
      throw error;
    }
    this.#lastErrors.clear(); // a good reading ends a streak of whole failures
    const partial = reading.errors ?? [];
    this.#reportPartial(partial);
    this.setHealthCheck(
      'source',
      partial.length === 0,
      partial.length === 0 ? `sample source '${this.#source.name}'` : `${partial.length} part(s) of the reading failed: ${partial.map((e) => e.message).join('; ')}`,
    );
    const time = this.clock();
    this.#lastSampleAt = time;
    const sample: ResourceSample = Object.freeze({
      time: new Date(time),
      hostname: this.#o.hostname,
      source: this.#source.name,
      scope: this.#scope(reading),
      cpu: reading.cpu ?? null,
      memory: reading.memory ?? null,
      swap: reading.swap ?? null,
      load: reading.load ?? null,
      disks: Object.freeze([...(reading.disks ?? [])]),
      cgroup: reading.cgroup ?? null,
    });
    this.emitSafely('sample', sample);
    const ruleTransitions = this.#rules.evaluate(sample, time);
    const anomalyTransitions = this.#anomaly?.evaluate(sample) ?? [];
    await this.#emitAlerts(sample, ruleTransitions, anomalyTransitions);
    return sample;
  }

  // Part of a reading failed (a mount that vanished or hangs, an unreadable cgroup file):
  // the sample goes on with the rest, so this is a 'warning', once per streak like errors.
  #reportPartial(errors: readonly Error[]): void {
    if (errors.length === 0 && this.#lastWarnings.size === 0) return; // every sample of a healthy host
    const now = new Set<string>();
    for (const error of errors) {
      now.add(error.message);
      if (this.#lastWarnings.has(error.message)) continue;
      const path = error instanceof IoError ? error.path : undefined;
      this.emitWarning(createWarning('sample-partial', error.message, { cause: error, ...(path === undefined ? {} : { path }) }));
    }
    this.#lastWarnings = now;
  }

  // The same failure every sample (a source that stays broken) is reported once, and
  // again only after a sample where it did not occur.
  #reportErrors(errors: readonly Error[]): void {
    const now = new Set<string>();
    for (const error of errors) {
      now.add(error.message);
      if (this.#lastErrors.has(error.message)) continue;
      this.emitError(error);
    }
    this.#lastErrors = now;
  }

  #scope(reading: ResourceReading): ResourceScope {
    const cg = reading.cgroup;
    if (this.#o.scope === 'host') return 'host';
    if (this.#o.scope === 'cgroup') {
      if (cg) return 'cgroup';
      if (!this.#scopeWarned) {
        this.#scopeWarned = true;
        this.logger.warn('hostwarden: scope is "cgroup" but no cgroup could be read; using host metrics');
        this.emitWarning(createWarning('scope-fallback', 'scope is "cgroup" but no cgroup could be read; using host metrics'));
      }
      return 'host';
    }
    if (!cg) return 'host';
    const hostMemory = reading.memory?.totalBytes;
    const memoryLimited = cg.memory?.limitBytes != null && (hostMemory === undefined || cg.memory.limitBytes < hostMemory);
    const cores = reading.cpu?.cores ?? reading.load?.cores;
    const cpuLimited = cg.cpu?.limitCpus != null && (cores === undefined || cg.cpu.limitCpus < cores);
    return memoryLimited || cpuLimited ? 'cgroup' : 'host';
  }

  async #emitAlerts(sample: ResourceSample, rules: readonly RuleTransition[], anomalies: readonly AnomalyTransition[]): Promise<void> {
    if (rules.length === 0 && anomalies.length === 0) return;
    const kindOf = (metric: ResourceMetric): 'cpu' | 'memory' | undefined => (CPU_METRICS.has(metric) ? 'cpu' : MEMORY_METRICS.has(metric) ? 'memory' : undefined);
    const wants = rules.some((t) => t.kind !== 'resolved' && kindOf(t.rule.metric)) || anomalies.some((t) => t.kind === 'firing' && kindOf(t.metric));
    const list = wants ? await this.#processList() : undefined;
    const top = (metric: ResourceMetric): readonly ProcessInfo[] | undefined => {
      const by = kindOf(metric);
      return list && by ? topProcesses(list, by, this.#o.topProcesses) : undefined;
    };
    const by = (metric: ResourceMetric): string => (kindOf(metric) === 'memory' ? 'memory' : 'CPU');

    for (const t of rules) {
      if (t.kind === 'resolved') {
        const key = alertKey(t.rule.id, t.point.mount, sample.hostname);
        const firing = this.#firing.get(key);
        if (!firing) continue;
        this.#firing.delete(key);
        this.emitSafely('alert', ruleResolved(firing, t, sample));
      } else {
        const alert = ruleAlert(t, sample, top(t.rule.metric), by(t.rule.metric));
        this.#firing.set(alert.key, alert);
        this.emitSafely('alert', alert);
      }
    }
    const severity = this.#o.anomaly?.severity ?? 'warning';
    for (const t of anomalies) {
      if (t.kind === 'resolved') {
        const key = alertKey(`anomaly.${t.metric}`, t.point.mount, sample.hostname);
        const firing = this.#firing.get(key);
        if (!firing) continue;
        this.#firing.delete(key);
        this.emitSafely('alert', anomalyResolved(firing, t, sample));
      } else {
        const alert = anomalyAlert(t, sample, severity, top(t.metric), by(t.metric));
        this.#firing.set(alert.key, alert);
        this.emitSafely('alert', alert);
      }
    }
  }

  // Gathered only when an alert that names processes fires: listing processes may
  // start `ps`, which the per-sample path must never do.
  async #processList(): Promise<readonly ProcessInfo[] | undefined> {
    if (this.#o.topProcesses === 0) return undefined;
    const lister = this.#o.processes ?? systemInformationProcesses;
    let cancel = (): void => {};
    try {
      const timeout = new Promise<never>((_, reject) => {
        cancel = schedule(() => reject(new Error(`no answer within ${formatDuration(PROCESS_LIST_TIMEOUT_MS)}`)), PROCESS_LIST_TIMEOUT_MS);
      });
      return await Promise.race([lister(), timeout]);
    } catch (cause) {
      this.emitError(new IoError('Cannot list the top processes for an alert; sending it without them', { syscall: 'processes', cause }));
      return undefined;
    } finally {
      cancel();
    }
  }
}
