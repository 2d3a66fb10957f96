// Type tests for the LogWatcher rule API: checked by `tsc --noEmit` (npm test), never run.
import { authRules, defineRule, matchFile, matchLines, parseSyslogLine, RuleEngine, type LogMatch, type LogRule, type RuleAlert } from '../../src/index.js';

const ok: LogRule = { id: 'a', description: 'b', severity: 'warning', tags: ['auth-failure'], pattern: /x/, alert: { count: 3, within: 60_000, groupBy: 'host' } };
defineRule(ok);
const every: RuleAlert = 'every';
void every;

// @ts-expect-error: severity is one of the three
const badSeverity: LogRule = { ...ok, severity: 'fatal' };
// @ts-expect-error: pattern is a RegExp, not a string
const badPattern: LogRule = { ...ok, pattern: 'Failed password' };
// @ts-expect-error: a threshold needs `within`
const badAlert: RuleAlert = { count: 5 };
// @ts-expect-error: 'sometimes' is not an alert mode
const badMode: RuleAlert = 'sometimes';
// @ts-expect-error: authRules is read-only
authRules.push(ok);
void [badSeverity, badPattern, badAlert, badMode];

async function use(): Promise<void> {
  for await (const m of matchFile('/var/log/auth.log', { rules: authRules })) {
    const host: string | undefined = m.fields.host;
    const n: number = m.lineNumber;
    // @ts-expect-error: time is a Date
    const t: number = m.time;
    void [host, n, t];
  }
  const it: AsyncIterable<LogMatch> = matchLines(['x']);
  void it;
  const engine = new RuleEngine({ rules: authRules, clock: () => Date.now() });
  const { matches, alerts } = engine.handle('line', { file: 'f', lineNumber: 1 });
  void [matches, alerts, engine.sweep()];
  // @ts-expect-error: handle needs an origin
  engine.handle('line');
  const parsed = parseSyslogLine('x');
  const program: string | undefined = parsed.program;
  void program;
}
void use;
