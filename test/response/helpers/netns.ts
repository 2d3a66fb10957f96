// A two-namespace lab on a real kernel: `def` (defended, runs the TCP listener and nft)
// and `att` (attacker, several IPv4 and IPv6 source addresses), joined by a veth pair.
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
let counter = 0;

/** Runs a command without a shell; throws with its stderr. */
export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Lab {
  readonly def: string;
  readonly att: string;
  /** The nft command inside the defended namespace. */
  readonly nft: string[];
  readonly server4: string;
  readonly server6: string;
  /** Attacker source addresses (IPv4: 10.N.0.10-19; IPv6: fd00:N::10-19 and fd00:N:0:0:1::x are other /64s? no: same /64). */
  readonly attackers4: string[];
  readonly attackers6: string[];
  readonly port: number;
  /** Whether a TCP connect from `src` reaches the listener (false when dropped or rejected). */
  connect(src: string, timeoutMs?: number): Promise<boolean>;
  /** Adds another source address on the attacker side (e.g. a fresh one inside a banned /64). */
  addAttackerAddress(address: string): void;
  close(): Promise<void>;
}

/** Creates the lab; `close()` removes everything, also after a failed test. */
export async function createLab(): Promise<Lab> {
  const n = (process.pid % 200) + (counter++ % 50);
  const tag = `${process.pid.toString(36)}${counter}`;
  const def = `hwr-d-${tag}`;
  const att = `hwr-a-${tag}`;
  const vd = `hwd${tag}`.slice(0, 15);
  const va = `hwa${tag}`.slice(0, 15);
  const children: ChildProcessWithoutNullStreams[] = [];
  const cleanup = async (): Promise<void> => {
    for (const child of children) {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'close');
    }
    for (const ns of [def, att]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  };
  try {
    run('ip', ['netns', 'add', def]);
    run('ip', ['netns', 'add', att]);
    run('ip', ['link', 'add', vd, 'netns', def, 'type', 'veth', 'peer', 'name', va, 'netns', att]);
    const server4 = `10.${n}.0.1`;
    const server6 = `fd00:${n.toString(16)}::1`;
    const attackers4 = Array.from({ length: 10 }, (_, i) => `10.${n}.0.${10 + i}`);
    const attackers6 = Array.from({ length: 10 }, (_, i) => `fd00:${n.toString(16)}::${(0x10 + i).toString(16)}`);
    for (const [ns, dev] of [
      [def, vd],
      [att, va],
    ] as const) {
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    run('ip', ['-n', def, 'addr', 'add', `${server4}/16`, 'dev', vd]);
    run('ip', ['-n', def, 'addr', 'add', `${server6}/48`, 'dev', vd, 'nodad']);
    const addAttackerAddress = (address: string): void => {
      run('ip', ['-n', att, 'addr', 'add', address.includes(':') ? `${address}/48` : `${address}/16`, 'dev', va, 'nodad']);
    };
    for (const a of [...attackers4, ...attackers6]) addAttackerAddress(a);
    const port = 8000 + (counter % 1000);

    const listener = spawn('ip', ['netns', 'exec', def, process.execPath, `${here}listener.mjs`, String(port)]);
    children.push(listener);
    await firstLine(listener);
    const prober = spawn('ip', ['netns', 'exec', att, process.execPath, `${here}prober.mjs`]);
    children.push(prober);
    const lines = readline.createInterface({ input: prober.stdout });
    const waiting = new Map<number, (ok: boolean) => void>();
    let ready!: () => void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    lines.on('line', (line) => {
      if (line === 'ready') return ready();
      const { id, ok } = JSON.parse(line) as { id: number; ok: boolean };
      waiting.get(id)?.(ok);
      waiting.delete(id);
    });
    await isReady;
    let nextId = 0;
    return {
      def,
      att,
      nft: ['ip', 'netns', 'exec', def, 'nft'],
      server4,
      server6,
      attackers4,
      attackers6,
      port,
      addAttackerAddress,
      connect(src, timeoutMs = 1500) {
        const id = nextId++;
        const dst = src.includes(':') ? server6 : server4;
        return new Promise((resolve) => {
          waiting.set(id, resolve);
          prober.stdin.write(`${JSON.stringify({ id, src, dst, port, timeout: timeoutMs })}\n`);
        });
      },
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function firstLine(child: ChildProcessWithoutNullStreams): Promise<void> {
  const lines = readline.createInterface({ input: child.stdout });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'close').then(() => [undefined])])) as [string | undefined];
  if (line !== 'ready') throw new Error(`listener did not start: ${Buffer.concat(stderr).toString()}`);
}
