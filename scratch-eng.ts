import { readFileSync } from 'node:fs';
import { RuleEngine, authRules } from './src/index.js';
const lines = readFileSync('/tmp/rw/auth-1m.log', 'utf8').split('\n').slice(0, 200_000);
const e = new RuleEngine({ rules: authRules, hostname: 'h', ...(process.argv[3] === 'nosuccess' ? { successAfterFailures: false } : {}) });
const c0 = process.cpuUsage(); const t0 = performance.now();
let m = 0, a = 0;
for (let i = 0; i < lines.length; i++) { const r = e.handle(lines[i] as string, { file: 'f', lineNumber: i + 1 }); m += r.matches.length; a += r.alerts.length; }
const c = process.cpuUsage(c0);
console.log(process.argv[2] ?? 'new', lines.length, 'lines', m, 'matches', a, 'alerts', ((performance.now() - t0) / 1000).toFixed(2), 's', ((c.user + c.system) / 1e6).toFixed(2), 'cpu s');
