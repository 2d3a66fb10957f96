// A failed scan is never a clean scan: the content workers are a real module started with
// explicit flags, so they run however the host process was started; workers that cannot
// start fail the scan, and a worker that dies reports the files it held as not scanned.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CONTENT_WORKER_ENTRY } from '../../src/scanner/content-pool.js';
import { EICAR_TEST_STRING, FileScanner, IoError, signatureDetector, EICAR_SIGNATURE } from '../../src/index.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));

const SCAN_SCRIPT = (entry: string, root: string): string => `
  import { FileScanner } from ${JSON.stringify(entry)};
  const report = await new FileScanner({ roots: [${JSON.stringify(root)}], threads: 2 }).scan();
  console.log(JSON.stringify({ files: report.filesScanned, rules: report.findings.map((f) => f.rule + ' ' + f.path) }));`;

describe('content workers', () => {
  let dir: string;
  let tree: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-worker-'));
    tree = join(dir, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'eicar.com'), EICAR_TEST_STRING);
    for (let i = 0; i < 20; i++) await writeFile(join(tree, `clean-${i}.txt`), `clean ${i}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('find EICAR in a scan run from `node --input-type=module -e` (source, through tsx)', async () => {
    const entry = new URL('../../src/index.ts', import.meta.url).href;
    const { stdout } = await run(process.execPath, ['--import=tsx/esm', '--input-type=module', '-e', SCAN_SCRIPT(entry, tree)], { cwd: repo });
    const result = JSON.parse(stdout) as { files: number; rules: string[] };
    assert.equal(result.files, 21);
    assert.ok(
      result.rules.some((r) => r.startsWith('file.signature') && r.endsWith('eicar.com')),
      stdout,
    );
  });

  it('report ok health after a complete scan', async () => {
    const scanner = new FileScanner({ roots: [tree], threads: 1 });
    await scanner.scan();
    assert.deepEqual(scanner.health().state, 'ok');
  });

  it('find EICAR in a scan run from `node --input-type=module -e` against the compiled package', async () => {
    // Compiled inside the repository so the package's dependencies resolve from node_modules.
    const out = await mkdtemp(join(repo, '.test-dist-'));
    try {
      await run(
        process.execPath,
        [
          join(repo, 'node_modules/typescript/bin/tsc'),
          '-p',
          join(repo, 'tsconfig.build.json'),
          '--outDir',
          out,
          '--declaration',
          'false',
          '--declarationMap',
          'false',
          '--sourceMap',
          'false',
        ],
        { cwd: repo },
      );
      const entry = new URL(`file://${join(out, 'index.js')}`).href;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCAN_SCRIPT(entry, tree)], { cwd: dir });
      const result = JSON.parse(stdout) as { files: number; rules: string[] };
      assert.equal(result.files, 21);
      assert.ok(
        result.rules.some((r) => r.startsWith('file.signature') && r.endsWith('eicar.com')),
        stdout,
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('reject the scan when no worker can start, instead of reporting it clean', async () => {
    const scanner = new FileScanner({
      roots: [tree],
      threads: 2,
      [CONTENT_WORKER_ENTRY]: { url: new URL(`file://${join(dir, 'no-such-worker.js')}`), execArgv: [] },
    } as ConstructorParameters<typeof FileScanner>[0]);
    const states: string[] = [];
    scanner.on('health', (h) => states.push(h.state));
    assert.equal(scanner.health().state, 'ok');
    await assert.rejects(scanner.scan(), (error: unknown) => error instanceof IoError && /could not start/.test(error.message));
    assert.equal(scanner.health().state, 'degraded');
    assert.match(scanner.health().checks[0]?.message ?? '', /could not start/);
    assert.deepEqual(states, ['degraded']);
  });

  it('report the files a dying worker held as not scanned, never as clean', async () => {
    // A worker that dies on the batch holding `crash-me`, and otherwise is the real one.
    const crashing = join(dir, 'crashing-worker.mjs');
    await writeFile(
      crashing,
      `import { parentPort } from 'node:worker_threads';
       const on = parentPort.on.bind(parentPort);
       parentPort.on = (event, listener) => on(event, (m) => { if (m.type === 'batch' && m.paths.includes('crash-me')) process.exit(7); listener(m); });
       const { tsImport } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
       await tsImport(${JSON.stringify(new URL('../../src/scanner/content-worker.ts', import.meta.url).href)}, import.meta.url);`,
    );
    await writeFile(join(tree, 'crash-me'), 'anything');
    try {
      const scanner = new FileScanner({
        roots: [tree],
        threads: 1,
        concurrency: 1,
        detectors: [signatureDetector({ signatures: [EICAR_SIGNATURE] })],
        [CONTENT_WORKER_ENTRY]: { url: new URL(`file://${crashing}`), execArgv: [] },
      } as ConstructorParameters<typeof FileScanner>[0]);
      const warnings: string[] = [];
      scanner.on('warning', (w) => warnings.push(w.code));
      const report = await scanner.scan();
      const failed = report.skipped.filter((s) => s.reason === 'scan-failed');
      assert.deepEqual(
        failed.map((s) => s.path),
        [join(tree, 'crash-me')],
      );
      assert.ok(warnings.includes('scan-failed'));
      assert.equal(report.filesScanned, 21, 'every other file is scanned by the replacement worker');
      assert.equal(report.findings.length, 1);
      assert.equal(scanner.health().state, 'degraded');
      assert.match(scanner.health().checks.find((c) => c.name === 'last-scan')?.message ?? '', /1 scan-failed/);
    } finally {
      await rm(join(tree, 'crash-me'));
    }
  });
});
