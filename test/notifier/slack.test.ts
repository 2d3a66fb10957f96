import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeliveryError, Notifier, SlackChannel, createAlert, resolveAlert, type Alert, type FailedEvent, type Notification } from '../../src/index.js';
import { renderSlackMessage } from '../../src/notifier/channels/slack.js';
import { FakeSlack, dump, refusedPort, recordingLogger } from './helpers.js';

const TOKEN = 'xoxb-1234567890-SECRETSECRET-abcdefghijklmnop';
const signal = new AbortController().signal;

function note(alerts: Alert[], extra: Partial<Notification> = {}): Notification {
  return { status: alerts[0]?.status ?? 'firing', alerts, groupKey: 'g', ...extra };
}

const hostile = '<!channel> <!here> <@U024BE7LH> <https://evil.example/login|Click to re-auth> & friends';

function hostileAlert(): Alert {
  return createAlert({
    source: 'log',
    rule: 'sshd.invalid-user',
    severity: 'critical',
    key: 'log:sshd:203.0.113.9',
    title: `Invalid user ${hostile}`,
    summary: `Failed password for ${hostile}\nsecond line`,
    hostname: `web-1 ${hostile}`,
    labels: { user: hostile, host: '203.0.113.9', [`label ${hostile}`]: 'x' },
    evidence: [`sshd[1]: Invalid user ${hostile} from 203.0.113.9`, 'break out ``` of the block <!channel>'],
  });
}

/** Every `<` in posted text must be one of ours (the date token), never attacker text. */
function assertNoLiveMarkup(text: string): void {
  const opens = [...text.matchAll(/</g)].map((m) => text.slice(m.index, m.index + 7));
  for (const open of opens) assert.equal(open, '<!date^', `unescaped markup in: ${text.slice(0, 300)}`);
  for (const bad of ['<!channel>', '<!here>', '<@U024BE7LH>', '<https://evil']) assert.ok(!text.includes(bad), bad);
}

