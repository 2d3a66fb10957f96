// The two other examples, run as a user would: the full agent (state file, outbox,
// quarantine) and the custom rule/detector/handler.
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bruteForceLines, plantDemoTree } from '../../src/demo/samples.js';
import { startChild } from './child.js';

describe('examples/agent.ts and examples/custom-rule.ts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-examples-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('agent: alerts from logs and files, positions and outbox kept in the state dir, clean SIGTERM', async () => {
    const log = join(dir, 'auth.log');
    await writeFile(log, '');
    const home = join(dir, 'home');
    await plantDemoTree(home);
    const state = join(dir, 'state');
    const child = startChild('examples/agent.ts', ['--state-dir', state, '--log', log, '--root', home, '--interval', '1000'], {});
    try {
      await child.waitForOutput(/hostwarden agent running/);
      await child.waitForOutput(/Scan: 7 files .* 4 findings, 2 quarantined/);
      await appendFile(log, `${bruteForceLines({ attempts: 5, attacker: '198.51.100.23' }).join('\n')}\n`);
      await child.waitForOutput(/\[FIRING\] SSH brute force from 198\.51\.100\.23/);
    } finally {
      child.process.kill('SIGTERM');
    }
    assert.equal((await child.exited()).code, 0, child.output());
    assert.match(child.output(), /stopped/);
    const saved = JSON.parse(await readFile(join(state, 'logwatcher.json'), 'utf8')) as unknown;
    assert.match(JSON.stringify(saved), /auth\.log/, 'the position of the log was saved');
    assert.ok((await readdir(join(state, 'outbox'))).length > 0, 'the outbox exists');
    assert.equal((await readdir(join(state, 'quarantine'))).filter((f) => f.endsWith('.json')).length, 2, 'the two critical findings were isolated');
  });

  it('custom-rule: the own rule fires, the handler writes the block list, the own detector finds the web shell', async () => {
    const log = join(dir, 'app.log');
    await writeFile(log, '');
    const www = join(dir, 'www');
    await mkdir(www);
    await writeFile(join(www, 'upload.php'), '<?php eval(base64_decode($_POST["x"])); ?>');
    await writeFile(join(www, 'index.php'), '<?php echo "hello"; ?>');
    const blocklist = join(dir, 'blocked.txt');
    const child = startChild('examples/custom-rule.ts', ['--log', log, '--root', www, '--blocklist', blocklist], {});
    try {
      await child.waitForOutput(/rule self-test: shop\.login-failed matched, host=203\.0\.113\.7/);
      await child.waitForOutput(/Scanned 2 files under .*: 1 findings/);
      assert.match(child.output(), /PHP evaluates request input \(web shell pattern\): .*upload\.php/);
      const now = new Date().toISOString();
      await appendFile(log, ['198.51.100.1', '203.0.113.99', '203.0.113.99', '203.0.113.99'].map((ip) => `${now} web1 shop[42]: login failed for user=eve ip=${ip}\n`).join(''));
      await child.waitForOutput(/Added 203\.0\.113\.99 to /);
    } finally {
      child.process.kill('SIGINT');
    }
    assert.equal((await child.exited()).code, 0, child.output());
    assert.equal(await readFile(blocklist, 'utf8'), '203.0.113.99\n', 'only the address over the threshold is blocked');
  });
});
