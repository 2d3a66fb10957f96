// Type tests for the parts' events and options: checked by `tsc --noEmit` (npm test),
// never run. Each @ts-expect-error line must fail to compile.
import { FileScanner, LogWatcher, Notifier, ResourceMonitor, createAlert, defineRule, type Alert, type Detector, type LogMatch, type ResourceSample } from '../../src/index.js';

const watcher = new LogWatcher({ files: ['/var/log/auth.log'] });
watcher.on('match', (match) => match.rule.tags.includes('auth-failure') && match.fields['host']);
watcher.on('alert', (alert) => alert.title.toUpperCase());
// @ts-expect-error: no such event
watcher.on('no-such-event', () => {});
// @ts-expect-error: a 'match' carries a LogMatch, not a string
watcher.on('match', (match: string) => match);
// @ts-expect-error: an 'alert' carries an Alert, not a LogMatch
watcher.on('alert', (match: LogMatch) => match.lineNumber);
// @ts-expect-error: emitting the wrong payload is rejected
watcher.emit('alert', { title: 'not an alert' });
// @ts-expect-error: startAt is 'beginning' or 'end'
new LogWatcher({ files: ['/var/log/auth.log'], startAt: 'middle' });

const monitor = new ResourceMonitor({ rules: [{ metric: 'memory', above: 90, for: 60_000 }] });
monitor.on('sample', (sample: ResourceSample) => sample.memory?.percent);
// @ts-expect-error: a sample is not an Alert
monitor.on('sample', (alert: Alert) => alert.key);
// @ts-expect-error: unknown metric
new ResourceMonitor({ rules: [{ metric: 'temperature', above: 90 }] });
// @ts-expect-error: the monitor has no 'finding' event
monitor.on('finding', () => {});

const scanner = new FileScanner({ roots: ['/home'] });
scanner.on('finding', (finding) => finding.path.length + finding.size);
scanner.on('progress', (progress) => progress.filesScanned);
// @ts-expect-error: a finding's size is a number
scanner.on('finding', (finding: { size: string }) => finding.size);
// @ts-expect-error: roots is required
new FileScanner({});

const notifier = new Notifier({ channels: [] });
notifier.on('sent', (event) => event.channel);
notifier.attach(watcher, monitor, scanner);
// @ts-expect-error: notify takes an Alert
void notifier.notify({ title: 'half an alert' });
// @ts-expect-error: no such event on the Notifier
notifier.on('delivered', () => {});

// A user's own detector is a plain object of the Detector interface.
const mine: Detector = { name: 'mine', inspect: () => [{ rule: 'file.mine', severity: 'warning', reason: 'mine' }] };
// @ts-expect-error: a detector's finding needs a valid severity
const wrong: Detector = { name: 'wrong', inspect: () => [{ rule: 'file.wrong', severity: 'fatal', reason: 'x' }] };
void mine;
void wrong;

// @ts-expect-error: a rule's pattern is a RegExp
defineRule({ id: 'r', description: 'd', severity: 'info', tags: [], pattern: 'Failed password' });
void createAlert;
