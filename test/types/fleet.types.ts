// Type tests for the fleet part: checked by `tsc --noEmit` (npm test), never run.
import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import {
  AlertmanagerChannel,
  Component,
  HostwardenMetrics,
  metricsHandler,
  serveMetrics,
  type Alert,
  type BaseEvents,
  type Channel,
  type MetricsRequestHandler,
} from '../../src/index.js';

interface WatcherEvents extends BaseEvents {
  /** A match. */
  match: [match: { rule: { id: string }; line: string }];
  /** An alert. */
  alert: [alert: Alert];
}
class Watcher extends Component<WatcherEvents> {
  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}
  get stats() {
    return { linesRead: 1, bytesRead: 2, matches: 3, filesFollowed: 4 };
  }
}

// Typed hostwarden components, Node emitters and named components are all observable.
const metrics = new HostwardenMetrics({ registry: new Registry() }).observe(new Watcher(), new EventEmitter(), {
  component: new Watcher(),
  name: 'nginx',
});
// @ts-expect-error: a plain object is not a component
metrics.observe({ stats: {} });
// @ts-expect-error: the prefix is a string
new HostwardenMetrics({ prefix: 1 });

// The channel fits the Notifier's Channel contract.
const channel: Channel = new AlertmanagerChannel({ urls: ['http://127.0.0.1:9093'] });
void channel;
// @ts-expect-error: urls is required
new AlertmanagerChannel({});
// @ts-expect-error: severities are the three known ones
new AlertmanagerChannel({ urls: 'http://127.0.0.1:9093', minSeverity: 'page' });
new AlertmanagerChannel({ urls: 'http://127.0.0.1:9093', generatorURL: (alert) => `https://runbooks.example.com/${alert.rule}` });

const handler: MetricsRequestHandler = metricsHandler(new Registry());
void handler;
// @ts-expect-error: port is required
void serveMetrics({ registry: new Registry() });
async function dispose(): Promise<void> {
  await using exporter = await serveMetrics({ registry: new Registry(), port: 0 });
  const url: string = exporter.url;
  void url;
}
void dispose;
