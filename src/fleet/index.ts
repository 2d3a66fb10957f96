export { AlertmanagerChannel, type AlertmanagerChannelOptions, type AlertmanagerChannelStats } from './alertmanager-channel.js';
export { HostwardenMetrics, createMetrics, type HostwardenMetricsOptions } from './metrics.js';
export type { EventListenerLike, NamedComponent, ObservableComponent } from './observed.js';
export { metricsHandler, serveMetrics, type MetricsRegistry, type MetricsRequestHandler, type MetricsServer, type ServeMetricsOptions } from './serve-metrics.js';
