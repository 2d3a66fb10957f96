import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createAlert, resolveAlert, type Alert } from '../../src/core/alert.js';
import { DeliveryError, InvalidOptionError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/logger.js';
import type { Notification } from '../../src/notifier/channel.js';
import { AlertmanagerChannel, type AlertmanagerChannelOptions } from '../../src/index.js';
import { sanitizeLabelName, type PostableAlert } from '../../src/fleet/postable-alert.js';
import { runScript } from '../helpers/run-script.js';
import { freePort } from './helpers/engines.js';
import { startStub, type Stub } from './helpers/stub-server.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function alert(overrides: Partial<Alert> = {}): Alert {
  return createAlert({
    source: 'log',
    rule: 'sshd.brute-force',
    severity: 'critical',
    title: 'SSH brute force from 203.0.113.5 (6 failures in 10m)',
    summary: '6 failed logins for root',
    hostname: 'web-1',
    key: 'log:sshd.brute-force:203.0.113.5',
    time: new Date(T0 - 60_000),
    labels: { host: '203.0.113.5', user: 'root' },
    ...overrides,
  });
}

function send(channel: AlertmanagerChannel, alerts: Alert[], signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<unknown> {
  const first = alerts[0];
  assert.ok(first, 'first');
  const notification: Notification = { status: first.status, alerts, groupKey: `${first.source}:${first.rule}` };
  return channel.send(notification, { signal, attempt: 1 });
}

function posted(stub: Stub, index = -1): PostableAlert[] {
  const request = stub.requests.at(index);
  assert.ok(request, 'a request was made');
  return JSON.parse(request.body) as PostableAlert[];
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const noop = (): void => {};
  return { warnings, debug: noop, info: noop, error: noop, warn: (message) => warnings.push(message) };
}

describe('AlertmanagerChannel', () => {
  let a: Stub;
  let b: Stub;
  let now = T0;
  const channels: AlertmanagerChannel[] = [];
  const make = (options: Partial<AlertmanagerChannelOptions> = {}): AlertmanagerChannel => {
    const channel = new AlertmanagerChannel({ urls: [a.url], clock: () => now, ...options });
    channels.push(channel);
    return channel;
  };

  before(async () => {
    [a, b] = await Promise.all([startStub(), startStub()]);
  });
  beforeEach(() => {
    now = T0;
    for (const stub of [a, b]) {
      stub.requests.length = 0;
      stub.respond = (_req, res) => res.writeHead(200).end();
    }
  });
  after(async () => {
    for (const channel of channels) await channel.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('has the Channel shape with defaults', () => {
    const channel = make();
    assert.equal(channel.name, 'alertmanager');
    assert.equal(channel.minSeverity, 'info');
    assert.deepEqual(channel.stats, { firing: 0, resolved: 0, resends: 0, resendFailures: 0 });
  });

  it('posts a firing alert to /api/v2/alerts with labels, annotations and times', async () => {
    const channel = make({ resendInterval: 30_000 });
    const firing = alert({ evidence: ['line 1', 'line 2'] });
    await send(channel, [firing]);
    const request = a.requests[0];
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/api/v2/alerts');
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(posted(a), [
      {
        labels: { host: '203.0.113.5', user: 'root', alertname: 'sshd.brute-force', severity: 'critical', instance: 'web-1', source: 'log' },
        annotations: { title: firing.title, summary: '6 failed logins for root', evidence: 'line 1\nline 2' },
        startsAt: new Date(T0 - 60_000).toISOString(),
        // Valid for four re-send intervals, as Prometheus does.
        endsAt: new Date(T0 + 120_000).toISOString(),
      },
    ]);
    assert.equal(channel.stats.firing, 1);
  });

  it('keeps a path prefix and sends URL credentials as Basic auth, never in errors', async () => {
    const url = new URL(a.url);
    url.username = 'hw';
    url.password = 's3cret pass';
    url.pathname = '/am/';
    const channel = make({ urls: [url.href], headers: { 'x-scope-orgid': 'tenant-1' } });
    await send(channel, [alert()]);
    assert.equal(a.requests[0]?.path, '/am/api/v2/alerts');
    assert.equal(a.requests[0]?.headers.authorization, `Basic ${Buffer.from('hw:s3cret pass').toString('base64')}`);
    assert.equal(a.requests[0]?.headers['x-scope-orgid'], 'tenant-1');

    a.respond = (_req, res) => res.writeHead(401).end('unauthorized');
    await assert.rejects(send(channel, [alert()]), (error: unknown) => {
      assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
      assert.doesNotMatch(error.message, /s3cret|hw:|tenant-1/);
      assert.match(error.message, /\/am\/api\/v2\/alerts: HTTP 401 unauthorized/);
      return true;
    });
  });

  it('sanitizes label names, lets its own labels win, drops empty values and bounds huge ones', async () => {
    const channel = make();
    await send(channel, [
      alert({
        labels: {
          'client-ip': '198.51.100.7',
          client_ip: 'verbatim wins',
          '2fa.method': 'totp',
          instance: 'spoofed',
          severity: 'info',
          empty: '',
          big: 'x'.repeat(5_000),
          '': 'nameless',
        },
      }),
    ]);
    const [sent] = posted(a);
    assert.ok(sent, 'sent');
    assert.equal(sent.labels['client_ip'], 'verbatim wins');
    assert.equal(sent.labels['_2fa_method'], 'totp');
    assert.equal(sent.labels['instance'], 'web-1');
    assert.equal(sent.labels['severity'], 'critical');
    assert.equal('empty' in sent.labels, false);
    assert.ok((sent.labels['big']?.length ?? 0) <= 1025, "(sent.labels['big']?.length ?? 0) <= 1025");
    for (const name of Object.keys(sent.labels)) assert.match(name, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
    assert.equal(sanitizeLabelName(''), undefined);
    assert.equal(sanitizeLabelName('a b/c'), 'a_b_c');
  });

  it('posts a digest as one request, and a resolve with endsAt and the firing startsAt', async () => {
    const channel = make();
    const one = alert();
    const two = alert({ key: 'log:sshd.brute-force:198.51.100.7', labels: { host: '198.51.100.7' } });
    await send(channel, [one, two]);
    assert.equal(posted(a).length, 2);
    assert.equal(channel.stats.firing, 2);

    now = T0 + 10_000;
    const resolved = resolveAlert(one, { time: new Date(T0 + 5_000) });
    await send(channel, [resolved]);
    const [end] = posted(a);
    assert.equal(end?.startsAt, new Date(T0 - 60_000).toISOString());
    assert.equal(end?.endsAt, new Date(T0 + 5_000).toISOString());
    assert.equal(end?.labels['host'], '203.0.113.5');
    assert.equal(end?.annotations['title'], resolved.title);
    assert.deepEqual(channel.stats, { firing: 1, resolved: 1, resends: 0, resendFailures: 0 });
  });

  it('never posts an endsAt in the future or before startsAt', async () => {
    const channel = make();
    const firing = alert({ time: new Date(T0) });
    await send(channel, [firing]);
    // The resolve claims a time ahead of this host's clock: clamped to now.
    await send(channel, [resolveAlert(firing, { time: new Date(T0 + 3_600_000) })]);
    assert.equal(posted(a)[0]?.endsAt, new Date(T0).toISOString());
    // A resolve for an alert this channel never saw, with a time before... itself.
    await send(channel, [resolveAlert(alert({ key: 'other', time: new Date(T0 - 1_000) }), { time: new Date(T0 - 1_000) })]);
    const [orphan] = posted(a);
    assert.equal(orphan?.startsAt, orphan?.endsAt);
  });

  it('ends the old label set when the same key fires with new labels (escalation)', async () => {
    const channel = make();
    await send(channel, [alert({ severity: 'warning' })]);
    now = T0 + 1_000;
    await send(channel, [alert({ severity: 'critical' })]);
    const body = posted(a);
    assert.equal(body.length, 2);
    assert.equal(body[0]?.labels['severity'], 'critical');
    assert.equal(body[1]?.labels['severity'], 'warning');
    assert.equal(body[1]?.endsAt, new Date(T0 + 1_000).toISOString());
    assert.equal(channel.stats.firing, 1);
  });

  it('drops a stale firing retried after its resolve went through, but not a new firing', async () => {
    const channel = make();
    const firing = alert({ time: new Date(T0 - 10_000) });
    await send(channel, [resolveAlert(firing, { time: new Date(T0 - 5_000) })]);
    a.requests.length = 0;
    // The Notifier's retry of the older firing arrives late: nothing is posted or re-sent.
    await send(channel, [firing]);
    assert.equal(a.requests.length, 0);
    assert.equal(channel.stats.firing, 0);
    // The condition comes back later: that is a new firing.
    await send(channel, [alert({ time: new Date(T0 - 1_000) })]);
    assert.equal(posted(a)[0]?.startsAt, new Date(T0 - 1_000).toISOString());
    assert.equal(channel.stats.firing, 1);
  });

  it('reads a time revived as a string (an outbox written by another version)', async () => {
    const channel = make();
    await send(channel, [{ ...alert(), time: new Date(T0 - 2_000).toISOString() as unknown as Date }]);
    assert.equal(posted(a)[0]?.startsAt, new Date(T0 - 2_000).toISOString());
  });

  it('sets generatorURL from a fixed URL or a function, and drops an invalid one', async () => {
    await send(make({ generatorURL: 'https://grafana.example.com/d/host' }), [alert()]);
    assert.equal(posted(a)[0]?.generatorURL, 'https://grafana.example.com/d/host');
    await send(make({ generatorURL: (x) => `https://runbooks.example.com/${x.rule}` }), [alert()]);
    assert.equal(posted(a)[0]?.generatorURL, 'https://runbooks.example.com/sshd.brute-force');
    const logger = recordingLogger();
    await send(make({ generatorURL: () => 'not a url' }), [alert()]);
    assert.equal('generatorURL' in (posted(a)[0] ?? {}), false);
    await send(
      make({
        logger,
        generatorURL: () => {
          throw new Error('boom');
        },
      }),
      [alert()],
    );
    assert.equal('generatorURL' in (posted(a)[0] ?? {}), false);
    assert.equal(logger.warnings.length, 1);
  });

  describe('with several Alertmanagers', () => {
    it('posts to each and succeeds if any accepts', async () => {
      a.respond = (_req, res) => res.writeHead(503).end('"shutting down"');
      const channel = make({ urls: [a.url, b.url] });
      await send(channel, [alert()]);
      assert.equal(a.requests.length, 1);
      assert.equal(b.requests.length, 1);
      assert.equal(channel.stats.firing, 1);
    });

    it('fails retryable when all fail and one failure could pass later', async () => {
      a.respond = (_req, res) => res.writeHead(400).end('"invalid label set"');
      b.respond = (_req, res) => res.writeHead(503).end();
      const channel = make({ urls: [a.url, b.url] });
      await assert.rejects(send(channel, [alert()]), (error: unknown) => {
        assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
        assert.equal(error.retryable, true);
        assert.equal(error.channel, 'alertmanager');
        assert.match(error.message, /All 2 Alertmanagers refused 1 alert\(s\)/);
        assert.match(error.message, /HTTP 400 "invalid label set"/);
        assert.match(error.message, /HTTP 503/);
        return true;
      });
      // Never accepted, so never re-sent on the channel's own schedule.
      assert.equal(channel.stats.firing, 0);
    });

    it('fails permanently when every one answered 4xx', async () => {
      a.respond = (_req, res) => res.writeHead(400).end('"bad"');
      b.respond = (_req, res) => res.writeHead(422).end();
      await assert.rejects(send(make({ urls: [a.url, b.url] }), [alert()]), (error: unknown) => {
        assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
        assert.equal(error.retryable, false);
        assert.equal(error.status, 400);
        return true;
      });
    });

    it('treats 429 as retryable and passes Retry-After on', async () => {
      a.respond = (_req, res) => res.writeHead(429, { 'retry-after': '7' }).end();
      await assert.rejects(send(make(), [alert()]), (error: unknown) => {
        assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
        assert.equal(error.retryable, true);
        assert.equal(error.retryAfterMs, 7_000);
        assert.equal(error.status, 429);
        return true;
      });
    });

    it('treats a refused connection and a silent peer as retryable', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      a.respond = () => {
        // Never answers.
      };
      await assert.rejects(send(make({ urls: [dead, a.url], timeout: 200 }), [alert()]), (error: unknown) => {
        assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
        assert.equal(error.retryable, true);
        assert.match(error.message, /network error \(ECONNREFUSED\)/);
        assert.match(error.message, /no answer within 200 ms/);
        assert.ok(error.cause instanceof AggregateError, 'error.cause instanceof AggregateError');
        return true;
      });
    });

    it('stops when the Notifier aborts the attempt', async () => {
      a.respond = () => {};
      const controller = new AbortController();
      const pending = send(make(), [alert()], controller.signal);
      await a.waitFor(1);
      controller.abort();
      await assert.rejects(pending, (error: unknown) => error instanceof DeliveryError && error.retryable && /aborted/.test(error.message));
    });
  });

  describe('re-sending', () => {
    it('re-posts firing alerts with a fresh endsAt, and resolved ones within the retention', async () => {
      const channel = make({ resendInterval: 10_000, resolvedRetention: 60_000 });
      const kept = alert();
      const gone = alert({ key: 'k2', labels: { host: '198.51.100.7' } });
      await send(channel, [kept, gone]);
      await send(channel, [resolveAlert(gone, { time: new Date(T0) })]);
      a.requests.length = 0;

      now = T0 + 10_000;
      await channel.resend();
      const body = posted(a);
      assert.equal(body.length, 2);
      assert.equal(body[0]?.labels['host'], '203.0.113.5');
      assert.equal(body[0]?.endsAt, new Date(T0 + 50_000).toISOString());
      assert.equal(body[1]?.labels['host'], '198.51.100.7');
      assert.equal(body[1]?.endsAt, new Date(T0).toISOString());
      assert.equal(channel.stats.resends, 1);

      // Past the retention the resolved one is no longer re-posted.
      now = T0 + 61_000;
      await channel.resend();
      assert.deepEqual(
        posted(a).map((x) => x.labels['host']),
        ['203.0.113.5'],
      );
      assert.equal(channel.stats.resolved, 0);
    });

    it('counts a failed round, reports it to the logger, and keeps the alerts for the next', async () => {
      const logger = recordingLogger();
      const channel = make({ logger });
      await send(channel, [alert()]);
      a.respond = (_req, res) => res.writeHead(500).end();
      await channel.resend();
      assert.equal(channel.stats.resendFailures, 1);
      assert.equal(channel.stats.firing, 1);
      assert.match(logger.warnings[0] ?? '', /re-sending 1 alerts failed/);
      a.respond = (_req, res) => res.writeHead(200).end();
      await channel.resend();
      assert.equal(channel.stats.resends, 1);
    });

    it('re-posts on its own timer from open() until close()', async () => {
      const channel = make({ resendInterval: 20, clock: () => Date.now() });
      await send(channel, [alert()]);
      await channel.open();
      await a.waitFor(4);
      await channel.close();
      const count = a.requests.length;
      // A re-send that must not happen has no signal to wait for: the pause (five resendIntervals) is what is tested.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(a.requests.length, count, 'no re-send after close()');
      // The round in flight at close() is aborted, not counted.
      assert.ok(channel.stats.resends >= 2, `resends: ${channel.stats.resends}`);
      // A Notifier restarted with the same channel opens it again.
      await channel.open();
      await channel.open();
      await a.waitFor(count + 2);
      await channel.close();
    });

    it('stops re-posting an alert nobody fired again within maxFiringAge', async () => {
      const channel = make({ maxFiringAge: 60_000 });
      await send(channel, [alert({ key: 'old', labels: { host: 'old' } })]);
      now = T0 + 30_000;
      await send(channel, [alert({ key: 'new', labels: { host: 'new' } })]);
      now = T0 + 61_000;
      await channel.resend();
      assert.deepEqual(
        posted(a).map((x) => x.labels['host']),
        ['new'],
      );
      assert.equal(channel.stats.firing, 1);
      // Firing again restarts its time.
      await send(channel, [alert({ key: 'new', labels: { host: 'new' } })]);
      now = T0 + 120_000;
      await channel.resend();
      assert.deepEqual(
        posted(a).map((x) => x.labels['host']),
        ['new'],
      );
    });

    it('re-sends many alerts in batches of 500', async () => {
      const channel = make();
      const many = Array.from({ length: 1_200 }, (_, i) => alert({ key: `k${i}`, labels: { host: `10.0.${i >> 8}.${i & 255}` } }));
      await send(channel, many);
      a.requests.length = 0;
      await channel.resend();
      assert.deepEqual(
        a.requests.map((r) => (JSON.parse(r.body) as unknown[]).length),
        [500, 500, 200],
      );
    });

    it('remembers a bounded number of firing alerts, oldest forgotten first', async () => {
      const logger = recordingLogger();
      const channel = make({ maxAlerts: 2, logger });
      for (const host of ['a', 'b', 'c']) await send(channel, [alert({ key: host, labels: { host } })]);
      assert.equal(channel.stats.firing, 2);
      await channel.resend();
      assert.deepEqual(
        posted(a).map((x) => x.labels['host']),
        ['b', 'c'],
      );
      assert.equal(logger.warnings.length, 1);
    });

    it('does not hold the process open', async () => {
      const result = await runScript(new URL('./fixtures/open-channel.ts', import.meta.url), [a.url]);
      assert.equal(result.timedOut, false, result.stderr);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /opened/);
    });
  });

  it('validates its options, naming the option and hiding passwords', () => {
    const bad: [Partial<AlertmanagerChannelOptions>, string][] = [
      [{ urls: [] }, 'urls'],
      [{ urls: ['ftp://example.com'] }, 'urls[0]'],
      [{ urls: ['not a url'] }, 'urls[0]'],
      [{ urls: [a.url], resendInterval: 0 }, 'resendInterval'],
      [{ urls: [a.url], timeout: Number.NaN }, 'timeout'],
      [{ urls: [a.url], minSeverity: 'fatal' as never }, 'minSeverity'],
      [{ urls: [a.url], generatorURL: 'relative/path' }, 'generatorURL'],
      [{ urls: [a.url], maxAlerts: 0 }, 'maxAlerts'],
      [{ urls: [a.url], maxFiringAge: -5 }, 'maxFiringAge'],
      [{ urls: [a.url], headers: { authorization: 1 as never } }, 'headers'],
      [{ urls: [a.url], headers: { authorization: 'Bearer x\r\nX-Evil: 1' } }, 'headers'],
      [{ urls: [a.url], name: '' }, 'name'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => new AlertmanagerChannel(options as AlertmanagerChannelOptions),
        (error: unknown) => error instanceof InvalidOptionError && error.option === option,
        option,
      );
    }
    assert.throws(
      () => new AlertmanagerChannel({ urls: ['gopher://admin:hunter2@example.com'] }),
      (error: unknown) => error instanceof InvalidOptionError && !error.message.includes('hunter2'),
    );
    assert.equal(new AlertmanagerChannel({ urls: a.url }).name, 'alertmanager');
  });
});
