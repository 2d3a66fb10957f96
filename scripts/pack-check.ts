// Packs hostwarden exactly as `npm publish` would, installs the tarball into a fresh app in a
// temp dir (the way a user gets it), and uses it from there with plain `node` — no tsx, no
// tsconfig paths, no access to this repository's src/ or node_modules. Fails loudly when the
// tarball lacks code, a documented export is missing or has the wrong kind, the declarations do
// not type-check for a consumer, or the `hostwarden` command does not run.
// Run: npm run pack-check   (.ci/run runs it after `npm test`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentedExports } from './public-api.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell (arguments as an array) and collects its output. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

class CheckFailed extends Error {
  override readonly name = 'CheckFailed';
}

/** Runs a step; a non-zero exit (or an exit other than `expect`) fails the whole check with its output. */
async function step(title: string, command: string, args: readonly string[], cwd: string, expect = 0): Promise<Run> {
  const result = await run(command, args, cwd);
  if (result.code !== expect) {
    throw new CheckFailed(`${title}: \`${[command, ...args].join(' ')}\` exited ${result.code} (expected ${expect})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  console.log(`ok  ${title}`);
  return result;
}

function assertIncludes(title: string, text: string, needle: string): void {
  if (!text.includes(needle)) throw new CheckFailed(`${title}: expected the output to contain ${JSON.stringify(needle)}, got:\n${text}`);
  console.log(`ok  ${title}`);
}

/** The module a consumer runs with plain node: every documented runtime export, with its kind, and nothing else. */
function runtimeCheckSource(): string {
  const expected = Object.fromEntries(
    documentedExports()
      .filter((e) => e.kind !== 'type')
      .map((e) => [e.name, e.kind]),
  );
  return `import * as hostwarden from 'hostwarden';
const expected = ${JSON.stringify(expected, null, 2)};
const problems = [];
for (const [name, kind] of Object.entries(expected)) {
  const value = hostwarden[name];
  if (value === undefined) problems.push(\`\${name}: documented \${kind}, not exported\`);
  else if ((kind === 'class' || kind === 'function') && typeof value !== 'function') problems.push(\`\${name}: documented \${kind}, is \${typeof value}\`);
}
for (const name of Object.keys(hostwarden)) if (!(name in expected)) problems.push(\`\${name}: exported, not documented\`);
if (problems.length > 0) { console.error(problems.join('\\n')); process.exit(1); }
console.log(\`\${Object.keys(expected).length} runtime exports present\`);
`;
}

/** A consumer's TypeScript file naming every documented export, type-checked against the shipped declarations. */
function typeCheckSource(): string {
  const names = documentedExports().map((e) => (e.kind === 'type' ? `type ${e.name}` : e.name));
  const values = documentedExports()
    .filter((e) => e.kind !== 'type')
    .map((e) => e.name);
  return `import { ${names.join(', ')} } from 'hostwarden';\nexport const used = [${values.join(', ')}];\n`;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'hostwarden-pack-'));
  try {
    const packed = await step('npm pack (runs prepack: a clean build)', 'npm', ['pack', '--json', '--pack-destination', work], root);
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    const files = info[0].files.map((f) => f.path);
    // LICENSE: package.json says MIT, and the MIT terms require the notice to travel with every copy.
    for (const needed of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']) {
      if (!files.includes(needed)) throw new CheckFailed(`the tarball lacks ${needed}; it holds: ${files.join(', ')}`);
    }
    const leaked = files.filter((f) => /^(src|test|bench|scripts)\/|\.test\.js$|\.tsbuildinfo$/.test(f));
    if (leaked.length > 0) throw new CheckFailed(`the tarball ships files a user does not need: ${leaked.join(', ')}`);
    console.log(`ok  tarball holds ${files.length} files, dist/ included`);

    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-check-app', private: true, type: 'module' }));
    const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    await step(
      'npm install <tarball> into a fresh app',
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, info[0].filename), '@types/node@20', 'typescript@' + typescriptVersion()],
      app,
    );

    await checkLicense(join(app, 'node_modules/hostwarden'));

    await writeFile(join(app, 'runtime-check.mjs'), runtimeCheckSource());
    const runtime = await step('plain node imports every documented runtime export', process.execPath, ['runtime-check.mjs'], app);
    process.stdout.write(`    ${runtime.stdout}`);

    await writeFile(join(app, 'types-check.ts'), typeCheckSource());
    await step(
      "the shipped declarations type-check in a consumer's strict project (skipLibCheck off)",
      process.execPath,
      [
        join(app, 'node_modules/typescript/bin/tsc'),
        '--noEmit',
        '--strict',
        '--exactOptionalPropertyTypes',
        '--module',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        'types-check.ts',
      ],
      app,
    );

    const bin = join(app, 'node_modules/.bin/hostwarden');
    const help = await step('node_modules/.bin/hostwarden --help', bin, ['--help'], app);
    for (const command of ['check-log', 'scan', 'quarantine', 'run', 'doctor', 'demo']) assertIncludes(`--help lists ${command}`, help.stdout, command);
    const shownVersion = await step('hostwarden --version', bin, ['--version'], app);
    assertIncludes('--version is the package version', shownVersion.stdout, version);

    // Real work through the installed bin: the worker threads, lazy requires and rule tables
    // must all resolve from dist/, not from this repository.
    const tree = join(work, 'tree');
    await mkdir(tree);
    await writeFile(join(tree, 'eicar.txt'), 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
    await writeFile(join(tree, 'notes.txt'), 'nothing to see\n');
    const scanned = await step('hostwarden scan finds EICAR (exit 1, as clamscan)', bin, ['scan', '--no-progress', tree], app, 1);
    assertIncludes('scan names the file', scanned.stdout, 'eicar.txt');

    const log = join(work, 'auth.log');
    const lines = Array.from({ length: 6 }, (_, i) => `Mar  3 00:17:2${i} host sshd[${1000 + i}]: Failed password for root from 203.0.113.5 port ${40000 + i} ssh2`);
    await writeFile(log, `${lines.join('\n')}\n`);
    const checked = await step('hostwarden check-log on an auth log', bin, ['check-log', log], app);
    assertIncludes('check-log sees the brute force', checked.stdout, 'sshd.brute-force');
    const config = join(work, 'doctor.json');
    await writeFile(config, JSON.stringify({ logs: { files: [log] }, notifier: { channels: [{ type: 'console' }] } }));
    const doctor = await step('hostwarden doctor --config (a readable log: no problem, exit 0)', bin, ['doctor', '--config', config], app);
    assertIncludes('doctor checks the log', doctor.stdout, 'auth.log: readable');
    console.log('pack-check passed');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The installed package's LICENSE is the MIT text its package.json declares, naming its copyright holders. */
async function checkLicense(installed: string): Promise<void> {
  const declared = (JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { license?: unknown }).license;
  const text = await readFile(join(installed, 'LICENSE'), 'utf8').catch(() => '');
  if (declared !== 'MIT') throw new CheckFailed(`package.json declares license ${JSON.stringify(declared)}; LICENSE holds the MIT text`);
  if (!text.startsWith('MIT License\n') || !/^Copyright \(c\) \d{4} hostwarden contributors$/m.test(text) || !text.includes('THE SOFTWARE IS PROVIDED "AS IS"')) {
    throw new CheckFailed(`the installed LICENSE is not the MIT license of hostwarden contributors:\n${text.slice(0, 200)}`);
  }
  console.log('ok  the installed package carries its MIT LICENSE');
}

/** The TypeScript version this repository builds with, so the consumer check uses the same compiler. */
function typescriptVersion(): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')) as { version: string }).version;
}

main().catch((error: unknown) => {
  console.error(`pack-check FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
