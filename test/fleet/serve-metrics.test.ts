import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { InvalidOptionError, IoError } from '../../src/core/errors.js';
import { metricsHandler, serveMetrics, type MetricsRegistry } from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';

function registryWithCounter(): Registry {
  const registry = new Registry();
  new Counter({ name: 'demo_total', help: 'A demo counter.', registers: [registry] }).inc(3);
  return registry;
}

describe('serveMetrics', () => {
  it('serves the registry on 127.0.0.1 at /metrics with its content type', async () => {
    await using exporter = await serveMetrics({ registry: registryWithCounter(), port: 0 });
    assert.match(exporter.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.equal((exporter.server.address() as AddressInfo).address, '127.0.0.1');
    const res = await fetch(exporter.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), Registry.PROMETHEUS_CONTENT_TYPE);
    assert.match(await res.text(), /^demo_total 3$/m);
  });

  it('answers HEAD without a body, 405 to other methods, 404 elsewhere', async () => {
    await using exporter = await serveMetrics({ registry: registryWithCounter(), port: 0, path: '/custom' });
    const head = await fetch(exporter.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(exporter.url, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
    const other = await fetch(new URL('/metrics', exporter.url));
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const query = await fetch(`${exporter.url}?x=1`);
    assert.equal(query.status, 200);
    await query.body?.cancel();
  });

  it('serves OpenMetrics when the registry is of that type', async () => {
    const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    await using exporter = await serveMetrics({ registry, port: 0 });
    const res = await fetch(exporter.url);
    assert.equal(res.headers.get('content-type'), Registry.OPENMETRICS_CONTENT_TYPE);
    assert.match(await res.text(), /# EOF/);
  });

  it('gives a bare 500 when collecting fails, without the reason', async () => {
    const registry: MetricsRegistry = {
      contentType: 'text/plain',
      metrics: () => Promise.reject(new Error('secret internal detail')),
    };
    await using exporter = await serveMetrics({ registry, port: 0 });
    const res = await fetch(exporter.url);
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /secret/);
  });

  it('closes promptly although a scraper keeps its connection alive', async () => {
    const exporter = await serveMetrics({ registry: registryWithCounter(), port: 0 });
    // A keep-alive request, as Prometheus makes, left open.
    await new Promise<void>((resolve, reject) => {
      const req = request(exporter.url, { agent: new Agent({ keepAlive: true }) }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    await exporter.close();
    await exporter.close();
    assert.equal(exporter.server.listening, false);
  });

  it('reports a port in use as an IoError', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await assert.rejects(serveMetrics({ registry: registryWithCounter(), port }), (error: unknown) => {
        assert.ok(error instanceof IoError, 'an IoError');
        assert.equal(error.errno, 'EADDRINUSE');
        assert.match(error.message, /EADDRINUSE/);
        return true;
      });
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('validates its options', async () => {
    const registry = registryWithCounter();
    const bad: [Record<string, unknown>, string][] = [
      [{ registry, port: -1 }, 'port'],
      [{ registry, port: 70_000 }, 'port'],
      [{ registry, port: 1.5 }, 'port'],
      [{ registry, port: 0, host: '' }, 'host'],
      [{ registry, port: 0, path: 'metrics' }, 'path'],
      [{ registry: {}, port: 0 }, 'registry'],
      [{ registry, port: 0, persistent: 'yes' }, 'persistent'],
      [{ registry, port: 0, hots: '127.0.0.1' }, 'hots'], // a typo: refused with "did you mean `host`"
    ];
    for (const [options, option] of bad) {
      await assert.rejects(serveMetrics(options as never), (error: unknown) => error instanceof InvalidOptionError && error.option === option, option);
    }
  });

  it('does not hold the process open unless persistent', async () => {
    const fixture = new URL('./fixtures/serve-forever.ts', import.meta.url);
    const free = await runScript(fixture, ['false']);
    assert.equal(free.timedOut, false, free.stderr);
    assert.equal(free.code, 0, free.stderr);
    assert.match(free.stdout, /serving http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const held = await runScript(fixture, ['true'], 1_500);
    assert.equal(held.timedOut, true, 'a persistent exporter keeps the process alive');
  });
});

describe('metricsHandler', () => {
  it("mounts on a service's own server", async () => {
    const handle = metricsHandler(registryWithCounter());
    const server = createServer((req, res) => {
      if (req.url === '/internal/metrics') handle(req, res);
      else res.writeHead(200).end('app');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/internal/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /demo_total 3/);
      assert.equal(await (await fetch(`${base}/`)).text(), 'app');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('rejects something that is not a registry', () => {
    assert.throws(() => metricsHandler({} as MetricsRegistry), InvalidOptionError);
  });
});
