// Runs every benchmark in bench/ (files named *.bench.ts) one after another, each in its
// own process so one's memory and JIT state cannot skew the next. Each prints its table.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
// Words pick benchmarks by name; flags (--src) are passed on to each of them.
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const benches = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  // A word naming a benchmark exactly picks that one (`watcher`, not also `logwatcher`);
  // otherwise every benchmark whose name contains it.
  .filter((name, _, all) => only.length === 0 || only.some((word) => (all.includes(`${word}.bench.ts`) ? name === `${word}.bench.ts` : name.includes(word))))
  .sort();

if (benches.length === 0) {
  console.log(only.length > 0 ? `No benchmark matches ${only.join(', ')}.` : 'No benchmarks in bench/ yet.');
}
let failed = 0;
for (const name of benches) {
  console.log(`\n## ${name.replace(/\.bench\.ts$/, '')}\n`);
  const result = spawnSync(process.execPath, ['--expose-gc', '--import=tsx/esm', `${dir}${name}`, ...flags], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
