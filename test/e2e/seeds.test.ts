// End to end: the two seed examples and the CLI, as separate processes, against temp
// data and a Slack-compatible server on 127.0.0.1.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Quarantine } from '../../src/quarantine/quarantine.js';
import { bruteForceLines, plantDemoTree } from '../../src/demo/samples.js';
import { startChild } from './child.js';
import { startSlackServer, type SlackMessage, type SlackServer } from './slack-server.js';

const has = (m: SlackMessage, text: string): boolean => m.text.includes(text) || m.blocksJson.includes(text);

describe('seed examples and CLI, end to end', () => {
  let dir: string;
  let slack: SlackServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-e2e-'));
    slack = await startSlackServer();
  });
  after(async () => {
    await slack.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('server-anomaly-detection: auth failures, brute force and memory alerts reach Slack; SIGTERM exits 0', async () => {
    slack.messages.length = 0;
    const log = join(dir, 'auth.log');
    await writeFile(log, '');
    const child = startChild('examples/server-anomaly-detection.ts', ['--log', log, '--cpu', '100', '--memory', '0', '--for', '0', '--interval', '200'], {
      SLACK_TOKEN: 'xoxb-e2e-token',
      SLACK_CHANNEL: '#ops',
      SLACK_API_URL: slack.url,
    });
    try {
      await child.waitForOutput(/Watching .*auth\.log/);
      // An attacker-chosen user name that would ping the whole channel if sent raw.
      const lines = [...bruteForceLines({ attempts: 6 }), bruteForceLines({ attempts: 1 })[1]!.replace('for root', 'for invalid user <!channel>')];
      await appendFile(log, `${lines.join('\n')}\n`);
      await child.waitForOutput(/Authentication failure for root from 203\.0\.113\.45/);
      // Observe mode by default: the brute force is reported as a ban, and nothing is touched.
      await child.waitForOutput(/Would ban 203\.0\.113\.45 until .* \(sshd\.brute-force, ban #1\)/);
      await slack.waitFor((ms) => ms.some((m) => has(m, 'SSH brute force from 203.0.113.45')) && ms.some((m) => /Memory/.test(m.text)));
      for (const m of slack.messages) {
        assert.equal(m.token, 'xoxb-e2e-token');
        assert.equal(m.channel, '#ops');
        assert.ok(!m.text.includes('<!channel>') && !m.blocksJson.includes('<!channel>'), `unescaped mention in ${m.text}`);
      }
      assert.ok(!child.output().includes('xoxb-e2e-token'), 'the token never reaches the output');
    } finally {
      child.process.kill('SIGTERM');
    }
    const { code } = await child.exited();
    assert.equal(code, 0, child.output());
  });

  it('server-anomaly-detection without a token: alerts on the console', async () => {
    const log = join(dir, 'quiet.log');
    await writeFile(log, '');
    const before = slack.messages.length;
    const child = startChild('examples/server-anomaly-detection.ts', ['--log', log, '--cpu', '100', '--memory', '0', '--for', '0', '--interval', '200'], {});
    try {
      await child.waitForOutput(/SLACK_TOKEN and SLACK_CHANNEL are not set/);
      await child.waitForOutput(/\[FIRING\].*Memory/);
    } finally {
      child.process.kill('SIGINT');
    }
    assert.equal((await child.exited()).code, 0, child.output());
    assert.equal(slack.messages.length, before, 'nothing went to Slack');
  });

  it('malicious-code-detection: logs to malicious_code.log, isolates each finding, warns on Slack', async () => {
    slack.messages.length = 0;
    const home = join(dir, 'home');
    const planted = await plantDemoTree(home);
    // A name an attacker chose to rewrite the admin's terminal.
    await writeFile(join(home, 'bob', 'clear\u001b[2J\u001b]0;owned\u0007.exe'), 'MZ');
    const quarantineDir = join(dir, 'quarantine');
    const logFile = join(dir, 'malicious_code.log');
    const child = startChild('examples/malicious-code-detection.ts', ['--root', home, '--quarantine', quarantineDir, '--log', logFile], {
      SLACK_TOKEN: 'xoxb-e2e-token',
      SLACK_CHANNEL: '#security',
      SLACK_API_URL: slack.url,
    });
    const { code } = await child.exited(60_000);
    assert.equal(code, 1, `exit 1 when something was found\n${child.output()}`);

    const entries = (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; message: string });
    const warned = entries.filter((e) => e.level === 'warn' && e.message.startsWith('Suspicious file:')).map((e) => e.message);
    assert.ok(!/[\u0007\u001b]/.test(child.output()), 'no raw control character from a file name reaches the console');
    assert.ok(
      warned.some((m) => m.includes('clear\\x1b[2J\\x1b]0;owned\\x07.exe')),
      'the hostile name is reported, escaped',
    );
    for (const p of ['invoice.pdf', 'eicar.com.txt', '.cache/update', 'plugin.dll'])
      assert.ok(
        warned.some((m) => m.includes(p)),
        `${p} logged; got ${warned.join('\n')}`,
      );
    assert.ok(!warned.some((m) => m.includes('notes.txt') || m.includes('cat.jpg')), 'clean files are not reported');

    // Only critical findings are isolated by default (issue #14): ordinary binaries, scripts
    // and a text file named .exe are reported, never moved (that broke users' tools in v1).
    const records = await new Quarantine({ directory: quarantineDir }).list();
    assert.deepEqual(records.map((r) => r.originalPath.slice(home.length + 1)).sort(), ['alice/Downloads/eicar.com.txt', 'bob/Downloads/invoice.pdf']);
    assert.ok(planted.length > records.length);
    const left = await readdir(join(home, 'bob', 'Downloads'));
    assert.deepEqual(left, [], 'the PE disguised as a PDF was moved out');

    await slack.waitFor((ms) => ms.some((m) => has(m, 'invoice.pdf')) && ms.some((m) => has(m, 'EICAR')));
    assert.ok(slack.messages.every((m) => m.channel === '#security'));
  });

  it('hostwarden run --config: the agent alerts on Slack and stops on SIGTERM', async () => {
    slack.messages.length = 0;
    const log = join(dir, 'agent-auth.log');
    await writeFile(log, '');
    const home = join(dir, 'agent-home');
    await plantDemoTree(home);
    const config = join(dir, 'hostwarden.json');
    await writeFile(
      config,
      JSON.stringify({
        stateDirectory: join(dir, 'agent-state'),
        logs: { files: [log], maxRetry: 3, findTime: '5m' },
        scan: { roots: [home], quarantine: { directory: join(dir, 'agent-quarantine'), minSeverity: 'critical' } },
        notifier: { channels: [{ type: 'slack', tokenEnv: 'HW_SLACK', channel: '#agent', slackApiUrl: slack.url }, { type: 'console' }] },
      }),
    );
    const child = startChild('src/cli/main.ts', ['run', '--config', config], { HW_SLACK: 'xoxb-agent' });
    try {
      await child.waitForOutput(/hostwarden running/);
      await appendFile(log, `${bruteForceLines({ attempts: 3, attacker: '192.0.2.66' }).join('\n')}\n`);
      await slack.waitFor((ms) => ms.some((m) => has(m, 'SSH brute force from 192.0.2.66')) && ms.some((m) => has(m, 'invoice.pdf')));
      assert.ok(slack.messages.every((m) => m.token === 'xoxb-agent' && m.channel === '#agent'));
      await child.waitForOutput(/\[CRITICAL\] FIRING {2}SSH brute force from 192\.0\.2\.66/);
    } finally {
      child.process.kill('SIGTERM');
    }
    assert.equal((await child.exited()).code, 0, child.output());
    assert.match(child.output(), /stopped/);
    const records = await new Quarantine({ directory: join(dir, 'agent-quarantine') }).list();
    assert.ok(
      records.some((r) => r.originalPath.endsWith('invoice.pdf')),
      'critical findings were isolated',
    );
  });

  it('hostwarden scan and check-log as processes: exit codes and JSON', async () => {
    const tree = join(dir, 'scan-tree');
    await plantDemoTree(tree);
    const found = startChild('src/cli/main.ts', ['scan', tree, '--json'], {});
    assert.equal((await found.exited()).code, 1, found.output());
    const report = JSON.parse(found.output()) as { findings: { path: string }[]; exitCode: number };
    assert.equal(report.exitCode, 1);
    assert.ok(report.findings.some((f) => f.path.endsWith('invoice.pdf')));

    const clean = startChild('src/cli/main.ts', ['scan', join(tree, 'shared')], {});
    assert.equal((await clean.exited()).code, 0, clean.output());
    assert.match(clean.output(), /Infected files: 0/);

    const missing = startChild('src/cli/main.ts', ['scan', join(dir, 'no-such-dir')], {});
    assert.equal((await missing.exited()).code, 2, missing.output());

    const log = join(dir, 'check.log');
    await writeFile(log, `${bruteForceLines({ attempts: 7 }).join('\n')}\n`);
    const check = startChild('src/cli/main.ts', ['check-log', log, '--json'], {});
    assert.equal((await check.exited()).code, 0, check.output());
    const summary = JSON.parse(check.output()) as { lines: number; alerts: { title: string }[]; hosts: { host: string; failures: number; lines: number }[] };
    assert.equal(summary.lines, 8);
    assert.deepEqual(summary.hosts, [{ host: '203.0.113.45', failures: 7, lines: 7 }]);
    assert.equal(summary.alerts.length, 1);
    assert.match(summary.alerts[0]?.title ?? '', /SSH brute force from 203\.0\.113\.45/);
  });
});
