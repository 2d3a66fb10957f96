import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Registry } from 'prom-client';
import { systemClock, type Clock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import type { HealthState } from '../core/health.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';
import { lazyRequire } from '../core/lazy-require.js';
import { isSeverity } from '../core/severity.js';
import { labelValue, matchRuleId, num, obj, pick, str, type NamedComponent, type ObservableComponent } from './observed.js';
import { ResourceGauges } from './resource-gauges.js';

// prom-client is loaded by the first HostwardenMetrics, not by importing hostwarden.
const loadPromClient = lazyRequire<typeof PromClient>('prom-client');

/** Options of {@link HostwardenMetrics}. */
export interface HostwardenMetricsOptions {
  /**
   * The prom-client registry the metrics register on; pass your service's own to expose
   * them next to its other metrics.
   * @defaultValue a new `Registry`
   */
  readonly registry?: Registry;
  /**
   * Put before every metric name.
   * @defaultValue `'hostwarden_'`
   */
  readonly prefix?: string;
  /**
   * The clock, in ms since the epoch, for `last_error_timestamp_seconds` and samples
   * without a time.
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock;
}

interface Observed {
  readonly component: ObservableComponent;
  readonly name: string;
  readonly detach: () => void;
  /** The last `'progress'` of the scan in progress: progress counts from each scan's start. */
  progress: { files: number; bytes: number; hashed: number };
}

type Metric = Counter<string> | Gauge<string>;

/**
 * Prometheus metrics for hostwarden components, with prom-client. It subscribes only to
 * the components' public events (`'match'`, `'alert'`, `'sample'`, `'progress'`,
 * `'finding'`, `'warning'`, `'quarantined'`, `'sent'`, `'failed'`, `'suppressed'`,
 * `'retry'`, `'rotate'`, `'error'`) and, at scrape time, reads the cumulative counters
 * of a component's `stats` getter (LogWatcher: lines and bytes read, files followed;
 * Notifier: pending deliveries and outbox depth). See docs/fleet.md for the list.
 *
 * Every series is per host by way of Prometheus' `instance` label, which the scrape adds.
 *
 * @example
 * const registry = new Registry();
 * const metrics = new HostwardenMetrics({ registry }).observe(watcher, monitor, scanner, notifier);
 * await using exporter = await serveMetrics({ registry, port: 9464 });
 * // later
 * metrics.close();
 */
export class HostwardenMetrics implements Disposable {
  /** The registry the metrics are registered on. */
  readonly registry: Registry;
  /** The metric name prefix. */
  readonly prefix: string;
  readonly #observed = new Map<ObservableComponent, Observed>();
  readonly #metrics: Metric[] = [];
  readonly #resource: ResourceGauges;
  readonly #now: () => number;
  #closed = false;

  readonly #logMatches: Counter<'rule'>;
  readonly #alerts: Counter<'source' | 'rule' | 'severity' | 'status'>;
  readonly #filesScanned: Counter<string>;
  readonly #bytesScanned: Counter<string>;
  readonly #bytesHashed: Counter<string>;
  readonly #findings: Counter<'detector' | 'rule' | 'severity'>;
  readonly #warnings: Counter<'component' | 'code'>;
  readonly #quarantined: Counter<string>;
  readonly #quarantinedBytes: Counter<string>;
  readonly #sent: Counter<'channel'>;
  readonly #failed: Counter<'channel' | 'permanent'>;
  readonly #suppressed: Counter<'channel' | 'reason'>;
  readonly #retries: Counter<'channel'>;
  readonly #rotations: Counter<'component' | 'reason'>;
  readonly #errors: Counter<'component'>;
  readonly #bans: Counter<'rule' | 'mode'>;
  readonly #unbans: Counter<'reason' | 'mode'>;
  readonly #lastError: Gauge<'component'>;

  constructor(options: HostwardenMetricsOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('HostwardenMetrics', options, ['registry', 'prefix', 'clock']);
    const registry = options.registry ?? new (loadPromClient().Registry)();
    // Duck-typed rather than instanceof: a service may hold a Registry from its own copy
    // of prom-client, which stores our metrics just as well.
    const methods = ['registerMetric', 'removeSingleMetric', 'getSingleMetric', 'metrics'] as const;
    if (typeof registry !== 'object' || registry === null || methods.some((m) => typeof (registry as unknown as Record<string, unknown>)[m] !== 'function')) {
      throw new InvalidOptionError('registry', registry, 'a prom-client Registry');
    }
    const prefix = options.prefix ?? 'hostwarden_';
    if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
      throw new InvalidOptionError('prefix', prefix, 'a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
    }
    const clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
    this.registry = registry;
    this.prefix = prefix;
    this.#now = clock;

    try {
      this.#logMatches = this.#counter('log_matches_total', 'Log lines matched, per rule.', ['rule']);
      this.#counterFromStats('log_lines_read_total', 'Log lines read by a LogWatcher.', 'linesRead');
      this.#counterFromStats('log_bytes_read_total', 'Log bytes read by a LogWatcher.', 'bytesRead');
      this.#gaugeFromStats('log_files_followed', 'Files a LogWatcher is following now.', 'filesFollowed');
      this.#rotations = this.#counter('log_rotations_total', 'Rotations (rename, truncate, delete, create) a LogWatcher followed, per reason.', ['component', 'reason']);
      this.#alerts = this.#counter('alerts_total', 'Alerts raised by the components, firing and resolved.', ['source', 'rule', 'severity', 'status']);
      this.#filesScanned = this.#counter('files_scanned_total', 'Regular files inspected by FileScanner scans.', []);
      this.#bytesScanned = this.#counter('bytes_scanned_total', 'Sum of the sizes of the files inspected.', []);
      this.#bytesHashed = this.#counter('bytes_hashed_total', 'Bytes read in full to hash or search file contents.', []);
      this.#findings = this.#counter('scan_findings_total', 'Suspicious files found, per detector, rule and severity.', ['detector', 'rule', 'severity']);
      this.#quarantined = this.#counter('quarantined_files_total', 'Files moved into the quarantine.', []);
      this.#quarantinedBytes = this.#counter('quarantined_bytes_total', 'Bytes of the files moved into the quarantine.', []);
      this.#sent = this.#counter('notifications_sent_total', 'Notifications delivered, per channel (a digest counts once).', ['channel']);
      this.#failed = this.#counter('notifications_failed_total', 'Notifications given up on, per channel; permanent="true" when retrying could not help.', [
        'channel',
        'permanent',
      ]);
      this.#suppressed = this.#counter('notifications_suppressed_total', 'Alerts deliberately not sent, per channel ("*" = every channel) and reason.', ['channel', 'reason']);
      this.#retries = this.#counter('notification_retries_total', 'Delivery attempts that failed and will be retried, per channel.', ['channel']);
      this.#gaugeFromStats('notifier_pending', 'Deliveries accepted by a Notifier and not yet delivered or given up.', 'pending');
      this.#gaugeFromStats('notifier_outbox_depth', 'Entries in a Notifier outbox still owed to a channel.', 'outboxDepth');
      this.#warnings = this.#counter('warnings_total', "'warning' events (unreadable or vanished paths, cut lines…), per component and Warning code.", ['component', 'code']);
      this.#bans = this.#counter('bans_total', 'Addresses and networks a BanManager banned (mode="observe": would have banned), per rule.', ['rule', 'mode']);
      this.#unbans = this.#counter('unbans_total', 'Bans that ended, per reason (expired, manual, widened).', ['reason', 'mode']);
      this.#errors = this.#counter('errors_total', "'error' events, per component.", ['component']);
      this.#lastError = this.#gauge('last_error_timestamp_seconds', "Unix time of a component's last 'error' event.", ['component']);
      this.#resource = new ResourceGauges((name, help, labels) => this.#gauge(name, help, labels), clock);
      this.#healthGauges();
    } catch (error) {
      this.#unregister();
      if (error instanceof InvalidOptionError) throw error;
      throw new InvalidOptionError(
        'registry',
        registry,
        `a registry without hostwarden metrics of prefix '${prefix}' (${error instanceof Error ? error.message : String(error)}); use another prefix or registry`,
        { cause: error },
      );
    }
  }

  /**
   * Starts observing components: LogWatchers, ResourceMonitors, FileScanners,
   * Notifiers or your own emitters. Each is labelled by its class name
   * unless given as `{ component, name }`. Observing one twice is a no-op.
   * Returns `this`, for chaining.
   */
  observe(...components: (ObservableComponent | NamedComponent)[]): this {
    if (this.#closed) throw new InvalidOptionError('observe', 'closed metrics', 'called before close()');
    for (const [i, given] of components.entries()) {
      const named = isNamed(given) ? given : undefined;
      const component = named ? named.component : (given as ObservableComponent);
      if (typeof obj(component)?.['on'] !== 'function') {
        throw new InvalidOptionError(`components[${i}]`, component, 'an event emitter (a hostwarden component)');
      }
      if (this.#observed.has(component)) continue;
      const name = labelValue(str(named?.name) ?? defaultName(component), 'component');
      this.#observed.set(component, this.#attach(component, name));
    }
    return this;
  }

  /** Stops observing one component; its stats are no longer read. Counters keep their values. */
  unobserve(component: ObservableComponent): void {
    this.#observed.get(component)?.detach();
    this.#observed.delete(component);
  }

  /** Detaches from every component and removes the metrics from the registry. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const observed of this.#observed.values()) observed.detach();
    this.#observed.clear();
    this.#unregister();
  }

  /** Same as {@link HostwardenMetrics.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #attach(component: ObservableComponent, name: string): Observed {
    const handlers: Record<string, (payload: unknown) => void> = {
      match: (match) => this.#logMatches.inc({ rule: labelValue(matchRuleId(match)) }),
      alert: (alert) => {
        const severity = pick(alert, 'severity');
        this.#alerts.inc({
          source: labelValue(str(pick(alert, 'source'))),
          rule: labelValue(str(pick(alert, 'rule'))),
          severity: isSeverity(severity) ? severity : 'unknown',
          status: pick(alert, 'status') === 'resolved' ? 'resolved' : 'firing',
        });
      },
      sample: (sample) => this.#resource.update(sample),
      progress: (progress) => this.#progress(observed, progress),
      finding: (finding) => {
        const severity = pick(finding, 'severity');
        this.#findings.inc({
          detector: labelValue(str(pick(finding, 'detector'))),
          rule: labelValue(str(pick(finding, 'rule'))),
          severity: isSeverity(severity) ? severity : 'unknown',
        });
      },
      // Every class emits the one Warning shape (src/core/warning.ts); its `code` is the label.
      warning: (warning) => this.#warnings.inc({ component: name, code: labelValue(str(pick(warning, 'code'))) }),
      quarantined: (event) => {
        this.#quarantined.inc();
        // The payload is the QuarantineRecord, or an event holding it as `record`.
        const size = num(pick(event, 'size')) ?? num(pick(event, 'record', 'size'));
        if (size !== undefined && size >= 0) this.#quarantinedBytes.inc(size);
      },
      sent: (event) => this.#sent.inc({ channel: channelOf(event) }),
      failed: (event) => this.#failed.inc({ channel: channelOf(event), permanent: String(pick(event, 'permanent') === true) }),
      suppressed: (event) => this.#suppressed.inc({ channel: channelOf(event), reason: labelValue(str(pick(event, 'reason'))) }),
      retry: (event) => this.#retries.inc({ channel: channelOf(event) }),
      // BanManager: the payload is { ban, mode } / { ban, reason, mode }.
      ban: (event) => this.#bans.inc({ rule: labelValue(str(pick(event, 'ban', 'rule'))), mode: modeOf(event) }),
      unban: (event) => this.#unbans.inc({ reason: labelValue(str(pick(event, 'reason'))), mode: modeOf(event) }),
      rotate: (event) => this.#rotations.inc({ component: name, reason: labelValue(str(pick(event, 'reason'))) }),
      error: (error) => {
        this.#errors.inc({ component: name });
        this.#lastError.set({ component: name }, this.#now() / 1000);
        // Listening must not change what an error does: a hostwarden emitter rethrows an
        // 'error' nobody listens to, and the metrics are not somebody.
        if (listenerCount(component, 'error') === 1) {
          process.nextTick(() => {
            throw error;
          });
        }
      },
    };
    // Each handler is guarded: a payload the metrics do not understand must never turn
    // into an exception inside the component's emit().
    const listeners = Object.entries(handlers).map(([event, handle]) => {
      const listener = (payload: unknown): void => {
        try {
          handle(payload);
        } catch {
          // Metrics are best effort; the component's own work matters more.
        }
      };
      component.on(event, listener);
      return [event, listener] as const;
    });
    const observed: Observed = {
      component,
      name,
      progress: { files: 0, bytes: 0, hashed: 0 },
      detach: () => {
        for (const [event, listener] of listeners) {
          if (typeof component.off === 'function') component.off(event, listener);
          else component.removeListener?.(event, listener);
        }
      },
    };
    return observed;
  }

  #progress(observed: Observed, progress: unknown): void {
    const files = num(pick(progress, 'filesScanned'));
    const bytes = num(pick(progress, 'bytesScanned'));
    const hashed = num(pick(progress, 'bytesHashed'));
    const last = observed.progress;
    // Progress counts from the start of each scan; a smaller count means a new scan began.
    const delta = (now: number | undefined, before: number): number => (now === undefined ? 0 : now >= before ? now - before : now);
    const newScan = (files ?? last.files) < last.files || (bytes ?? last.bytes) < last.bytes;
    const base = newScan ? { files: 0, bytes: 0, hashed: 0 } : last;
    this.#filesScanned.inc(delta(files, base.files));
    this.#bytesScanned.inc(delta(bytes, base.bytes));
    this.#bytesHashed.inc(delta(hashed, base.hashed));
    observed.progress = { files: files ?? base.files, bytes: bytes ?? base.bytes, hashed: hashed ?? base.hashed };
  }

  /** Sums a `stats` field over the observed components, per component name. */
  #statsByName(field: string): Map<string, number> {
    const sums = new Map<string, number>();
    for (const { component, name } of this.#observed.values()) {
      let value: number | undefined;
      try {
        value = num(pick(component, 'stats', field));
      } catch {
        value = undefined;
      }
      if (value !== undefined) sums.set(name, (sums.get(name) ?? 0) + value);
    }
    return sums;
  }

  // Read at scrape time from each component's health(): one series per state (1 for the
  // current one, 0 for the others, so `== 1` alerts and absent-series checks both work), and
  // one per check. A component without health() has no series; one whose health() throws
  // shows as degraded rather than vanishing.
  #healthGauges(): void {
    const states: readonly HealthState[] = ['ok', 'degraded', 'stopped'];
    const read = (): { name: string; state: HealthState; checks: { name: string; ok: boolean }[] }[] => {
      const out: { name: string; state: HealthState; checks: { name: string; ok: boolean }[] }[] = [];
      for (const { component, name } of this.#observed.values()) {
        const health = (component as { health?: () => unknown }).health;
        if (typeof health !== 'function') continue;
        let value: unknown;
        try {
          value = health.call(component);
        } catch {
          out.push({ name, state: 'degraded', checks: [{ name: 'health', ok: false }] });
          continue;
        }
        const state = pick(value, 'state');
        const checks = pick(value, 'checks');
        out.push({
          name,
          state: states.includes(state as HealthState) ? (state as HealthState) : 'degraded',
          checks: Array.isArray(checks)
            ? checks.flatMap((c: unknown) => {
                const checkName = str(pick(c, 'name'));
                return checkName === undefined ? [] : [{ name: labelValue(checkName), ok: pick(c, 'ok') === true }];
              })
            : [],
        });
      }
      return out;
    };
    this.#gauge('health', "A component's health state: 1 for the current state (ok, degraded or stopped), 0 for the others.", ['component', 'state'], function collect() {
      this.reset();
      for (const c of read()) for (const state of states) this.set({ component: c.name, state }, c.state === state ? 1 : 0);
    });
    this.#gauge('health_check_ok', 'Each health check of a component: 1 when it passes, 0 when it fails.', ['component', 'check'], function collect() {
      this.reset();
      for (const c of read()) for (const check of c.checks) this.set({ component: c.name, check: check.name }, check.ok ? 1 : 0);
    });
  }

  #counter<L extends string>(name: string, help: string, labelNames: L[], collect?: (this: Counter<L>) => void): Counter<L> {
    const metric = new (loadPromClient().Counter)<L>({ name: this.prefix + name, help, labelNames, registers: [], ...(collect ? { collect } : {}) });
    this.#register(metric);
    return metric;
  }

  #gauge<L extends string>(name: string, help: string, labelNames: L[], collect?: (this: Gauge<L>) => void): Gauge<L> {
    const metric = new (loadPromClient().Gauge)<L>({ name: this.prefix + name, help, labelNames, registers: [], ...(collect ? { collect } : {}) });
    this.#register(metric);
    return metric;
  }

  #counterFromStats(name: string, help: string, field: string): void {
    const statsByName = (): Map<string, number> => this.#statsByName(field);
    this.#counter(name, help, ['component'], function collect() {
      this.reset();
      for (const [component, value] of statsByName()) if (value >= 0) this.inc({ component }, value);
    });
  }

  #gaugeFromStats(name: string, help: string, field: string): void {
    const statsByName = (): Map<string, number> => this.#statsByName(field);
    this.#gauge(name, help, ['component'], function collect() {
      this.reset();
      for (const [component, value] of statsByName()) this.set({ component }, value);
    });
  }

  #register(metric: Metric): void {
    this.registry.registerMetric(metric);
    this.#metrics.push(metric);
  }

  #unregister(): void {
    for (const metric of this.#metrics) this.registry.removeSingleMetric(metricName(metric));
    this.#metrics.length = 0;
  }
}

