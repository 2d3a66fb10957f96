import { schedule } from '../core/clock.js';
import { rejectUnknownKeys } from '../core/options.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidOptionError, IoError } from '../core/errors.js';
import { expectBoolean, expectNumber, expectString } from '../core/validate.js';

/**
 * What the exporter needs from a registry: a prom-client `Registry` (either content
 * type) or anything else that renders the exposition format.
 */
export interface MetricsRegistry {
  /** The `Content-Type` of what {@link MetricsRegistry.metrics} returns. */
  readonly contentType: string;
  /** Renders every metric in the exposition format. */
  metrics(): Promise<string>;
}

/** A `node:http` request handler, as returned by {@link metricsHandler}. */
export type MetricsRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A `(req, res)` handler that answers with the registry's metrics, for mounting on a
 * service's own `node:http` server (or Express, Fastify's `raw`…). It answers `GET`
 * and `HEAD` with the registry's content type and `405` to anything else; routing
 * (which path) is left to the server. A registry that throws gives a `500` with no
 * details, which Prometheus records as a failed scrape (`up == 0`).
 *
 * @example
 * const metrics = metricsHandler(registry);
 * createServer((req, res) => {
 *   if (req.url === '/metrics') return metrics(req, res);
 *   // … the service's own routes
 * }).listen(8080);
 */
export function metricsHandler(registry: MetricsRegistry): MetricsRequestHandler {
  if (typeof registry !== 'object' || registry === null || typeof registry.metrics !== 'function') {
    throw new InvalidOptionError('registry', registry, 'a prom-client Registry');
  }
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        if (res.destroyed) return;
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        // The reason may name internals; the scraper only needs to know it failed.
        if (res.destroyed || res.headersSent) return;
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Collecting metrics failed\n');
      },
    );
  };
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** The registry to expose, e.g. the one given to {@link HostwardenMetrics}. */
  readonly registry: MetricsRegistry;
  /** The TCP port; `0` picks a free one (read it from {@link MetricsServer.url}). */
  readonly port: number;
  /**
   * The address to listen on. Metrics reveal what a host is defending against, so the
   * default is loopback; give `'0.0.0.0'` or an internal address for a remote Prometheus.
   * @defaultValue `'127.0.0.1'`
   */
  readonly host?: string;
  /**
   * The path that serves the metrics; every other path answers `404`.
   * @defaultValue `'/metrics'`
   */
  readonly path?: string;
  /**
   * Keep the process alive while serving. By default the server is `unref()`ed, like
   * every hostwarden timer: the exporter serves while the application runs but never
   * holds a finished process open.
   * @defaultValue `false`
   */
  readonly persistent?: boolean;
}

/** A running exporter, as returned by {@link serveMetrics}. */
export interface MetricsServer extends AsyncDisposable {
  /** Where Prometheus scrapes it, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  /** The underlying server, e.g. to `ref()` it after all. */
  readonly server: Server;
  /** Stops listening, ends idle keep-alive connections, and resolves when closed. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a tiny HTTP exporter for a registry, on 127.0.0.1 unless told otherwise.
 * Opt-in: services with their own HTTP server mount {@link metricsHandler} instead.
 *
 * @throws {@link IoError} when the port cannot be bound (in use, not permitted).
 * @example
 * const registry = new Registry();
 * new HostwardenMetrics({ registry }).observe(watcher, monitor, notifier);
 * await using exporter = await serveMetrics({ registry, port: 9464 });
 * console.log(`scrape ${exporter.url}`);
 */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('serveMetrics', options, ['registry', 'port', 'host', 'path', 'persistent']);
  const port = expectNumber('port', options.port, { min: 0, max: 65_535, integer: true });
  const host = expectString('host', options.host ?? '127.0.0.1');
  const path = expectString('path', options.path ?? '/metrics');
  if (!path.startsWith('/')) throw new InvalidOptionError('path', path, "a path starting with '/'");
  const persistent = expectBoolean('persistent', options.persistent ?? false);
  const handle = metricsHandler(options.registry);

  const server = createServer((req, res) => {
    const requestPath = (req.url ?? '/').split('?', 1)[0];
    if (requestPath !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    handle(req, res);
  });
  // Scrapes are small and frequent; a stuck client must not hold a socket for ever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(new IoError(`Cannot serve metrics on ${host}:${port}: ${error.code ?? error.message}`, { cause: error, syscall: 'listen' }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  if (!persistent) server.unref();

  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Prometheus keeps its scrape connection alive; without this close() would wait for it.
      server.closeIdleConnections();
      const cancelForce = schedule(() => server.closeAllConnections(), 1_000);
      server.once('close', cancelForce);
    });
    return closing;
  };
  return {
    url: `http://${urlHost}:${address.port}${path}`,
    port: address.port,
    server,
    close,
    [Symbol.asyncDispose]: close,
  };
}
