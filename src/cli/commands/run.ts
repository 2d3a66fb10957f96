import { Agent } from '../agent.js';
import { loadConfig } from '../config.js';
import { EXIT, type CliContext } from '../context.js';
import type { RunCliOptions } from '../program.js';
import { streamLogger } from '../stream-logger.js';

/** `hostwarden run --config`: validates, then runs the agent until SIGINT/SIGTERM. */
export async function run(opts: RunCliOptions, ctx: CliContext): Promise<number> {
  const config = await loadConfig(opts.config);
  const logger = streamLogger(ctx.stderr);
  // Constructing validates what the schema cannot (globs, URLs, rules): --check does it too.
  const agent = new Agent(config, { env: ctx.env, logger, stdout: ctx.stdout, persistent: true });
  if (opts.check) {
    ctx.stdout.write(`${opts.config}: valid (${config.notifier.channels.length} channel${config.notifier.channels.length === 1 ? '' : 's'})\n`);
    return EXIT.ok;
  }
  await agent.start();
  const parts = Object.entries(agent.parts)
    .filter(([, p]) => p !== undefined)
    .map(([name]) => name);
  logger.info(`hostwarden running (${parts.join(', ')}); stop with Ctrl-C or SIGTERM`);
  await untilAborted(ctx.signal);
  logger.info('stopping: flushing alerts and saving positions');
  await agent.stop();
  logger.info('stopped');
  return EXIT.ok;
}

/** Resolves when the signal aborts (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
