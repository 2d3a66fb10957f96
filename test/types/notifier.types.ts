// Type tests for the Notifier: checked by `tsc --noEmit` (npm test), never run.
import { EventEmitter } from 'node:events';
import { HostwardenEmitter, LogChannel, Notifier, SlackChannel, silentLogger, type Alert, type BaseEvents, type Channel, type NotifierStats } from '../../src/index.js';

const log = new LogChannel({ logger: silentLogger });
const notifier = new Notifier({ channels: [log], outbox: { directory: '/tmp/x' }, groupWait: 1000 });

notifier.on('sent', ({ channel, notification, attempt }) => `${channel} ${notification.alerts.length} ${attempt}`);
notifier.on('suppressed', ({ reason }) => {
  const r: 'duplicate' | 'severity' | 'route' | 'rate-limit' = reason;
  return r;
});
notifier.on('failed', ({ error, permanent }) => (permanent ? error.retryable : error.status));
// @ts-expect-error: no such event
notifier.on('delivered', () => {});
// @ts-expect-error: suppressed payload has no `error`
notifier.on('suppressed', ({ error }) => error);

const stats: NotifierStats = notifier.stats;
// @ts-expect-error: stats are read-only
stats.sent = 3;

// Typed emitters and Node emitters both attach.
interface SourceEvents extends BaseEvents {
  /** An alert. */
  alert: [alert: Alert];
}
notifier.attach(new HostwardenEmitter<SourceEvents>(), new EventEmitter());

// @ts-expect-error: channels are required
new Notifier({});
// @ts-expect-error: outbox needs a directory
new Notifier({ channels: [log], outbox: {} });
// @ts-expect-error: minSeverity is a Severity
new SlackChannel({ token: 't', channel: 'c', minSeverity: 'fatal' });

const custom: Channel = { name: 'x', minSeverity: 'info', send: async () => ({ ref: 'r' }) };
// @ts-expect-error: send must return a promise
const bad: Channel = { name: 'x', minSeverity: 'info', send: () => 1 };
void custom;
void bad;
