import { UsageError, type CliContext } from '../cli/context.js';
import type { DemoCliOptions } from '../cli/program.js';

/** `hostwarden demo` / `npm run demo`. */
export async function runDemoCommand(_opts: DemoCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('the demo is not available in this build yet');
}
