// FileScanner against ClamAV's clamscan and `find | xargs sha256sum` on the same generated tree.
//
//   npm run bench -- scanner            (measures the built package: node dist/index.js)
//   npm run bench -- scanner --src      (measures the TypeScript sources through tsx instead)
//
// Generates ~20,000 files (~300 MB) with planted samples in a temp dir (deleted afterwards),
// writes one ClamAV .hsb for both tools, and runs each contender once on the warm page cache.
// Every hostwarden run happens in a child process of its own so its peak RSS is its own, and
// that child is what a user runs: plain `node` importing the built package (dist/, rebuilt
// with `npm run build` first when missing or older than src/), not tsx compiling sources.
// "scan" is the time of `scanner.scan()` (signature loading included) for hostwarden, and the
// whole command for the others; "process" is the whole child process (Node's start-up and
// the package import included). "CPU" is user + system time of all threads: of the scan for
// hostwarden, of the command otherwise.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EICAR_TEST_STRING } from '../src/index.js';

const FILES = 20_000;
const DIRS = 200;
const TARGET_BYTES = 300 * 1024 * 1024;

interface RunResult {
  readonly ms: number;
  readonly cpuMs: number;
  readonly files: number;
  readonly hashMatches: number;
  readonly findings: number;
  readonly bytesHashed: number;
  readonly peakRssMb: number | undefined;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

// --- the measured child: plain JavaScript, one scan, result as JSON on stdout ----------------
// Written to the temp dir and run by `node` (or `node --import=tsx/esm` with --src); it
// imports hostwarden by URL, as a user's program imports the package.
const CHILD_SOURCE = `
const [entry, mode, root, hsb] = process.argv.slice(2);
const { extensionDetector, executableDetector, hashDetector, FileScanner } = await import(entry);
const detectors = mode === 'default' ? [extensionDetector(), executableDetector(), hashDetector({ files: [hsb] })] : [hashDetector({ files: [hsb] })];
const scanner = new FileScanner({ roots: [root], detectors, maxFileSize: 1024 ** 3 });
const started = performance.now();
const cpuBefore = process.cpuUsage();
const report = await scanner.scan();
const ms = performance.now() - started;
// All threads of the process (main and workers), during the scan only.
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(JSON.stringify({
  ms,
  cpuMs: (cpu.user + cpu.system) / 1000,
  files: report.filesScanned,
  hashMatches: report.findings.filter((f) => f.rule === 'file.hash-match').length,
  findings: report.findings.length,
  bytesHashed: report.bytesHashed,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
}));
process.exit(0);
`;

const repo = fileURLToPath(new URL('..', import.meta.url));
const fromSources = process.argv.includes('--src');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The package entry the child imports: dist/index.js, built first when missing or stale. */
function packageEntry(): string {
  if (fromSources) return pathToFileURL(join(repo, 'src', 'index.ts')).href;
  const dist = join(repo, 'dist', 'index.js');
  let built = 0;
  try {
    built = statSync(dist).mtimeMs;
  } catch {
    // not built yet
  }
  if (built === 0 || newestMtime(join(repo, 'src')) > built) {
    console.log('Building the package (npm run build) so the bench measures what users run...');
    const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repo, stdio: 'inherit' });
    if (result.status !== 0) throw new Error('npm run build failed');
  }
  return pathToFileURL(dist).href;
}

// --- the tree ------------------------------------------------------------------------------
function peImage(size: number): Buffer {
  const b = Buffer.alloc(size);
  randomFillSync(b);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x8664, 0x84);
  return b;
}

interface Tree {
  readonly root: string;
  readonly hsb: string;
  readonly sizelessHsb: string;
  readonly bytes: number;
  readonly planted: { readonly hash: number; readonly disguised: number; readonly exe: number };
}

