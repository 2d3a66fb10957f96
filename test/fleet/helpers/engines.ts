import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { PEERS } from '../../helpers/peers.js';

/** Debian's binaries (packages prometheus-alertmanager and prometheus); tests gate on them with skipUnlessPeers. */
export const ALERTMANAGER_BIN = PEERS.alertmanager.paths[0];
export const PROMETHEUS_BIN = PEERS.prometheus.paths[0];

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A running engine: its base URL, its log so far, and a stop that always cleans up. */
export interface Engine {
  readonly url: string;
  log(): string;
  stop(): Promise<void>;
}

interface EngineSpec {
  readonly name: string;
  readonly bin: string;
  readonly configFile: string;
  readonly config: (port: number) => string;
  readonly args: (dir: string, port: number) => string[];
}

/**
 * Starts a Prometheus-family binary with a temp config and data dir on a free
 * 127.0.0.1 port, and resolves once `/-/ready` answers 200. The binaries start in well
 * under a second on a laptop; the timeout is generous for slow CI machines.
 */
async function startEngine(spec: EngineSpec, readyTimeoutMs = 60_000): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), `hostwarden-${spec.name}-`));
  let child: ChildProcess | undefined;
  let output = '';
  let exited = false;
  // If the test process ends abruptly, do not leave an engine running behind it.
  const killOnExit = (): void => {
    if (child && !exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child && !exited) {
      const gone = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child?.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // A port found free can be taken before the engine binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, spec.configFile);
      await writeFile(configPath, spec.config(port));
      output = '';
      exited = false;
      const proc = spawn(spec.bin, spec.args(dir, port), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      proc.once('exit', () => (exited = true));
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + readyTimeoutMs;
      while (!exited && Date.now() < deadline) {
        try {
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
          await res.body?.cancel();
          if (res.ok) return { url, log: () => output, stop };
        } catch {
          // Not listening yet.
        }
        await sleep(100);
      }
      if (!exited || attempt >= 3 || !/address already in use/.test(output)) {
        throw new Error(`${spec.name} did not become ready within ${readyTimeoutMs} ms:\n${output.slice(-2000)}`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts Alertmanager (clustering disabled) with the given config (a function of nothing but the port). */
export function startAlertmanager(config: string): Promise<Engine> {
  return startEngine({
    name: 'alertmanager',
    bin: ALERTMANAGER_BIN,
    configFile: 'alertmanager.yml',
    config: () => config,
    args: (dir, port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
  });
}

/** Starts Prometheus with the given config. */
export function startPrometheus(config: string): Promise<Engine> {
  return startEngine({
    name: 'prometheus',
    bin: PROMETHEUS_BIN,
    configFile: 'prometheus.yml',
    config: () => config,
    args: (dir, port) => [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** GETs JSON. */
export async function getJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** POSTs JSON and returns the JSON answer. */
export async function postJson<T = unknown>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
