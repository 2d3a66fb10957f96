#!/usr/bin/env node
// The `hostwarden` executable: wires the real process into runCli and turns the first
// SIGINT/SIGTERM into a clean stop (a second one exits at once, as users expect).
import { runCli } from './program.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  controller.abort(new Error(`received ${signal}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// A reader that went away (`hostwarden scan … | head`) is no failure of the command: it
// finishes its work (a scan still quarantines what it finds) and exits with its real
// status, writing nothing more. Any other stream error still surfaces.
const ignoreEpipe = (error: NodeJS.ErrnoException): void => {
  if (error.code !== 'EPIPE') throw error;
};
process.stdout.on('error', ignoreEpipe);
process.stderr.on('error', ignoreEpipe);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
