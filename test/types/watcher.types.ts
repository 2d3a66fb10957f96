// Type tests for FileWatcher: checked by `tsc --noEmit` (npm test), never run.
import { FileWatcher, Notifier, type Finding, type Health, type QuarantinedEvent, type ReconcileReport, type Warning } from '../../src/index.js';

const watcher = new FileWatcher({ roots: ['/var/www'], stateFile: '/var/lib/hostwarden/watch.index', reconcileInterval: '5m', settle: 200 });
watcher.on('finding', (finding: Finding) => finding.displayPath);
watcher.on('quarantined', (e: QuarantinedEvent) => e.record.id);
watcher.on('warning', (w: Warning) => w.code);
watcher.on('health', (h: Health) => h.checks.filter((c) => !c.ok));
watcher.on('reconciled', (r: ReconcileReport) => r.missed + r.changed);
const state: 'ok' | 'degraded' | 'stopped' = watcher.health().state;
void state;
const mode: 'events' | 'crawl-only' = watcher.status.mode;
void mode;
new Notifier({ channels: [] }).attach(watcher);
// @ts-expect-error: unknown event names are rejected
watcher.on('progress', () => {});
// @ts-expect-error: roots is required
new FileWatcher({});
// @ts-expect-error: the clock returns ms, not a Date
new FileWatcher({ roots: ['/'], clock: () => new Date() });
// @ts-expect-error: quarantine.minSeverity is a Severity
new FileWatcher({ roots: ['/'], quarantine: { into: '/q', minSeverity: 'high' } });
