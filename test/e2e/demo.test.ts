// `npm run demo` as a user runs it: no config, no root; here shortened to a few seconds,
// with a private TMPDIR to prove it cleans up and a local Slack to prove it posts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../cli/helpers.js';
import { ROOT } from './child.js';
import { startSlackServer, type SlackServer } from './slack-server.js';

function npmRunDemo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run demo', () => {
  let tmp: string;
  let slack: SlackServer;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'hw-demo-test-'));
    slack = await startSlackServer();
  });
  after(async () => {
    await slack.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('runs the main job for the given duration, prints alerts and a summary, posts to Slack, exits 0 and cleans up', async () => {
    const { code, stdout, stderr } = await npmRunDemo({
      HOSTWARDEN_DEMO_DURATION: '4s',
      HOSTWARDEN_DEMO_AUTH_LOG: join(tmp, 'no-auth.log'), // force the simulated brute force, even as root
      TMPDIR: tmp,
      SLACK_TOKEN: 'xoxb-demo',
      SLACK_CHANNEL: '#demo',
      SLACK_API_URL: slack.url,
    });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    // Each part shows up on the console…
    assert.match(stdout, /\[CRITICAL\] FIRING {2}SSH brute force from 203\.0\.113\.45/);
    assert.match(stdout, /\[WARNING\] FIRING {2}.*Memory.*\n {2}rule {6}resource \/ memory\.demo/);
    assert.match(stdout, /PE executable named \.pdf/);
    assert.match(stdout, /EICAR/);
    assert.match(stdout, /quarantined +bob\/Downloads\/invoice\.pdf as /);
    // …the summary closes the run…
    assert.match(stdout, /── hostwarden demo summary/);
    assert.match(stdout, /Logs {7}simulated brute force: 9 lines read, 9 matched, 8 authentication failures/);
    assert.match(stdout, /Files {6}7 files .* scanned, 4 findings, 4 quarantined/);
    assert.match(stdout, /Alerts {5}\d+ raised, \d+ printed, \d+ sent to Slack/);
    // …Slack got the same alerts…
    assert.ok(
      slack.messages.some((m) => m.text.includes('SSH brute force from 203.0.113.45')),
      slack.messages.map((m) => m.text).join('\n'),
    );
    assert.ok(slack.messages.every((m) => m.channel === '#demo' && m.token === 'xoxb-demo'));
    // …and nothing is left behind.
    // (tsx keeps its compile cache in TMPDIR too; that one is not the demo's.)
    assert.deepEqual(
      (await readdir(tmp)).filter((name) => !name.startsWith('tsx-')),
      [],
      'the demo removed its temp dir',
    );
  });

  it('stops early and still prints its summary when interrupted (Ctrl-C)', async () => {
    const controller = new AbortController();
    // Ctrl-C once the demo says it is running (its parts are started), not after a fixed
    // pause that may come before that on a loaded machine or long after it on an idle one.
    let interruptedRunning = false;
    const onStdout = (soFar: string): void => {
      if (controller.signal.aborted || !/hostwarden demo: running for 10m/.test(soFar)) return;
      interruptedRunning = true;
      controller.abort();
    };
    // Only a failure guard: a demo that never says it is running is stopped so the test can fail.
    const guard = setTimeout(() => controller.abort(), 120_000);
    const { code, stdout } = await cli(['demo', '--duration', '10m', '--auth-log', join(tmp, 'missing.log')], { signal: controller.signal, onStdout }).finally(() =>
      clearTimeout(guard),
    );
    assert.ok(interruptedRunning, `the demo never said it was running:\n${stdout}`);
    assert.equal(code, 0);
    assert.match(stdout, /── hostwarden demo summary/);
    assert.match(stdout, /Temp files removed\./);
  });
});
