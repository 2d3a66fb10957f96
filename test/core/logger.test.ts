import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeLogger, createLogger, silentLogger, type Logger } from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';

describe('createLogger', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-logger-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes parseable JSON lines with timestamp, level, message and metadata', async () => {
    const file = join(dir, 'malicious_code.log');
    const logger = createLogger({ level: 'info', file, console: false });
    logger.debug('below the level');
    logger.info('scan started', { roots: ['/home'] });
    logger.warn('Suspicious file: "invoice.pdf"\nnext line', { path: '/home/eve/invoice.pdf', severity: 'critical' });
    await closeLogger(logger);

    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2, 'the debug entry is below the level');
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(entries[0]?.level, 'info');
    assert.equal(entries[0]?.message, 'scan started');
    assert.deepEqual(entries[0]?.roots, ['/home']);
    assert.equal(entries[1]?.level, 'warn');
    assert.equal(entries[1]?.message, 'Suspicious file: "invoice.pdf"\nnext line');
    assert.equal(entries[1]?.path, '/home/eve/invoice.pdf');
    for (const entry of entries) assert.ok(!Number.isNaN(Date.parse(String(entry.timestamp))));
  });

  it('keeps attacker text on one line and escape sequences off the terminal', async () => {
    const result = await runScript(new URL('fixtures/hostile-console-log.ts', import.meta.url), [], 30_000);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, 'a newline in the message must not forge a second entry');
    assert.doesNotMatch(result.stderr, /[\u001b\u0007\u202e]/);
    assert.match(lines[0] ?? '', /warn: Failed password for \\x1b\[2J\\x1b\]0;pwned\\x07root\\nFAKE 00:00 info: all clear/);
    assert.match(lines[0] ?? '', /\\u202e/);
  });

  it('is a Logger', () => {
    const logger: Logger = createLogger({ console: false });
    assert.equal(typeof logger.error, 'function');
  });

  it('the silent default discards everything', () => {
    assert.doesNotThrow(() => silentLogger.error('x', { a: 1 }));
    assert.ok(Object.isFrozen(silentLogger));
  });
});
