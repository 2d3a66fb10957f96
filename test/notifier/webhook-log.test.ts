import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DeliveryError,
  SlackChannel,
  silentLogger,
  closeLogger,
  createLogger,
  LogChannel,
  Notifier,
  WebhookChannel,
  createAlert,
  signWebhook,
  verifyWebhookSignature,
  type Alert,
  type Notification,
  type WebhookPayload,
} from '../../src/index.js';
import { escapeHtml, escapeSlack, safeText } from '../../src/core/text.js';

const oneLine = (text: string): string => safeText(text, { singleLine: true });
const truncate = (text: string, max: number): string => safeText(text, { max });
import { dump, recordingLogger, refusedPort } from './helpers.js';

const SECRET = 'whsec_VERY-SECRET-hmac-key-31337';
const URL_TOKEN = 'querytoken-SECRET-777';
const signal = new AbortController().signal;

function note(alerts: Alert[]): Notification {
  return { status: 'firing', alerts, groupKey: 'log:sshd.brute-force' };
}

interface Hook {
  server: Server;
  url: string;
  received: { payload: WebhookPayload; verified: boolean }[];
  replies: { status: number; headers?: Record<string, string>; delay?: number }[];
}

async function startHook(): Promise<Hook> {
  const hook: Hook = { server: createServer(), url: '', received: [], replies: [] };
  hook.server.on('request', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const header = (name: string): string | undefined => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const verified = verifyWebhookSignature({ secret: SECRET, body, signature: header('x-hostwarden-signature'), timestamp: header('x-hostwarden-timestamp') });
      hook.received.push({ payload: JSON.parse(body) as WebhookPayload, verified });
      const reply = hook.replies.shift() ?? { status: 204 };
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(reply.status, reply.headers ?? {});
        res.end();
      };
      if (reply.delay) setTimeout(send, reply.delay).unref();
      else send();
    });
  });
  hook.server.listen(0, '127.0.0.1');
  await once(hook.server, 'listening');
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook?token=${URL_TOKEN}`;
  return hook;
}

describe('WebhookChannel', () => {
  let hook: Hook;
  before(async () => {
    hook = await startHook();
  });
  after(async () => {
    hook.server.closeAllConnections();
    await new Promise<void>((resolve) => hook.server.close(() => resolve()));
  });

  it('POSTs the alerts as JSON with a signature the receiver verifies', async () => {
    const channel = new WebhookChannel({ url: hook.url, secret: SECRET });
    const a = createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'SSH brute force <!channel>', labels: { host: '203.0.113.5' } });
    await channel.send(note([a]), { signal, attempt: 1 });
    const got = hook.received.at(-1);
    assert.equal(got?.verified, true);
    assert.equal(got?.payload.version, 1);
    assert.equal(got?.payload.alerts[0]?.title, 'SSH brute force <!channel>', 'JSON carries the data as is');
    assert.equal(got?.payload.alerts[0]?.time, a.time.toISOString());

    // A receiver with another secret, a tampered body or a stale timestamp refuses it.
    const body = '{"x":1}';
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook(SECRET, body, ts);
    assert.equal(verifyWebhookSignature({ secret: SECRET, body, signature, timestamp: String(ts) }), true);
    assert.equal(verifyWebhookSignature({ secret: 'other', body, signature, timestamp: String(ts) }), false);
    assert.equal(verifyWebhookSignature({ secret: SECRET, body: '{"x":2}', signature, timestamp: String(ts) }), false);
    assert.equal(verifyWebhookSignature({ secret: SECRET, body, signature, timestamp: String(ts), clock: () => (ts + 3600) * 1000 }), false);
    assert.equal(verifyWebhookSignature({ secret: SECRET, body, signature: undefined, timestamp: String(ts) }), false);
  });

  it('classifies answers: 5xx and 429 (Retry-After) retryable, 4xx permanent, timeouts and refusals retryable', async () => {
    const channel = new WebhookChannel({ url: hook.url, secret: SECRET });
    const a = createAlert({ source: 's', rule: 'r', severity: 'info', title: 't' });
    const attempt = async (c = channel): Promise<DeliveryError> => {
      const e = await c.send(note([a]), { signal, attempt: 1 }).then(
        () => assert.fail('expected a failure'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof DeliveryError);
      return e;
    };
    hook.replies.push({ status: 503 });
    let e = await attempt();
    assert.deepEqual([e.retryable, e.status], [true, 503]);
    hook.replies.push({ status: 429, headers: { 'retry-after': '3' } });
    e = await attempt();
    assert.deepEqual([e.retryable, e.status, e.retryAfterMs], [true, 429, 3000]);
    hook.replies.push({ status: 400 });
    e = await attempt();
    assert.deepEqual([e.retryable, e.status], [false, 400]);
    hook.replies.push({ status: 200, delay: 5000 });
    e = await attempt(new WebhookChannel({ url: hook.url, secret: SECRET, timeout: 100 }));
    assert.equal(e.retryable, true);
    assert.match(e.message, /no answer within 100 ms/);
    const refused = new WebhookChannel({ url: `http://127.0.0.1:${await refusedPort()}/x?token=${URL_TOKEN}`, secret: SECRET });
    e = await attempt(refused);
    assert.equal(e.retryable, true);
    for (const err of [e]) {
      const text = dump(err);
      assert.ok(!text.includes(URL_TOKEN) && !text.includes(SECRET), text);
    }
  });

  it('through a Notifier: an outage then recovery delivers, signed, exactly the accepted alerts', async () => {
    const channel = new WebhookChannel({ url: hook.url, secret: SECRET });
    const notifier = new Notifier({ channels: [channel], groupWait: 0, persistent: true, retry: { initialDelay: 1, maxDelay: 2, maxAttempts: 10 } });
    await notifier.start();
    const before = hook.received.length;
    hook.replies.push({ status: 502 }, { status: 503 }, { status: 500 });
    await notifier.notify(createAlert({ source: 's', rule: 'r', severity: 'warning', title: 'during the outage' }));
    await notifier.flush();
    await notifier.stop();
    const got = hook.received.slice(before);
    assert.equal(got.length, 4);
    assert.ok(got.every((g) => g.verified));
    assert.equal(notifier.stats.sent, 1);
  });
});

