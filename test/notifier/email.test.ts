import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { DeliveryError, EmailChannel, Notifier, createAlert, type Alert, type FailedEvent, type Notification } from '../../src/index.js';
import { dump, refusedPort } from './helpers.js';

const PASSWORD = 'hunter2-SMTP-PASSWORD-9f8e7d';
const signal = new AbortController().signal;

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message. */
async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Received[] }> {
  const mails: Received[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) callback(null, { user: 'alerts' });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) return callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      if (address.address.startsWith('busy@')) return callback(Object.assign(new Error('4.2.1 Mailbox busy, try later'), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port, mails };
}

/** The decoded body of a MIME part of the given content type (quoted-printable or base64). */
function part(raw: string, type: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/.exec(raw)?.[1];
  assert.ok(boundary, 'multipart message');
  for (const chunk of raw.split(`--${boundary}`)) {
    const [head = '', ...rest] = chunk.split(/\r?\n\r?\n/);
    if (!new RegExp(`content-type: ${type}`, 'i').test(head)) continue;
    const body = rest.join('\n\n');
    if (/content-transfer-encoding: base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (/content-transfer-encoding: quoted-printable/i.test(head)) {
      const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    return body;
  }
  assert.fail(`no ${type} part`);
}

function note(alerts: Alert[]): Notification {
  return { status: 'firing', alerts, groupKey: 'g' };
}

describe('EmailChannel with a real SMTP server', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  before(async () => {
    smtp = await startSmtp();
  });
  after(async () => {
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
  });

  const make = (to: string | string[] = 'ops@example.com', pass = PASSWORD): EmailChannel =>
    // This server has no STARTTLS: the tests of plain SMTP opt out of requireTLS explicitly.
    new EmailChannel({ host: '127.0.0.1', port: smtp.port, auth: { user: 'alerts', pass }, requireTLS: false, from: 'hostwarden <alerts@example.com>', to, timeout: 5000 });

  it('sends a text and an HTML part; every field is HTML-escaped and the subject cannot inject headers', async () => {
    const channel = make(['ops@example.com', 'sec@example.com']);
    const a = createAlert({
      source: 'file',
      rule: 'file.hash-match',
      severity: 'critical',
      title: 'Malware <script>alert(1)</script>\r\nBcc: victim@example.com',
      summary: 'Found in "/home/eve/<img src=x onerror=alert(2)>.exe" & more',
      hostname: 'web-1<b>',
      labels: { path: '/home/eve/<iframe src=//evil>.dll', "o'neil": 'a&b' },
      evidence: ['<a href="http://evil.example">click</a>'],
    });
    const receipt = await channel.send(note([a]), { signal, attempt: 1 });
    await channel.close();
    assert.match(receipt.ref ?? '', /^<.+@.+>$/);
    const mail = smtp.mails.at(-1);
    assert.ok(mail);
    assert.deepEqual(mail.to, ['ops@example.com', 'sec@example.com']);
    const headers = mail.raw.split(/\r?\n\r?\n/)[0] ?? '';
    assert.ok(!/^bcc:/im.test(headers), 'no injected Bcc header');
    assert.match(headers, /^Subject: .*\[hostwarden\] \[FIRING\] Malware/m);
    const html = part(mail.raw, 'text/html');
    for (const raw of ['<script>', '<img', '<iframe', '<a href', '<b>']) assert.ok(!html.includes(raw), `raw ${raw} in HTML`);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt;'));
    assert.ok(html.includes('o&#39;neil'));
    assert.ok(html.includes('a&amp;b'));
    const text = part(mail.raw, 'text/plain');
    assert.match(text, /Malware <script>alert\(1\)<\/script>\\r\\nBcc: victim@example.com/, 'text part shows the title on one line, CR/LF as visible escapes');
  });

  it('a 550 rejection is permanent, a 451 is retryable, a refused connection is retryable', async () => {
    const attempt = async (channel: EmailChannel): Promise<DeliveryError> => {
      const a = createAlert({ source: 's', rule: 'r', severity: 'critical', title: 't' });
      const e = await channel.send(note([a]), { signal, attempt: 1 }).then(
        () => assert.fail('expected a failure'),
        (x: unknown) => x,
      );
      await channel.close();
      assert.ok(e instanceof DeliveryError, String(e));
      return e;
    };
    let e = await attempt(make('nobody@example.com'));
    assert.deepEqual([e.retryable, e.status], [false, 550]);
    e = await attempt(make('busy@example.com'));
    assert.deepEqual([e.retryable, e.status], [true, 451]);
    const refused = new EmailChannel({ host: '127.0.0.1', port: await refusedPort(), from: 'a@example.com', to: 'b@example.com', timeout: 2000 });
    e = await attempt(refused);
    assert.equal(e.retryable, true);
    assert.match(e.message, /ECONNECTION|ECONNREFUSED/);
  });

  it('a wrong password fails permanently (535) and the password never appears', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const channel = make('ops@example.com', wrong);
    const notifier = new Notifier({ channels: [channel], groupWait: 0, persistent: true, retry: { initialDelay: 1 } });
    const failed: FailedEvent[] = [];
    notifier.on('failed', (f) => failed.push(f));
    await notifier.start();
    await notifier.notify(createAlert({ source: 's', rule: 'r', severity: 'critical', title: 't' }));
    await notifier.flush();
    await notifier.stop();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.permanent, true);
    assert.equal(failed[0]?.error.status, 535);
    const text = dump(failed[0]?.error);
    assert.ok(!text.includes(PASSWORD), text);
  });

  it('rejects invalid options without echoing the password', () => {
    assert.throws(() => new EmailChannel({ host: '', from: 'a@b', to: 'c@d' }), /`host`/);
    assert.throws(() => new EmailChannel({ host: 'h', from: 'a@b', to: [] }), /`to`/);
    assert.throws(
      () => new EmailChannel({ host: 'h', from: 'a@b', to: 'c@d', auth: { user: 'u', pass: 7 as unknown as string } }),
      (e: unknown) => e instanceof Error && /auth\.pass/.test(e.message) && !e.message.includes('7'),
    );
  });
});

