import { UsageError, type CliContext } from '../context.js';
import type { ScanCliOptions } from '../program.js';

/** `hostwarden scan`: waits for the FileScanner part. */
export async function scan(_paths: string[], _opts: ScanCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('scan is not available in this build yet');
}