describe('channel options', () => {
  it('are validated at construction, naming the option, never echoing a secret', () => {
    assert.throws(() => new SlackChannel({ token: '', channel: 'C1' }), /`token`/);
    assert.throws(() => new SlackChannel({ token: 'xoxb-1', channel: '' }), /`channel`/);
    assert.throws(() => new SlackChannel({ token: 'xoxb-1', channel: 'C1', timeout: 0 }), /`timeout`/);
    assert.throws(() => new WebhookChannel({ url: 'ftp://example.com/x' }), /`url`/);
    assert.throws(
      () => new WebhookChannel({ url: `not a url ${SECRET}` }),
      (e: unknown) => e instanceof Error && /`url`/.test(e.message) && !e.message.includes(SECRET),
    );
    assert.throws(() => new WebhookChannel({ url: 'https://example.com', secret: '' }), /`secret`/);
    assert.throws(() => new LogChannel({ logger: silentLogger, minSeverity: 'fatal' as never }), /`minSeverity`/);
  });
});

describe('LogChannel', () => {
  it('logs at the level matching the severity, one line per entry', async () => {
    const logger = recordingLogger();
    const channel = new LogChannel({ logger });
    const mk = (severity: 'info' | 'warning' | 'critical'): Alert => createAlert({ source: 's', rule: 'r', severity, title: `${severity}\nFAKE: forged entry` });
    for (const s of ['info', 'warning', 'critical'] as const) await channel.send(note([mk(s)]), { signal, attempt: 1 });
    await channel.send({ status: 'resolved', alerts: [{ ...mk('critical'), status: 'resolved' }], groupKey: 'g' }, { signal, attempt: 1 });
    assert.deepEqual(
      logger.lines.map((l) => l.split(' ')[0]),
      ['info', 'warn', 'error', 'info'],
    );
    for (const line of logger.lines) assert.ok(!/\nFAKE/.test(line.split(' {')[0] ?? ''), 'message has no newline');
    assert.throws(() => new LogChannel({ logger: {} as never }), /`logger`/);
  });
});

