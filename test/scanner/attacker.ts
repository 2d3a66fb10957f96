// A real unprivileged attacker for the quarantine race tests: a python3 process run as
// `nobody` through setpriv, swapping entries it owns with renameat2(RENAME_EXCHANGE) in a
// tight loop, as fast as the kernel allows.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';

/** nobody/nogroup on Debian. */
export const NOBODY = { uid: 65534, gid: 65534 };

const SCRIPT = String.raw`
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_EXCHANGE = 2
pairs = [(sys.argv[i], sys.argv[i + 1]) for i in range(1, len(sys.argv), 2)]
encoded = [(a.encode(), b.encode()) for a, b in pairs]
attempts = 0
swaps = 0
stop = False
def on_term(signum, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
sys.stdout.write("ready\n")
sys.stdout.flush()
while not stop:
    for a, b in encoded:
        attempts += 1
        if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
            swaps += 1
sys.stdout.write("%d %d\n" % (attempts, swaps))
sys.stdout.flush()
`;

/** A running attacker; {@link Attacker.stop} ends it and returns how often it tried and succeeded. */
export interface Attacker {
  readonly child: ChildProcessWithoutNullStreams;
  stop(): Promise<{ attempts: number; swaps: number }>;
}

/**
 * Starts the attacker swapping each pair of paths (absolute, owned by nobody) with
 * RENAME_EXCHANGE, and resolves once it runs.
 */
export async function startAttacker(pairs: readonly (readonly [string, string])[]): Promise<Attacker> {
  const child = spawn('setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', '/usr/bin/python3', '-c', SCRIPT, ...pairs.flat()], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (output.includes('ready\n')) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the attacker exited with ${code} before it started: ${errors}`)));
    child.once('error', reject);
  });
  return {
    child,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      const match = /(\d+) (\d+)\n$/.exec(output);
      if (!match) throw new Error(`the attacker reported nothing: ${errors}`);
      return { attempts: Number(match[1]), swaps: Number(match[2]) };
    },
  };
}
