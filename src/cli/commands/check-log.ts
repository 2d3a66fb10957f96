import { EXIT, UsageError, type CliContext } from '../context.js';
import type { CheckLogCliOptions } from '../program.js';

/** `hostwarden check-log`: waits for the LogWatcher part. */
export async function checkLog(_file: string, _opts: CheckLogCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('check-log is not available in this build yet');
}
export const _exit = EXIT;
