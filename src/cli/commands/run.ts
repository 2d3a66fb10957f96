import { loadConfig } from '../config.js';
import { EXIT, UsageError, type CliContext } from '../context.js';
import type { RunCliOptions } from '../program.js';

/** `hostwarden run --config`: validates, then runs the agent until the signal aborts. */
export async function run(opts: RunCliOptions, ctx: CliContext): Promise<number> {
  const config = await loadConfig(opts.config);
  if (opts.check) {
    ctx.stdout.write(`${opts.config}: valid (${config.notifier.channels.length} channel(s))\n`);
    return EXIT.ok;
  }
  throw new UsageError('run is not available in this build yet');
}
