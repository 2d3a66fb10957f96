import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { defaultAgentConfig } from '../../src/cli/commands/doctor.js';
import { probeJournal, probeReadableDirectory, probeWritableDirectory } from '../../src/cli/doctor-probes.js';
import { findPeer, requirePeer } from '../helpers/peers.js';
import { cli } from './helpers.js';

const GOOD_TOKEN = 'xoxb-doctor-good-token-1234567890';
const BAD_TOKEN = 'xoxb-doctor-revoked-token-0987654321';
const SMTP_PASSWORD = 'doctor-smtp-password-5e4d3c';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

/** A Slack-compatible API that checks the bearer token on auth.test, and a webhook receiver; both record every request. */
async function startHttp(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    if ((req.url ?? '').endsWith('/auth.test')) {
      res.setHeader('content-type', 'application/json');
      const ok = req.headers.authorization === `Bearer ${GOOD_TOKEN}`;
      res.end(JSON.stringify(ok ? { ok: true, team: 't', user: 'hostwarden' } : { ok: false, error: 'invalid_auth' }));
      return;
    }
    // A webhook receiver answers HEAD with 405: still proof that it is there.
    res.writeHead(req.method === 'HEAD' ? 405 : 200).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: number }> {
  const state = { mails: 0 };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'alerts' && auth.password === SMTP_PASSWORD) callback(null, { user: 'alerts' });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, _session, callback) {
      state.mails++;
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.server.address() as AddressInfo).port,
    get mails() {
      return state.mails;
    },
  };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('hostwarden doctor', () => {
  let dir: string;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let refused: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-doctor-'));
    http = await startHttp();
    smtp = await startSmtp();
    refused = await closedPort();
    await mkdir(join(dir, 'state'));
    await mkdir(join(dir, 'home'));
    await writeFile(join(dir, 'auth.log'), 'Mar  3 00:17:22 host sshd[1]: Accepted publickey for ops from 198.51.100.7 port 50000 ssh2\n');
    await writeFile(join(dir, 'not-a-dir'), '');
  });

  after(async () => {
    http.server.close();
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function writeConfig(name: string, config: unknown): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify(config));
    return file;
  }

  it('passes a configuration whose every file, directory and channel is in order, contacting nothing without --probe', async () => {
    const config = await writeConfig('good.json', {
      stateDirectory: join(dir, 'state'),
      logs: { files: [join(dir, 'auth.log')] },
      resources: {},
      scan: { roots: [join(dir, 'home')], quarantine: { directory: join(dir, 'state', 'quarantine') } },
      notifier: { channels: [{ type: 'webhook', url: `${http.url}/hook` }], outbox: { directory: join(dir, 'state', 'outbox') } },
    });
    const before = http.seen.length;
    const run = await cli(['doctor', '--config', config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok {4}logs {7}.*auth\.log: readable \(\d+ B\)$/m);
    assert.match(run.stdout, /^ok {4}scan {7}.*home: directory, listable/m);
    assert.match(run.stdout, /^ok {4}scan {7}quarantine .*: does not exist yet; will be created in .*state \(writable\)$/m);
    assert.match(run.stdout, /^ok {4}state {6}state directory .*state: writable \(.* free\)$/m);
    assert.match(run.stdout, /^info {2}notifier {3}webhook http:\/\/127\.0\.0\.1:\d+\/hook: not contacted \(--probe/m);
    assert.match(run.stdout, /^no problems found/m);
    assert.equal(http.seen.length, before, 'without --probe no request is made');
    // The write probes leave nothing behind.
    assert.deepEqual(await readdir(join(dir, 'state')), []);
  });

  it('fails, one line each, for a missing log, a missing scan root, a quarantine on a file, an unset secret and unreachable peers', async () => {
    const config = await writeConfig('bad.json', {
      stateDirectory: join(dir, 'state'),
      logs: { files: [join(dir, 'auth.log'), join(dir, 'gone.log'), join(dir, 'rotated-*.log')] },
      scan: { roots: [join(dir, 'home'), join(dir, 'no-such-root')], quarantine: { directory: join(dir, 'not-a-dir') } },
      notifier: {
        channels: [
          { type: 'slack', tokenEnv: 'DOCTOR_UNSET_TOKEN', channel: '#ops' },
          { type: 'slack', tokenEnv: 'DOCTOR_BAD_TOKEN', channel: '#sec', slackApiUrl: `${http.url}/api/` },
          { type: 'webhook', url: `http://127.0.0.1:${refused}/hook` },
          { type: 'email', host: '127.0.0.1', port: smtp.port, user: 'alerts', passwordEnv: 'DOCTOR_BAD_PASSWORD', from: 'hw@example.com', to: ['ops@example.com'] },
        ],
        outbox: { directory: join(dir, 'not-a-dir', 'outbox') },
      },
    });
    const run = await cli(['doctor', '--config', config, '--probe', '--timeout', '3000'], { env: { DOCTOR_BAD_TOKEN: BAD_TOKEN, DOCTOR_BAD_PASSWORD: 'wrong-password-xyz' } });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const fails = run.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    const expect = [
      /logs .*gone\.log: missing$/,
      /logs .*rotated-\*\.log: matches no file now/,
      /scan .*no-such-root: missing$/,
      /scan .*quarantine .*not-a-dir: not a directory$/,
      /notifier .*slack #ops: environment variable DOCTOR_UNSET_TOKEN is not set$/,
      /notifier .*slack #sec: Slack says invalid_auth$/,
      /notifier .*webhook .*: unreachable \(ECONNREFUSED\)$/,
      /notifier .*email 127\.0\.0\.1:\d+: .*Invalid login/,
      /notifier .*outbox .*not-a-dir\/outbox: does not exist, and .* is not writable|notifier .*outbox .*: cannot be examined \(ENOTDIR\)/,
    ];
    for (const pattern of expect)
      assert.ok(
        fails.some((l) => pattern.test(l)),
        `no FAIL line matching ${pattern}:\n${run.stdout}`,
      );
    assert.equal(fails.length, expect.length, run.stdout);
    assert.match(run.stdout, /^9 problems found$/m);
    for (const secret of [BAD_TOKEN, 'wrong-password-xyz']) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `${secret} leaked`);
    assert.equal(smtp.mails, 0, 'probing SMTP sends no mail');
  });

  it('--probe reaches a working Slack, SMTP server and webhook without posting or mailing anything', async () => {
    const config = await writeConfig('probe.json', {
      stateDirectory: join(dir, 'state'),
      logs: { files: [join(dir, 'auth.log')] },
      notifier: {
        channels: [
          { type: 'slack', tokenEnv: 'DOCTOR_GOOD_TOKEN', channel: '#sec', slackApiUrl: `${http.url}/api/` },
          { type: 'webhook', url: `${http.url}/hook?secret=abc` },
          { type: 'email', host: '127.0.0.1', port: smtp.port, user: 'alerts', passwordEnv: 'DOCTOR_PASSWORD', from: 'hw@example.com', to: ['ops@example.com'] },
        ],
        outbox: { directory: join(dir, 'state') },
      },
    });
    const before = http.seen.length;
    const run = await cli(['doctor', '-c', config, '--probe'], { env: { DOCTOR_GOOD_TOKEN: GOOD_TOKEN, DOCTOR_PASSWORD: SMTP_PASSWORD } });
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^ok {4}notifier {3}slack #sec: token accepted \(auth\.test\)$/m);
    assert.match(run.stdout, /^ok {4}notifier {3}webhook http:\/\/127\.0\.0\.1:\d+\/hook\?…: reachable \(HEAD answered 405\)$/m, 'query strings (secrets) are not shown');
    assert.match(run.stdout, /^ok {4}notifier {3}email 127\.0\.0\.1:\d+: SMTP server answers and accepts the login$/m);
    const requests = http.seen.slice(before);
    assert.deepEqual(requests.map((r) => `${r.method} ${r.url.replace(/\?.*/, '')}`).sort(), ['HEAD /hook', 'POST /api/auth.test']);
    assert.equal(smtp.mails, 0);
    assert.ok(!run.stdout.includes(GOOD_TOKEN) && !run.stdout.includes('abc'));
  });

  it('shows hostile file names escaped, on one line', async () => {
    const hostile = join(dir, 'evil\x1b[31m\u202egol.log');
    const config = await writeConfig('hostile.json', { logs: { files: [hostile] }, notifier: { channels: [{ type: 'console' }] } });
    const run = await cli(['doctor', '--config', config]);
    assert.equal(run.code, 1);
    assert.ok(!run.stdout.includes('\x1b') && !run.stdout.includes('\u202e'), run.stdout);
    assert.match(run.stdout, /evil\\x1b\[31m\\u202egol\.log: missing/);
  });

  it('reports an invalid config as FAIL lines, each naming its key, and exits 1', async () => {
    const config = await writeConfig('invalid.json', { logs: { file: ['x'] }, notifier: { channels: [] } });
    const run = await cli(['doctor', '--config', config]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^FAIL {2}config {5}config\.logs\.file: unknown key \(did you mean "files"\?\)/m);
    assert.match(run.stdout, /^FAIL {2}config {5}config\.notifier\.channels: /m);
  });

  it('without --config checks the auth log a default agent would follow, or the journal when there is none', async () => {
    const withLog = await defaultAgentConfig([join(dir, 'missing-auth.log'), join(dir, 'auth.log')]);
    assert.deepEqual(withLog.config.logs, { files: [join(dir, 'auth.log')] });
    assert.equal(withLog.config.scan?.roots[0], '/home');
    const without = await defaultAgentConfig([join(dir, 'missing-auth.log')]);
    assert.deepEqual(without.config.logs, { files: [], journal: true });
    assert.match(without.note, /so the journal/);
  });

  it('warns about a state directory reached through a symbolic link, and fails one that leads nowhere', async () => {
    await mkdir(join(dir, 'real-state'));
    await symlink(join(dir, 'real-state'), join(dir, 'linked-state'));
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling-state'));
    const linked = await probeWritableDirectory('state', join(dir, 'linked-state'), 'state directory');
    assert.equal(linked.status, 'warn');
    assert.match(linked.message, /a symbolic link to .*real-state \(use the real path\); state directory .*real-state: writable/);
    const dangling = await probeWritableDirectory('state', join(dir, 'dangling-state'), 'state directory');
    assert.equal(dangling.status, 'fail');
    assert.match(dangling.message, /leads nowhere/);
  });

  it('checks nft and the ban table when bans are enforced, and touches nothing in observe mode', async (t) => {
    if (requirePeer(t, 'nft') === undefined) return;
    const table = `hwdoc${process.pid % 100000}`;
    const enforced = await writeConfig('bans.json', { notifier: { channels: [{ type: 'console' }] }, bans: { table } });
    const run = await cli(['doctor', '--config', enforced]);
    assert.match(run.stdout, /^ok {4}peer {7}nft: .*\(nftables v/m);
    assert.match(run.stdout, /^ok {4}bans {7}nft permission: the ruleset can be read$/m);
    assert.match(run.stdout, new RegExp(`^warn {2}bans {7}ban table: table inet ${table} does not exist`, 'm'));
    const observed = await writeConfig('bans-observe.json', { notifier: { channels: [{ type: 'console' }] }, bans: { mode: 'observe', table } });
    const quiet = await cli(['doctor', '--config', observed]);
    assert.match(quiet.stdout, /^info {2}bans {7}observe mode: bans are reported, the firewall is not touched$/m);
    assert.doesNotMatch(quiet.stdout, /ban table/);
  });

  it('checks a scan root that is a file as a readable file', async () => {
    const line = await probeReadableDirectory('scan', join(dir, 'auth.log'));
    assert.equal(line.status, 'ok');
    assert.match(line.message, /auth\.log: readable \(\d+ B\)$/);
  });

  it('finds a directory nobody can write to, by trying (read-only even for root: a file in the way)', async () => {
    const line = await probeWritableDirectory('state', join(dir, 'auth.log', 'sub'), 'state directory');
    assert.equal(line.status, 'fail');
    assert.match(line.message, /cannot be examined \(ENOTDIR\)/);
  });

  it('finds a directory this user cannot write to (as nobody when running as root)', async (t) => {
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    if (process.getuid?.() === 0) {
      // root writes anywhere; the probe must see what an unprivileged agent would.
      const setpriv = requirePeer(t, 'setpriv');
      if (setpriv === undefined) return;
      const { runUnprivileged } = await import('../helpers/unprivileged.js');
      await chmod(dir, 0o755);
      const child = await runUnprivileged(new URL('./fixtures/writable-probe.ts', import.meta.url), [locked]);
      assert.equal(child.code, 0, child.stderr);
      assert.match(child.stdout, /"status":"fail".*not writable \(EACCES\)/);
    } else {
      const line = await probeWritableDirectory('state', locked, 'state directory');
      assert.equal(line.status, 'fail');
      assert.match(line.message, /not writable \(EACCES\)/);
    }
  });

  it('fails the journal when journald is not running, even though journalctl reads its files', async (t) => {
    const journalctl = requirePeer(t, 'journalctl');
    if (journalctl === undefined) return;
    const line = await probeJournal(journalctl, join(dir, 'no-journald-socket'));
    assert.equal(line.status, 'fail');
    assert.match(line.message, /systemd-journald is not running here/);
    // With a socket where journald's would be, the same journal is fine.
    const socketPath = join(dir, 'journald.sock');
    const socket = createNetServer().listen(socketPath);
    await once(socket, 'listening');
    try {
      const running = await probeJournal(journalctl, socketPath);
      assert.equal(running.status, 'ok', running.message);
    } finally {
      socket.close();
    }
    assert.ok(findPeer('journalctl'));
  });
});