/** A self-signed certificate for `localhost`, made now with the openssl CLI. */
function selfSignedCertificate(dir: string): { key: string; cert: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

describe('EmailChannel and TLS', () => {
  let dir: string;
  let tls: { key: string; cert: string };
  const servers: SMTPServer[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-smtp-tls-'));
    tls = selfSignedCertificate(dir);
  });
  after(async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  /** An SMTP server that offers STARTTLS (or not) and records who authenticated over what. */
  async function server(options: { starttls: boolean; authReply?: string }): Promise<{ port: number; auths: { secure: boolean }[]; mails: { secure: boolean }[] }> {
    const auths: { secure: boolean }[] = [];
    const mails: { secure: boolean }[] = [];
    const smtp = new SMTPServer({
      secure: false,
      key: tls.key,
      cert: tls.cert,
      ...(options.starttls ? {} : { disabledCommands: ['STARTTLS'] }),
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, session, callback) {
        auths.push({ secure: session.secure });
        if (options.authReply !== undefined) return callback(Object.assign(new Error(options.authReply), { responseCode: 535 }));
        callback(null, { user: auth.username ?? '' });
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          mails.push({ secure: session.secure });
          callback();
        });
      },
    });
    servers.push(smtp);
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const address = smtp.server.address();
    assert.ok(address !== null && typeof address === 'object');
    return { port: address.port, auths, mails };
  }

  const a = (): Alert => createAlert({ source: 's', rule: 'r', severity: 'critical', title: 't' });
  const attempt = async (channel: EmailChannel): Promise<DeliveryError> => {
    const e = await channel.send(note([a()]), { signal, attempt: 1 }).then(
      () => assert.fail('expected a failure'),
      (x: unknown) => x,
    );
    await channel.close();
    assert.ok(e instanceof DeliveryError, String(e));
    return e;
  };

  it('with credentials, requireTLS is on by default: no STARTTLS means no AUTH in clear text, and a permanent error', async () => {
    const plain = await server({ starttls: false });
    const e = await attempt(
      new EmailChannel({ host: '127.0.0.1', port: plain.port, auth: { user: 'alerts', pass: PASSWORD }, from: 'a@example.com', to: 'b@example.com', timeout: 5000 }),
    );
    assert.equal(e.retryable, false);
    assert.match(e.message, /STARTTLS/);
    assert.equal(plain.auths.length, 0, 'the password never went out');
    assert.equal(plain.mails.length, 0);
  });

  it('a self-signed certificate is a permanent error with a clear message, tried once', async () => {
    const starttls = await server({ starttls: true });
    const channel = new EmailChannel({
      host: '127.0.0.1',
      port: starttls.port,
      auth: { user: 'alerts', pass: PASSWORD },
      from: 'a@example.com',
      to: 'b@example.com',
      timeout: 5000,
    });
    const notifier = new Notifier({ channels: [channel], groupWait: 0, persistent: true, retry: { initialDelay: 1, maxAttempts: 5 } });
    const failed: FailedEvent[] = [];
    let retries = 0;
    notifier.on('failed', (f) => failed.push(f));
    notifier.on('retry', () => retries++);
    await notifier.start();
    await notifier.notify(a());
    await notifier.flush();
    await notifier.stop();
    assert.equal(retries, 0);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.permanent, true);
    assert.match(failed[0]?.error.message ?? '', /certificate was refused \(self-signed certificate/);
    assert.equal(starttls.auths.length, 0);
  });

  it('with the CA and the server name it delivers over STARTTLS, authenticating only inside TLS', async () => {
    const starttls = await server({ starttls: true });
    const channel = new EmailChannel({
      host: '127.0.0.1',
      port: starttls.port,
      auth: { user: 'alerts', pass: PASSWORD },
      ca: tls.cert,
      servername: 'localhost',
      from: 'a@example.com',
      to: 'b@example.com',
      timeout: 5000,
    });
    await channel.send(note([a()]), { signal, attempt: 1 });
    await channel.close();
    assert.deepEqual(starttls.auths, [{ secure: true }]);
    assert.deepEqual(starttls.mails, [{ secure: true }]);
    // The wrong name is refused like any bad certificate.
    const wrongName = new EmailChannel({
      host: '127.0.0.1',
      port: starttls.port,
      auth: { user: 'alerts', pass: PASSWORD },
      ca: tls.cert,
      from: 'a@example.com',
      to: 'b@example.com',
      timeout: 5000,
    });
    const e = await attempt(wrongName);
    assert.equal(e.retryable, false);
    assert.match(e.message, /certificate was refused \(Hostname\/IP does not match certificate's altnames/);
  });

  it('a 535 reply that echoes the AUTH PLAIN blob: neither the blob nor the password reaches errors or events', async () => {
    const blob = Buffer.from(`\u0000alerts\u0000${PASSWORD}`).toString('base64');
    const echo = await server({ starttls: true, authReply: `Authentication failed for ${blob}` });
    const channel = new EmailChannel({
      host: '127.0.0.1',
      port: echo.port,
      auth: { user: 'alerts', pass: PASSWORD },
      ca: tls.cert,
      servername: 'localhost',
      from: 'a@example.com',
      to: 'b@example.com',
      timeout: 5000,
    });
    const notifier = new Notifier({ channels: [channel], groupWait: 0, persistent: true });
    const failed: FailedEvent[] = [];
    notifier.on('failed', (f) => failed.push(f));
    await notifier.start();
    await notifier.notify(a());
    await notifier.flush();
    await notifier.stop();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.error.status, 535);
    const text = dump(failed[0]?.error);
    assert.ok(text.includes('Authentication failed for'), text);
    assert.ok(!text.includes(blob) && !text.includes(PASSWORD), text);
  });

  it('rejects unknown options with a hint', () => {
    assert.throws(() => new EmailChannel({ host: 'h', from: 'a@b', to: 'c@d', requireTls: true } as never), /did you mean `requireTLS`/);
  });
});
