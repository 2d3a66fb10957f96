import { EXIT, UsageError, type CliContext } from '../cli/context.js';
import { parseDuration } from '../core/format.js';
import type { DemoCliOptions } from '../cli/program.js';
import { formatSummary, runDemo } from './demo.js';

const DEFAULT_DURATION = 30_000;

/** `hostwarden demo` / `npm run demo`: runs the demo and prints its summary; exit 0. */
export async function runDemoCommand(opts: DemoCliOptions, ctx: CliContext): Promise<number> {
  let durationMs = opts.duration;
  const fromEnv = ctx.env['HOSTWARDEN_DEMO_DURATION'];
  if (durationMs === undefined && fromEnv !== undefined && fromEnv !== '') {
    durationMs = parseDuration(fromEnv);
    if (durationMs === undefined) throw new UsageError(`HOSTWARDEN_DEMO_DURATION: expected a duration such as 30s, got ${JSON.stringify(fromEnv)}`);
  }
  const summary = await runDemo({
    durationMs: durationMs ?? DEFAULT_DURATION,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    env: ctx.env,
    signal: ctx.signal,
    slackApiUrl: opts.slackApiUrl,
    authLog: opts.authLog ?? ctx.env['HOSTWARDEN_DEMO_AUTH_LOG'],
  });
  ctx.stdout.write(`\n${formatSummary(summary)}\n`);
  return EXIT.ok;
}
