// `hostwarden scan` as the world runs it: a real process with a pipe closed early, a real
// tmpfs mounted below the scanned path, safe quarantine defaults, names that are not UTF-8.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Quarantine } from '../../src/index.js';
import { EICAR_TEST_STRING } from '../../src/scanner/detectors/signature.js';
import { cli } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const pe = (): Buffer => {
  const b = Buffer.alloc(512);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x8664, 0x84);
  return b;
};

describe('hostwarden scan in the world', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-scan-world-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('ends quietly with its real status when stdout is closed early (| head), and still quarantines', async () => {
    const tree = join(dir, 'pipe');
    await mkdir(tree);
    const count = 300;
    for (let i = 0; i < count; i++) await writeFile(join(tree, `eicar-${String(i).padStart(3, '0')}.com`), EICAR_TEST_STRING);
    const qdir = join(dir, 'pipe-q');
    const child = spawn(process.execPath, ['--import=tsx/esm', MAIN, 'scan', tree, '--quarantine', qdir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // `head -1`: read one chunk, then close our end of the pipe.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, `the status the scan would have had (found); stderr: ${stderr}`);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
    assert.equal((await new Quarantine({ directory: qdir }).list()).length, count, 'every finding was still quarantined');
  });

  it('crosses into a file system mounted below the path; --one-file-system stays out and exits 2 saying so', async () => {
    const tree = join(dir, 'mounted');
    const mountPoint = join(tree, 'srv-data');
    await mkdir(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'hostwarden-cli-test', mountPoint]);
    try {
      await writeFile(join(mountPoint, 'eicar.com'), EICAR_TEST_STRING);
      const crossed = await cli(['scan', tree]);
      assert.equal(crossed.code, 1, crossed.stdout + crossed.stderr);
      assert.match(crossed.stdout, /srv-data\/eicar\.com: .*EICAR.* FOUND/);
      const stayed = await cli(['scan', tree, '--one-file-system']);
      assert.equal(stayed.code, 2, stayed.stdout);
      assert.match(stayed.stdout, /Infected files: 0/);
      assert.match(stayed.stdout, /Skipped: 1 \(1 other-filesystem\)/);
      assert.match(stayed.stdout, /Not everything was scanned: 1 path skipped/);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('--quarantine isolates only critical findings unless told; info findings are listed, never infections', async () => {
    const tree = join(dir, 'defaults');
    await mkdir(tree);
    await writeFile(join(tree, 'eicar.com'), EICAR_TEST_STRING);
    await writeFile(join(tree, 'setup.exe'), pe()); // a PE named .exe: warning
    await writeFile(join(tree, 'tool'), await readFile('/bin/true')); // an ordinary (PIE) ELF: info
    await writeFile(join(tree, 'build.sh'), '#!/bin/sh\nmake\n'); // a script: info
    const qdir = join(dir, 'defaults-q');
    const run = await cli(['scan', tree, '--quarantine', qdir]);
    assert.equal(run.code, 1);
    const isolated = (await new Quarantine({ directory: qdir }).list()).map((r) => r.originalPath);
    assert.deepEqual(isolated, [join(tree, 'eicar.com')]);
    assert.match(run.stdout, /tool: ELF executable \(64-bit, PIE\).*\[file\.executable, info\] INFO/);
    assert.match(run.stdout, /Infected files: 2 /);
    assert.match(run.stdout, /Listed, not counted: 2 info findings/);

    const tools = join(dir, 'only-info');
    await mkdir(tools);
    await writeFile(join(tools, 'tool'), await readFile('/bin/true'));
    await writeFile(join(tools, 'build.sh'), '#!/bin/sh\nmake\n');
    const clean = await cli(['scan', tools, '--quarantine', qdir]);
    assert.equal(clean.code, 0, 'ordinary binaries and scripts are no infection');
    assert.match(clean.stdout, /Infected files: 0/);

    const wider = await cli(['scan', tree, '--quarantine', qdir, '--quarantine-severity', 'warning']);
    assert.equal(wider.code, 1);
    assert.deepEqual((await new Quarantine({ directory: qdir }).list()).map((r) => r.originalPath).sort(), [join(tree, 'eicar.com'), join(tree, 'setup.exe')]);
  });

  it('finds and names a PE whose name is not valid UTF-8', async () => {
    const tree = join(dir, 'latin1');
    await mkdir(tree);
    await writeFile(Buffer.from(`${tree}/caf\xe9.pdf`, 'latin1'), pe());
    const run = await cli(['scan', tree]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /caf\\xe9\.pdf: PE executable named \.pdf.* FOUND/);
  });
});