describe('SlackChannel through the real WebClient', () => {
  let slack: FakeSlack;
  before(async () => {
    slack = await FakeSlack.start();
  });
  after(async () => {
    await slack.close();
  });

  it('posts Block Kit with a text fallback, the bearer token, and returns the ts', async () => {
    const channel = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: slack.url });
    const a = createAlert({ source: 'resource', rule: 'cpu.high', severity: 'warning', title: 'CPU at 93 %', labels: { mount: '/' } });
    const receipt = await channel.send(note([a]), { signal, attempt: 1 });
    const request = slack.requests.at(-1);
    assert.equal(request?.method, 'chat.postMessage');
    assert.equal(request?.authorization, `Bearer ${TOKEN}`);
    assert.equal(request?.body.channel, 'C0123');
    assert.match(request?.body.text ?? '', /\[FIRING\] CPU at 93 %/);
    assert.equal(request?.body.link_names, 'false');
    const blocks = JSON.parse(request?.body.blocks ?? '[]') as { type: string }[];
    assert.equal(blocks[0]?.type, 'header');
    assert.ok(blocks.some((b) => b.type === 'section'));
    assert.match(receipt.ref ?? '', /^\d+\.000100$/);

    // The resolved notice replies in the firing message's thread.
    await channel.send(note([resolveAlert(a)], { status: 'resolved', threadRef: receipt.ref! }), { signal, attempt: 1 });
    assert.equal(slack.requests.at(-1)?.body.thread_ts, receipt.ref);
  });

  it('maps 429 (with Retry-After), 500, ok:false, slow answers and refused connections to DeliveryError', async () => {
    const channel = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: slack.url });
    const a = createAlert({ source: 's', rule: 'r', severity: 'info', title: 't' });
    const attempt = async (c = channel): Promise<DeliveryError> => {
      const error = await c.send(note([a]), { signal, attempt: 1 }).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DeliveryError, String(error));
      return error;
    };
    slack.replies.push({ kind: 'rate-limited', retryAfter: 7 });
    let e = await attempt();
    assert.deepEqual([e.retryable, e.status, e.retryAfterMs], [true, 429, 7000]);
    assert.equal(slack.requests.length > 0, true);

    slack.replies.push({ kind: 'http', status: 500 });
    e = await attempt();
    assert.deepEqual([e.retryable, e.status], [true, 500]);

    slack.replies.push({ kind: 'http', status: 404 });
    e = await attempt();
    assert.deepEqual([e.retryable, e.status], [false, 404]);

    for (const code of ['invalid_auth', 'channel_not_found', 'not_in_channel', 'token_revoked']) {
      slack.replies.push({ kind: 'error', error: code });
      e = await attempt();
      assert.equal(e.retryable, false, code);
      assert.match(e.message, new RegExp(code));
    }
    slack.replies.push({ kind: 'error', error: 'internal_error' });
    e = await attempt();
    assert.equal(e.retryable, true);

    // A peer (or proxy) that echoes the token back: it is masked in the message and every cause.
    slack.replies.push({ kind: 'error', error: `bad_token_${TOKEN}` });
    e = await attempt();
    assert.ok(!dump(e).includes(TOKEN), dump(e));

    // A 200 with truncated JSON is not Slack refusing the message: retry, never dead-letter.
    slack.replies.push({ kind: 'truncated' });
    e = await attempt();
    assert.equal(e.retryable, true);
    assert.match(e.message, /unreadable body/);

    // A Retry-After of ~35 days is capped at an hour.
    slack.replies.push({ kind: 'rate-limited', retryAfter: 3_000_000 });
    e = await attempt();
    assert.deepEqual([e.retryable, e.retryAfterMs], [true, 3_600_000]);

    slack.replies.push({ kind: 'slow', ms: 5000 });
    e = await attempt(new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: slack.url, timeout: 100 }));
    assert.equal(e.retryable, true);
    assert.match(e.message, /timed out/);

    const dead = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: `http://127.0.0.1:${await refusedPort()}/api/` });
    e = await dead.send(note([a]), { signal, attempt: 1 }).then(
      () => assert.fail('refused'),
      (x: unknown) => x as DeliveryError,
    );
    assert.equal(e.retryable, true);
    assert.match(e.message, /ECONNREFUSED/);
  });

  it('escapes every attacker-controlled field: no pings, no links, no broken code block', async () => {
    const channel = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: slack.url });
    const a = hostileAlert();
    const b = { ...hostileAlert(), key: 'other', rule: `rule ${hostile}` };
    await channel.send(note([a]), { signal, attempt: 1 });
    await channel.send(note([a, b], { groupKey: `log:${hostile}` }), { signal, attempt: 1 });
    for (const body of slack.posted.slice(-2)) {
      assertNoLiveMarkup(body.text ?? '');
      const blocks = [JSON.parse(body.blocks ?? '[]'), JSON.parse(body.attachments ?? '[]')] as unknown[];
      assert.match(body.attachments ?? '', /"color":"#d40e0d"/, 'critical colour bar');
      for (const text of JSON.stringify(blocks).matchAll(/"text":"((?:[^"\\]|\\.)*)"/g)) assertNoLiveMarkup(JSON.parse(`"${text[1]}"`) as string);
      assert.ok(body.text?.includes('&lt;!channel&gt;'), 'shown as text');
    }
    const blocks = JSON.parse(slack.posted.at(-2)?.blocks ?? '[]') as { type: string; text?: { text: string; verbatim?: boolean } }[];
    assert.match(blocks[0]?.text?.text ?? '', /‹!channel› ‹!here› ‹@U024BE7LH›/, 'the header shows look-alikes, not markup');
    for (const b of blocks) if (b.type === 'section' && b.text) assert.equal(b.text.verbatim, true, 'no auto-linking');
    const code = blocks.map((b) => b.text?.text ?? '').find((t) => t.startsWith('```'));
    assert.ok(code);
    // Only the opening and closing fences remain: the evidence's own ``` is broken up.
    assert.equal(code.match(/```/g)?.length, 2);
  });

  it("stays within Slack's limits: header 150 chars, 10 fields, 50 blocks", () => {
    const labels = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`label${i}`, 'v'.repeat(3000)]));
    const big = createAlert({ source: 's', rule: 'r', severity: 'critical', title: '&'.repeat(400), labels, evidence: ['x'.repeat(10_000)] });
    const one = renderSlackMessage(note([big]));
    const header = one.blocks[0] as { text: { text: string } };
    assert.ok(header.text.text.length <= 150, `header ${header.text.text.length}`);
    assert.ok(!/[<>]/.test(header.text.text));
    for (const block of one.blocks as { fields?: { text: string }[]; text?: { text: string } }[]) {
      if (block.fields) {
        assert.ok(block.fields.length <= 10);
        for (const f of block.fields) assert.ok(f.text.length <= 2000);
      }
      if (block.text) assert.ok(block.text.text.length <= 3000);
    }
    const many = Array.from({ length: 100 }, (_, i) => createAlert({ source: 's', rule: 'r', severity: 'warning', title: `host ${i}`, labels, evidence: ['e'] }));
    const digest = renderSlackMessage(note(many), { maxAlerts: 10 });
    assert.ok(digest.blocks.length <= 50, `${digest.blocks.length} blocks`);
    assert.match(JSON.stringify(digest.blocks), /and 90 more/);
    assert.match(digest.text, /100 × r/);
    assert.ok(digest.text.length <= 3000);
  });

  it('through a Notifier: retries 429 and 500 until Slack recovers; invalid_auth fails once, permanently', async () => {
    const channel = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: slack.url });
    const logger = recordingLogger();
    const notifier = new Notifier({
      channels: [channel],
      groupWait: 0,
      retry: { initialDelay: 1, maxDelay: 5 },
      rateLimits: { slack: { perSecond: 1000, burst: 100 } },
      logger,
      persistent: true,
    });
    const failed: FailedEvent[] = [];
    const errors: Error[] = [];
    const retried: Error[] = [];
    notifier.on('retry', (e) => retried.push(e.error));
    notifier.on('failed', (e) => failed.push(e));
    notifier.on('error', (e) => errors.push(e));
    await notifier.start();
    const before = slack.posted.length;
    slack.replies.push({ kind: 'rate-limited', retryAfter: 0 }, { kind: 'http', status: 503 }, { kind: 'http', status: 500 });
    const a = createAlert({ source: 's', rule: 'r1', severity: 'critical', title: 'outage then recovery', key: 'k1' });
    await notifier.notify(a);
    await notifier.flush();
    assert.equal(slack.posted.length - before, 4, 'three failures, then delivered');
    assert.equal(notifier.stats.sent, 1);

    slack.replies.push({ kind: 'error', error: 'invalid_auth' });
    await notifier.notify(createAlert({ source: 's', rule: 'r2', severity: 'critical', title: 'bad token', key: 'k2' }));
    await notifier.flush();
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.permanent, true);
    assert.equal(slack.posted.length - before, 5, 'no retry of a permanent error');

    // Resolved notice threads under the delivered firing.
    await notifier.notify(resolveAlert(a));
    await notifier.flush();
    const firstTs = slack.posted.length; // ts values are sequential in the fake
    assert.ok(slack.posted.at(-1)?.thread_ts, `threaded (${firstTs})`);
    await notifier.stop();

    // The token appears nowhere: not in errors, causes, stacks, events or logs.
    assert.equal(retried.length, 3);
    const everything = JSON.stringify({ lines: logger.lines, failed: failed.map((f) => dump(f.error)), retried: retried.map((e) => dump(e)), errors: errors.map((e) => dump(e)) });
    assert.ok(!everything.includes(TOKEN));
    assert.ok(!everything.includes('SECRETSECRET'));
  });

  it('an outage (Slack unreachable) then recovery: the alert accepted during it arrives after', async () => {
    const port = await refusedPort();
    const channel = new SlackChannel({ token: TOKEN, channel: 'C0123', slackApiUrl: `http://127.0.0.1:${port}/api/` });
    const notifier = new Notifier({ channels: [channel], groupWait: 0, persistent: true, retry: { initialDelay: 5, maxDelay: 20, maxAttempts: 1000 } });
    notifier.on('error', (e) => assert.fail(e));
    const retries: string[] = [];
    let recovered: FakeSlack | undefined;
    notifier.on('retry', (e) => {
      retries.push(e.error.message);
      // After a few refused connections, Slack comes back on the same address.
      if (retries.length === 3) void FakeSlack.start(port).then((s) => (recovered = s));
    });
    await notifier.start();
    await notifier.notify(createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'accepted during the outage' }));
    await notifier.flush();
    await notifier.stop();
    assert.ok(retries.length >= 3);
    assert.match(retries[0] ?? '', /ECONNREFUSED/);
    assert.ok(recovered);
    assert.match(recovered.posted[0]?.text ?? '', /accepted during the outage/);
    await recovered.close();
  });
});