describe('LogChannel with winston', () => {
  it('writes JSON lines to a real winston file transport', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwarden-log-'));
    try {
      const file = join(dir, 'alerts.log');
      const logger = createLogger({ console: false, file });
      const notifier = new Notifier({ channels: [new LogChannel({ logger })], groupWait: 0, persistent: true });
      await notifier.start();
      await notifier.notify(createAlert({ source: 'file', rule: 'file.extension', severity: 'warning', title: 'Found invoice.exe', labels: { path: '/home/eve/invoice.exe' } }));
      await notifier.notify(createAlert({ source: 'resource', rule: 'cpu.high', severity: 'critical', title: 'CPU at 97 %' }));
      await notifier.stop();
      await closeLogger(logger);
      const entries = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { level: string; message: string; alerts: { labels: Record<string, string> }[] });
      assert.deepEqual(entries.map((e) => e.level).sort(), ['error', 'warn']);
      const warn = entries.find((e) => e.level === 'warn');
      assert.equal(warn?.message, '[FIRING] Found invoice.exe');
      assert.equal(warn?.alerts[0]?.labels.path, '/home/eve/invoice.exe');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LogChannel on a disk that fails', () => {
  // Real file systems that really fail: a 64 KiB tmpfs that fills up, and a read-only one.
  const mounts: string[] = [];
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-logdisk-'));
  });
  after(async () => {
    // Lazy: a winston stream a failed assertion left open must not keep the mount behind.
    for (const m of mounts) execFileSync('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });
  const mount = async (name: string, options: string): Promise<string> => {
    const target = join(dir, name);
    await mkdir(target);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { stdio: 'ignore' });
    mounts.push(target);
    return target;
  };

  it('a full disk is a retryable failure, never "sent"; the Notifier retries instead of marking it done', async () => {
    const full = await mount('full', 'size=64k,mode=0700');
    const logger = createLogger({ console: false, file: join(full, 'alerts.log') });
    const notifier = new Notifier({
      channels: [new LogChannel({ logger })],
      groupWait: 0,
      persistent: true,
      retry: { initialDelay: 1, maxDelay: 2, maxAttempts: 3 },
      stopTimeout: 100,
    });
    const sent: string[] = [];
    const failed: DeliveryError[] = [];
    notifier.on('sent', (e) => sent.push(...e.alerts.map((a) => a.title)));
    notifier.on('failed', (e) => failed.push(e.error));
    await notifier.start();
    for (let i = 0; i < 60; i++) await notifier.notify(createAlert({ source: 's', rule: `r${i}`, severity: 'warning', title: `big ${i}`, summary: 'y'.repeat(3000) }));
    await notifier.flush();
    await notifier.stop();
    assert.ok(failed.length > 0, 'the disk filled up and that was reported');
    assert.ok(
      failed.every((e) => e.retryable && /ENOSPC/.test(e.message)),
      failed.map((e) => e.message).join('; '),
    );
    // Every alert reported as sent is really in the file.
    const written = (await readFile(join(full, 'alerts.log'), 'utf8')).split('\n').filter((l) => l.endsWith('}'));
    const inFile = new Set(written.map((l) => (JSON.parse(l) as { alerts: { title: string }[] }).alerts[0]?.title));
    for (const title of sent) assert.ok(inFile.has(title), `${title} reported sent but not in the file`);
    assert.ok(sent.length < 60);
  });

  it('a read-only disk is a retryable failure', async () => {
    const ro = await mount('ro', 'size=64k,mode=0755,ro');
    const logger = createLogger({ console: false, file: join(ro, 'alerts.log') });
    const channel = new LogChannel({ logger });
    const e = await channel.send(note([createAlert({ source: 's', rule: 'r', severity: 'critical', title: 'x' })]), { signal: AbortSignal.timeout(5000), attempt: 1 }).then(
      () => assert.fail('reported written on a read-only disk'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof DeliveryError && e.retryable && /EROFS/.test(e.message), String(e));
  });
});

describe('escaping helpers', () => {
  it('neutralises Slack control sequences', () => {
    assert.equal(escapeSlack('<!channel> <!here> <@U1> <https://x|y> & a'), '&lt;!channel&gt; &lt;!here&gt; &lt;@U1&gt; &lt;https://x|y&gt; &amp; a');
  });

  it('escapes HTML fully and keeps header text on one line', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\`</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
    assert.equal(oneLine('a\r\nBcc: x\u2028y\u0000z'), 'a\\r\\nBcc: x\\u2028y\\x00z');
  });

  it('truncates within limits without splitting surrogate pairs', () => {
    assert.equal(truncate('abcdef', 4), 'abc…');
    assert.equal(truncate('ab😀cd', 4), 'ab…');
    assert.equal(truncate('abc', 3), 'abc');
  });
});