async function generate(base: string): Promise<Tree> {
  const root = join(base, 'tree');
  // A deterministic pseudo-random pool; files are slices of it at different offsets.
  const pool = Buffer.alloc(8 * 1024 * 1024);
  let seed = 42;
  for (let i = 0; i < pool.length; i += 4) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    pool.writeUInt32LE(seed, i);
  }
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  const dirOf = (k: number): string => join(root, `d${(k % DIRS) % 20}`, `s${k % DIRS}`);
  for (let d = 0; d < DIRS; d++) await mkdir(dirOf(d), { recursive: true });
  const files: { path: string; data: Buffer }[] = [];
  const signatures: string[] = [];
  let bytes = 0;
  const bigFiles = Math.ceil(FILES / 500);
  const average = Math.floor((TARGET_BYTES - bigFiles * 1.5 * 1024 * 1024) / FILES);
  for (let i = 0; i < FILES; i++) {
    const dir = dirOf(i);
    const size = i % 500 === 0 ? 1024 * 1024 + rand(1024 * 1024) : 1 + rand(average * 2 - 600);
    const offset = rand(pool.length - size);
    files.push({ path: join(dir, `file${i}.dat`), data: pool.subarray(offset, offset + size) });
    bytes += size;
  }
  // Planted samples: blocklisted payloads (found by hash), disguised PEs, plain .exe files, EICAR.
  const planted = { hash: 0, disguised: 0, exe: 0 };
  for (let i = 0; i < 25; i++) {
    const data = Buffer.alloc(2000 + i * 37);
    randomFillSync(data);
    const path = join(dirOf(i * 7), `payload${i}.bin`);
    files.push({ path, data });
    signatures.push(`${sha256(data)}:${data.length}:Bench.Planted-${i}`);
    planted.hash++;
  }
  files.push({ path: join(dirOf(3), 'eicar.com'), data: Buffer.from(EICAR_TEST_STRING) });
  signatures.push(`${sha256(EICAR_TEST_STRING)}:${EICAR_TEST_STRING.length}:Eicar-Test-Signature`);
  planted.hash++;
  for (let i = 0; i < 10; i++) {
    files.push({ path: join(dirOf(i * 3), `invoice${i}.pdf`), data: peImage(4096 + i) });
    files.push({ path: join(dirOf(i * 5 + 1), `setup${i}.EXE`), data: peImage(8192 + i) });
    planted.disguised++;
    planted.exe++;
  }
  // A realistic database also lists many signatures that match nothing here.
  for (let i = 0; i < 5000; i++) {
    const fake = Buffer.alloc(32);
    randomFillSync(fake);
    signatures.push(`${fake.toString('hex')}:${1000 + rand(500_000)}:Bench.Decoy-${i}`);
  }
  for (let i = 0; i < files.length; i += 64) {
    await Promise.all(files.slice(i, i + 64).map((f) => writeFile(f.path, f.data)));
  }
  const hsb = join(base, 'bench.hsb');
  await writeFile(hsb, `${signatures.join('\n')}\n`);
  const sizelessHsb = join(base, 'bench-sizeless.hsb');
  await writeFile(sizelessHsb, `${signatures.map((s) => s.replace(/^([0-9a-f]+):\d+:(.*)$/, '$1:*:$2:73')).join('\n')}\n`);
  return { root, hsb, sizelessHsb, bytes: bytes + files.slice(FILES).reduce((n, f) => n + f.data.length, 0), planted };
}

// --- contenders ----------------------------------------------------------------------------
function runChild(mode: 'default' | 'sizeless', tree: Tree, child: string, entry: string): Promise<RunResult & { processMs: number }> {
  const started = performance.now();
  const args = [...(fromSources ? ['--import=tsx/esm'] : []), child, entry, mode, tree.root, mode === 'default' ? tree.hsb : tree.sizelessHsb];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve({ ...(JSON.parse(out) as RunResult), processMs: performance.now() - started }) : reject(new Error(`child exited ${code}`))));
  });
}

function timed(
  command: string,
  args: string[],
  options: { shell?: boolean } = {},
): Promise<{ ms: number; cpuMs: number | undefined; stdout: string; peakRssMb: number | undefined; code: number }> {
  return new Promise((resolve, reject) => {
    // GNU time reports the peak RSS of the whole pipeline's biggest process.
    const started = performance.now();
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024, ...options }, (error, stdout, stderr) => {
      const ms = performance.now() - started;
      const code = error && typeof error.code === 'number' ? error.code : error ? -1 : 0;
      if (error && code !== 1) return reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const cpuMs = user && system ? (Number(user[1]) + Number(system[1])) * 1000 : undefined;
      resolve({ ms, cpuMs, stdout, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined, code });
    });
  });
}

