import { createRequire } from 'node:module';

const requireFromHere = createRequire(import.meta.url);

/**
 * A loader for a CommonJS dependency that requires it on first use instead of on import.
 * Every program that imports hostwarden pays for what the package index loads, even one
 * that only scans files: winston, the Slack client and prom-client together cost ~0.2 s
 * and ~20 MB at start-up. A synchronous require keeps the constructors that need them
 * synchronous.
 *
 * @internal
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireFromHere(name) as T);
}
