import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import type { DoctorCliOptions } from './doctor.js';

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive number of milliseconds');
  return n;
}

/**
 * Adds `hostwarden doctor` to the program. The checks themselves load only when the command
 * runs, like every other command's.
 */
export function registerDoctor(program: Command, ctx: CliContext, result: { code: number }): void {
  program
    .command('doctor')
    .summary('check what the agent would watch here and what would stop it (exit 1 on a problem)')
    .description(
      'One line per check: log files and the journal readable, /proc readable, scan roots listable, quarantine, outbox and state ' +
        'directories writable (by creating and removing a small file), channel secrets set, peer programs (journalctl, nft) present. ' +
        'With --probe it also contacts Slack (auth.test), SMTP servers (EHLO and login, no mail) and webhook/Alertmanager URLs. ' +
        'Without --config it checks a default agent: the auth log (or the journal), resources, /home, state in /var/lib/hostwarden.',
    )
    .option('-c, --config <file>', 'the JSON config `hostwarden run` would use')
    .option('--probe', 'also contact every notification channel (nothing is posted or mailed)')
    .option('--timeout <ms>', 'network timeout per probe', milliseconds)
    .action(async (opts: DoctorCliOptions) => {
      const { doctor } = await import('./doctor.js');
      result.code = await doctor(opts, ctx);
    });
}
