/** How to start a worker thread module. @internal */
export interface WorkerEntry {
  readonly url: URL;
  readonly execArgv: string[];
}

/**
 * Where a worker module is and how to start it, with explicit flags either way: workers
 * otherwise inherit the parent's `execArgv` (`--input-type=module`, `-e`, a user's
 * loaders), which is what broke them in v1. `caller` is the `import.meta.url` of a module
 * beside the worker, `name` the worker's file name without extension. From the compiled
 * package the worker is `<name>.js`; from source (tests, `tsx`) it is `<name>.ts`, imported
 * through tsx's `tsImport` by a two-line bootstrap (an `--import` of tsx in a worker's
 * `execArgv` does not apply to the worker's own entry on Node 20).
 *
 * @internal
 */
export function workerEntry(caller: string, name: string): WorkerEntry {
  if (!caller.endsWith('.ts')) return { url: new URL(`./${name}.js`, caller), execArgv: [] };
  const worker = new URL(`./${name}.ts`, caller).href;
  const bootstrap = `import { tsImport } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\nawait tsImport(${JSON.stringify(worker)}, ${JSON.stringify(caller)});\n`;
  return { url: new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), execArgv: [] };
}