async function which(command: string): Promise<string | undefined> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${command}`], (error, stdout) => resolve(error ? undefined : stdout.trim())));
}

const fmt = (ms: number): string => (ms / 1000).toFixed(2);
const cpu = (ms: number | undefined): string => (ms === undefined ? 'n/a' : fmt(ms));
const mb = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(0));

const entry = packageEntry();
const base = await mkdtemp(join(tmpdir(), 'hostwarden-bench-'));
try {
  const child = join(base, 'child.mjs');
  await writeFile(child, CHILD_SOURCE);
  const t0 = performance.now();
  const tree = await generate(base);
  const total = FILES + tree.planted.hash + tree.planted.disguised + tree.planted.exe;
  console.log(
    `Tree: ${total} files, ${(tree.bytes / 1024 / 1024).toFixed(0)} MiB in ${DIRS} dirs (generated in ${fmt(performance.now() - t0)} s); ` +
      `planted: ${tree.planted.hash} blocklisted (incl. EICAR), ${tree.planted.disguised} PEs named .pdf, ${tree.planted.exe} .EXE; ` +
      `.hsb with ${tree.planted.hash + 5000} signatures. Node ${process.version}, ${availableParallelism()} CPUs ` +
      `(load average ${loadavg()[0]?.toFixed(1)} when it started), warm page cache, one run each; hostwarden measured as \`${fromSources ? 'node --import=tsx/esm src/index.ts' : 'node dist/index.js'}\`.\n`,
  );
  const gnuTime = (await which('/usr/bin/time')) ? '/usr/bin/time' : undefined;
  const rows: string[][] = [];

  const hw = await runChild('default', tree, child, entry);
  rows.push([
    'hostwarden: extension + executable + hash (.hsb, sized)',
    fmt(hw.ms),
    fmt(hw.processMs),
    fmt(hw.cpuMs),
    String(hw.files),
    String(hw.hashMatches),
    String(hw.findings),
    mb(hw.peakRssMb),
  ]);

  const clamscan = await which('clamscan');
  let clam: { ms: number; cpuMs: number | undefined; found: number; peak: number | undefined } | undefined;
  if (clamscan) {
    const args = ['-r', '--no-summary', '--infected', '-d', tree.hsb, tree.root];
    const r = gnuTime ? await timed(gnuTime, ['-v', clamscan, ...args]) : await timed(clamscan, args);
    clam = { ms: r.ms, cpuMs: r.cpuMs, found: r.stdout.split('\n').filter((l) => l.endsWith(' FOUND')).length, peak: r.peakRssMb };
    rows.push([`clamscan -r -d bench.hsb (ClamAV)`, fmt(clam.ms), fmt(clam.ms), cpu(clam.cpuMs), String(total), String(clam.found), String(clam.found), mb(clam.peak)]);
  } else {
    rows.push(['clamscan (not installed: apt-get install clamav)', 'n/a', '', '', '', '', '', '']);
  }

  const sizeless = await runChild('sizeless', tree, child, entry);
  rows.push([
    'hostwarden: hash only, size-less signatures (every file hashed)',
    fmt(sizeless.ms),
    fmt(sizeless.processMs),
    fmt(sizeless.cpuMs),
    String(sizeless.files),
    String(sizeless.hashMatches),
    String(sizeless.findings),
    mb(sizeless.peakRssMb),
  ]);

  const pipeline = `find '${tree.root}' -type f -print0 | xargs -0 sha256sum > /dev/null`;
  const sums = gnuTime ? await timed(gnuTime, ['-v', 'sh', '-c', pipeline]) : await timed('sh', ['-c', pipeline]);
  rows.push(['find \\| xargs sha256sum', fmt(sums.ms), fmt(sums.ms), cpu(sums.cpuMs), String(total), '', '', mb(sums.peakRssMb)]);

  console.log('');
  console.log('| run | scan (s) | process (s) | CPU (s) | files | hash matches | all findings | peak RSS (MB) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log('');
  if (clam)
    console.log(
      `- clamscan / hostwarden: **${(clam.ms / hw.ms).toFixed(1)}x** the scan time, ${(clam.ms / hw.processMs).toFixed(1)}x counting Node's start-up (goal >= 10x); same hash matches: ${clam.found === hw.hashMatches ? 'yes' : 'NO'} (${hw.hashMatches} vs ${clam.found}, planted ${tree.planted.hash})`,
    );
  console.log(
    `- size-less hashing / sha256sum: **${(sizeless.ms / sums.ms).toFixed(2)}x** the time (${(sizeless.processMs / sums.ms).toFixed(2)}x with start-up) (goal <= 1.0); bytes hashed ${(sizeless.bytesHashed / 1024 / 1024).toFixed(0)} MiB`,
  );
  console.log(`- peak RSS: ${mb(Math.max(hw.peakRssMb ?? 0, sizeless.peakRssMb ?? 0))} MB (goal < 150 MB)`);
  console.log(`- extra findings beyond hashes (extension + executable): ${hw.findings - hw.hashMatches}`);
} finally {
  await rm(base, { recursive: true, force: true });
}