/**
 * Creates {@link HostwardenMetrics} and observes the given components in one call.
 *
 * @example
 * const metrics = createMetrics({ registry }, watcher, notifier);
 */
export function createMetrics(options: HostwardenMetricsOptions = {}, ...components: (ObservableComponent | NamedComponent)[]): HostwardenMetrics {
  return new HostwardenMetrics(options).observe(...components);
}

function isNamed(value: ObservableComponent | NamedComponent): value is NamedComponent {
  const o = obj(value);
  return o !== undefined && typeof o['on'] !== 'function' && typeof obj(o['component'])?.['on'] === 'function';
}

function defaultName(component: ObservableComponent): string | undefined {
  const name = str((component as { constructor?: { name?: unknown } }).constructor?.name);
  return name === 'Object' || name === 'EventEmitter' ? undefined : name;
}

function listenerCount(component: ObservableComponent, event: string): number | undefined {
  const count = (component as { listenerCount?: (event: string) => unknown }).listenerCount;
  if (typeof count !== 'function') return undefined;
  const n = count.call(component, event);
  return typeof n === 'number' ? n : undefined;
}

function channelOf(event: unknown): string {
  return labelValue(str(pick(event, 'channel')), '*');
}

function metricName(metric: Metric): string {
  return (metric as unknown as { name: string }).name;
}

function modeOf(event: unknown): string {
  return pick(event, 'mode') === 'observe' ? 'observe' : 'enforce';
}
