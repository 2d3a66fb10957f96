import { UsageError, type CliContext } from '../context.js';
import type { QuarantineCliOptions } from '../program.js';

/** `hostwarden quarantine list`. */
export async function quarantineList(_opts: QuarantineCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('quarantine is not available in this build yet');
}
/** `hostwarden quarantine restore`. */
export async function quarantineRestore(_id: string, _opts: QuarantineCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('quarantine is not available in this build yet');
}
/** `hostwarden quarantine remove`. */
export async function quarantineRemove(_id: string, _opts: QuarantineCliOptions, _ctx: CliContext): Promise<number> {
  throw new UsageError('quarantine is not available in this build yet');
}
