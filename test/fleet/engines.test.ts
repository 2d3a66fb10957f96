/**
 * hostwarden against the real engines: Debian's prometheus-alertmanager and prometheus,
 * started here on 127.0.0.1 with temp config and data dirs, and always stopped.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createAlert, resolveAlert, type Alert } from '../../src/core/alert.js';
import { DeliveryError } from '../../src/core/errors.js';
import type { Notification } from '../../src/notifier/channel.js';
import { AlertmanagerChannel, HostwardenMetrics, LogWatcher, ResourceMonitor, serveMetrics, type LogRule, type MetricsServer } from '../../src/index.js';
import { skipUnlessPeers } from '../helpers/peers.js';
import { reading, ScriptedSource } from '../resource/helpers.js';
import { eventually, freePort, getJson, postJson, startAlertmanager, startPrometheus, type Engine } from './helpers/engines.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string; silencedBy: string[] };
}
interface AmGroup {
  labels: Record<string, string>;
  alerts: AmAlert[];
}
interface WebhookPayload {
  status: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

function notification(alerts: Alert[]): Notification {
  const first = alerts[0];
  assert.ok(first, 'first');
  return { status: first.status, alerts, groupKey: `${first.source}:${first.rule}` };
}

function send(channel: AlertmanagerChannel, ...alerts: Alert[]): Promise<unknown> {
  return channel.send(notification(alerts), { signal: AbortSignal.timeout(10_000), attempt: 1 });
}

function hostAlert(hostname: string, rule: string, extra: Partial<Alert> = {}): Alert {
  return createAlert({
    source: 'log',
    rule,
    severity: 'critical',
    title: `SSH brute force against ${hostname} from 203.0.113.5`,
    summary: '6 failures in 10m',
    hostname,
    key: `log:${rule}:203.0.113.5`,
    labels: { host: '203.0.113.5', 'client-user': 'root' },
    evidence: ['Failed password for root from 203.0.113.5 port 22 ssh2'],
    ...extra,
  });
}

describe('with a real Alertmanager', { skip: skipUnlessPeers(['alertmanager']) }, () => {
  let am: Engine;
  let receiver: Server;
  const received: WebhookPayload[] = [];
  const channels: AlertmanagerChannel[] = [];
  const channelFor = (hostname: string, extra: Partial<ConstructorParameters<typeof AlertmanagerChannel>[0]> = {}): AlertmanagerChannel => {
    const channel = new AlertmanagerChannel({ urls: [am.url], name: `am-${hostname}`, resendInterval: 60_000, ...extra });
    channels.push(channel);
    return channel;
  };
  const alertsOf = async (alertname: string): Promise<AmAlert[]> => await getJson<AmAlert[]>(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);

  before(async () => {
    // The webhook receiver Alertmanager itself calls.
    receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        try {
          received.push(JSON.parse(body) as WebhookPayload);
        } catch {
          // Not for us.
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookPort = (receiver.address() as AddressInfo).port;
    // Short waits so a notification follows a post within about a second.
    am = await startAlertmanager(`
route:
  receiver: hook
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
inhibit_rules:
  - source_matchers: ['alertname="disk.space"']
    target_matchers: ['alertname="disk.inodes"']
    equal: ['instance', 'mount']
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:${hookPort}/hook
        send_resolved: true
`);
  });

  after(async () => {
    for (const channel of channels) await channel.close();
    await am?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  it('alerts from two hosts reach Alertmanager with the documented labels, in one group', async () => {
    const web1 = channelFor('web-1', { generatorURL: 'https://runbooks.example.com/ssh' });
    const web2 = channelFor('web-2');
    const a1 = hostAlert('web-1', 'sshd.brute-force');
    const a2 = hostAlert('web-2', 'sshd.brute-force');
    await send(web1, a1);
    await send(web2, a2);

    const alerts = await eventually('both alerts', async () => {
      const list = await alertsOf('sshd.brute-force');
      return list.length === 2 ? list : undefined;
    });
    const byHost = new Map(alerts.map((a) => [a.labels['instance'], a]));
    const one = byHost.get('web-1');
    assert.ok(one, 'web-1 alert present');
    assert.ok(byHost.get('web-2'), 'web-2 alert present');
    assert.deepEqual(one.labels, {
      alertname: 'sshd.brute-force',
      severity: 'critical',
      instance: 'web-1',
      source: 'log',
      host: '203.0.113.5',
      client_user: 'root',
    });
    assert.equal(one.annotations['title'], a1.title);
    assert.equal(one.annotations['summary'], '6 failures in 10m');
    assert.equal(one.annotations['evidence'], 'Failed password for root from 203.0.113.5 port 22 ssh2');
    assert.equal(Date.parse(one.startsAt), a1.time.getTime());
    assert.equal(one.generatorURL, 'https://runbooks.example.com/ssh');
    assert.equal(one.status.state, 'active');

    const groups = await getJson<AmGroup[]>(`${am.url}/api/v2/alerts/groups`);
    const group = groups.find((g) => g.labels['alertname'] === 'sshd.brute-force');
    assert.ok(group, 'a group for the rule');
    assert.deepEqual(group.alerts.map((a) => a.labels['instance']).sort(), ['web-1', 'web-2']);

    // Alertmanager itself notified the receiver once, for the group with both hosts.
    const payload = await eventually('the webhook notification', async () => received.find((p) => p.groupLabels['alertname'] === 'sshd.brute-force' && p.alerts.length === 2));
    assert.equal(payload.status, 'firing');
  });

  it('a resolve ends the alert in Alertmanager, and the receiver hears it resolved', async () => {
    const web1 = channelFor('web-1');
    const firing = hostAlert('web-1', 'sshd.resolve-test');
    await send(web1, firing);
    await eventually('the firing alert', async () => ((await alertsOf('sshd.resolve-test')).length === 1 ? true : undefined));
    // Alertmanager announces a resolve only for what it announced firing.
    await eventually('the firing webhook notification', async () => received.find((p) => p.groupLabels['alertname'] === 'sshd.resolve-test' && p.status === 'firing'));

    const resolved = resolveAlert(firing, { time: new Date() });
    await send(web1, resolved);
    await eventually('the alert to be gone from the active list', async () => ((await alertsOf('sshd.resolve-test')).length === 0 ? true : undefined));
    const payload = await eventually('the resolved webhook notification', async () =>
      received.find((p) => p.groupLabels['alertname'] === 'sshd.resolve-test' && p.status === 'resolved'),
    );
    assert.equal(payload.alerts[0]?.labels['instance'], 'web-1');
    assert.equal(web1.stats.firing, 0);
  });

  it('a silence created through the API keeps the silenced host from the receiver', async () => {
    const silence = await postJson<{ silenceID: string }>(`${am.url}/api/v2/silences`, {
      matchers: [
        { name: 'alertname', value: 'cpu.high', isRegex: false, isEqual: true },
        { name: 'instance', value: 'db-2', isRegex: false, isEqual: true },
      ],
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'hostwarden tests',
      comment: 'maintenance on db-2',
    });
    assert.ok(silence.silenceID, 'silence.silenceID');

    const cpu = (hostname: string): Alert => createAlert({ source: 'resource', rule: 'cpu.high', severity: 'warning', title: `CPU 97 % on ${hostname}`, hostname });
    // The silenced host first: had the silence not held, it would be in the same group
    // notification as the other one, which Alertmanager sends after group_wait.
    await send(channelFor('db-2'), cpu('db-2'));
    await send(channelFor('db-1'), cpu('db-1'));

    const payload = await eventually('the cpu.high notification', async () => received.find((p) => p.groupLabels['alertname'] === 'cpu.high'));
    assert.deepEqual(
      payload.alerts.map((a) => a.labels['instance']),
      ['db-1'],
    );

    const alerts = await alertsOf('cpu.high');
    const silenced = alerts.find((a) => a.labels['instance'] === 'db-2');
    assert.equal(silenced?.status.state, 'suppressed');
    assert.deepEqual(silenced?.status.silencedBy, [silence.silenceID]);
    // A further group interval, observed rather than slept through: a third host joins the
    // group, and Alertmanager's next notification of it (db-1 and db-3) still leaves db-2 out.
    await send(channelFor('db-3'), cpu('db-3'));
    await eventually('the next cpu.high notification, naming db-3', async () =>
      received.find((p) => p.groupLabels['alertname'] === 'cpu.high' && p.alerts.some((a) => a.labels['instance'] === 'db-3')),
    );
    const everything = received.filter((p) => p.groupLabels['alertname'] === 'cpu.high').flatMap((p) => p.alerts);
    assert.ok(everything.length > 0, 'everything.length > 0');
    assert.ok(
      everything.every((a) => a.labels['instance'] === 'db-1' || a.labels['instance'] === 'db-3'),
      'the receiver never heard of db-2',
    );
  });

  it("Alertmanager's inhibition applies across labels from hostwarden", async () => {
    const disk = (rule: string, hostname: string, mount: string): Alert =>
      createAlert({ source: 'resource', rule, severity: 'warning', title: `${rule} on ${mount}`, hostname, key: `resource:${rule}:${mount}`, labels: { mount } });
    const channel = channelFor('fs-1');
    await send(channel, disk('disk.space', 'fs-1', '/var'), disk('disk.inodes', 'fs-1', '/var'), disk('disk.inodes', 'fs-1', '/home'));
    const inodes = await eventually('inhibition to be computed', async () => {
      const list = await alertsOf('disk.inodes');
      return list.length === 2 && list.some((a) => a.status.state === 'suppressed') ? list : undefined;
    });
    const byMount = new Map(inodes.map((a) => [a.labels['mount'], a.status.state]));
    // Same instance and mount as the disk.space alert: inhibited; another mount: not.
    assert.equal(byMount.get('/var'), 'suppressed');
    assert.equal(byMount.get('/home'), 'active');
  });

  it('re-posts firing alerts while open, and lets them expire once this host stops', async () => {
    const channel = channelFor('web-9', { resendInterval: 300 });
    await channel.open();
    await send(channel, hostAlert('web-9', 'sshd.resend-test'));
    const [first] = await eventually('the alert', async () => {
      const list = await alertsOf('sshd.resend-test');
      return list.length === 1 ? list : undefined;
    });
    assert.ok(first, 'first');
    // endsAt is four intervals ahead and moves forward with every re-send.
    await eventually('endsAt to move forward', async () => {
      const [now] = await alertsOf('sshd.resend-test');
      return now && Date.parse(now.endsAt) > Date.parse(first.endsAt) ? true : undefined;
    });
    assert.ok(channel.stats.resends >= 1, 'channel.stats.resends >= 1');
    await channel.close();
    // With nobody re-posting, Alertmanager resolves it by itself after endsAt.
    await eventually('the alert to expire', async () => ((await alertsOf('sshd.resend-test')).length === 0 ? true : undefined), 20_000);
  });

  it('with an HA pair of which one is down, succeeds through the other', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const channel = channelFor('web-3', { urls: [dead, am.url], timeout: 2_000 });
    await send(channel, hostAlert('web-3', 'sshd.ha-test'));
    await eventually('the alert', async () => ((await alertsOf('sshd.ha-test')).length === 1 ? true : undefined));

    const alone = channelFor('web-3', { urls: [dead], timeout: 2_000 });
    await assert.rejects(send(alone, hostAlert('web-3', 'sshd.ha-test')), (error: unknown) => {
      assert.ok(error instanceof DeliveryError, 'error instanceof DeliveryError');
      assert.equal(error.retryable, true);
      assert.match(error.message, /network error/);
      return true;
    });
  });
});

describe('with a real Prometheus', { skip: skipUnlessPeers(['prometheus']) }, () => {
  let prometheus: Engine | undefined;
  let exporter: MetricsServer | undefined;
  let metrics: HostwardenMetrics | undefined;

  after(async () => {
    metrics?.close();
    await exporter?.close();
    await prometheus?.stop();
  });

  it('scrapes the exporter, and PromQL returns the expected series', async () => {
    // The real classes: a LogWatcher following a real file with its own rule, and a
    // ResourceMonitor fed by an injected sample source.
    const log = join(await mkdtemp(join(tmpdir(), 'hostwarden-engines-')), 'auth.log');
    await writeFile(log, '');
    const rule: LogRule = { id: 'sshd.auth-failure', description: 'a failed password', severity: 'warning', tags: ['auth-failure'], pattern: /Failed password (?<n>\d+)/ };
    const watcher = new LogWatcher({ files: [log], rules: [rule], startAt: 'beginning' });
    watcher.on('error', (e) => assert.fail(e));
    const source = new ScriptedSource();
    source.reading = reading({ cpu: 12.5, memory: 40, disks: { '/': 91, '/var': 35 } });
    const monitor = new ResourceMonitor({ source, rules: [] });
    const registry = new Registry();
    metrics = new HostwardenMetrics({ registry }).observe(watcher, monitor);
    await watcher.start();
    await monitor.start();
    await monitor.sample();
    const matched = (n: number): Promise<void> =>
      new Promise((resolve) => {
        let seen = 0;
        const onMatch = (): void => {
          if (++seen < n) return;
          watcher.off('match', onMatch);
          resolve();
        };
        watcher.on('match', onMatch);
      });
    const three = matched(3);
    await appendFile(log, [0, 1, 2].map((i) => `Mar  3 00:17:2${i} web-1 sshd[90${i}]: Failed password ${i}\n`).join(''));
    await three;
    watcher.emit('alert', hostAlert('web-1', 'sshd.brute-force'));
    after(() => Promise.all([watcher.stop(), monitor.stop()]));

    exporter = await serveMetrics({ registry, port: 0 });
    const target = new URL(exporter.url).host;
    prometheus = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hostwarden
    static_configs:
      - targets: ['${target}']
`);
    const query = async (promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const answer = await getJson<{ status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }>(
        `${prometheus?.url}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      assert.equal(answer.status, 'success');
      return answer.data.result;
    };

    const up = await eventually('a successful scrape', async () => {
      const result = await query('up{job="hostwarden"}');
      return result[0]?.value[1] === '1' ? result : undefined;
    });
    assert.equal(up[0]?.metric['instance'], target);

    const matches = await eventually('the matches series', async () => {
      const result = await query('hostwarden_log_matches_total{job="hostwarden"}');
      return result.length > 0 ? result : undefined;
    });
    assert.equal(matches.length, 1);
    assert.equal(matches[0]?.metric['rule'], 'sshd.auth-failure');
    assert.equal(matches[0]?.value[1], '3');

    const lines = await query('sum by (component) (hostwarden_log_lines_read_total)');
    assert.deepEqual(
      lines.map((r) => [r.metric['component'], r.value[1]]),
      [['LogWatcher', '3']],
    );
    const health = await query('hostwarden_health{state="ok"} == 1');
    assert.deepEqual(health.map((r) => r.metric['component']).sort(), ['LogWatcher', 'ResourceMonitor']);
    const alerts = await query('hostwarden_alerts_total{rule="sshd.brute-force",status="firing",severity="critical",source="log"}');
    assert.equal(alerts[0]?.value[1], '1');

    const full = await query('hostwarden_resource_disk_used_percent > 90');
    assert.deepEqual(
      full.map((r) => [r.metric['mount'], r.metric['fstype'], r.value[1]]),
      [['/', 'ext4', '91']],
    );

    // A later line reaches Prometheus on the next scrape.
    const fourth = matched(1);
    await appendFile(log, 'Mar  3 00:17:23 web-1 sshd[903]: Failed password 3\n');
    await fourth;
    await eventually('the next scrape', async () => {
      const result = await query('hostwarden_log_matches_total{rule="sshd.auth-failure"}');
      return result[0]?.value[1] === '4' ? true : undefined;
    });
  });
});
