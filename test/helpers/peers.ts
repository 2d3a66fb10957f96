// The one way a test depends on a real peer program (Prometheus, journald tools, nft, …).
// A missing peer skips only the tests that need it, with a message naming the peer and the
// Debian package that provides it. With HOSTWARDEN_REQUIRE_PEERS=1 (set by .ci/run, which
// installs every package in .ci/apt-packages) a missing peer fails instead: CI never passes by
// skipping. Every peer listed here must have a line in .ci/apt-packages (test/ci/peers.test.ts
// checks that).
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** How to find one peer and which Debian package provides it. */
export interface PeerSpec {
  /** Absolute paths tried in order (a file or directory that must exist). */
  readonly paths?: readonly string[];
  /** A command looked up on `PATH` (must be executable). */
  readonly command?: string;
  /** The Debian package that provides it. */
  readonly debian: string;
}

/** Every peer the tests use. */
export const PEERS = {
  prometheus: { paths: ['/usr/bin/prometheus'], debian: 'prometheus' },
  alertmanager: { paths: ['/usr/bin/prometheus-alertmanager'], debian: 'prometheus-alertmanager' },
  journalctl: { command: 'journalctl', debian: 'systemd' },
  'systemd-journal-remote': { paths: ['/lib/systemd/systemd-journal-remote', '/usr/lib/systemd/systemd-journal-remote'], debian: 'systemd-journal-remote' },
  setpriv: { command: 'setpriv', debian: 'util-linux' },
  'fail2ban-corpus': { paths: ['/usr/lib/python3/dist-packages/fail2ban/tests/files/logs'], debian: 'fail2ban' },
  clamscan: { command: 'clamscan', debian: 'clamav' },
  nft: { command: 'nft', debian: 'nftables' },
  ip: { command: 'ip', debian: 'iproute2' },
} as const satisfies Record<string, PeerSpec>;

/** The name of a peer in {@link PEERS}. */
export type PeerName = keyof typeof PEERS;

/** The environment variable that turns a missing peer from a skip into a failure. */
export const REQUIRE_PEERS_ENV = 'HOSTWARDEN_REQUIRE_PEERS';

/** A peer is missing while HOSTWARDEN_REQUIRE_PEERS=1 says every peer must be there. */
export class MissingPeerError extends Error {
  override readonly name = 'MissingPeerError';
}

function onPath(command: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Where the peer is on this machine, or undefined when it is not installed. */
export function findPeer(name: PeerName): string | undefined {
  const spec: PeerSpec = PEERS[name];
  const found = spec.paths?.find((p) => existsSync(p));
  if (found !== undefined) return found;
  return spec.command === undefined ? undefined : onPath(spec.command);
}

/** The message for a missing peer: which one, and how to install it. */
export function missingPeerMessage(name: PeerName): string {
  return `peer "${name}" is not installed (apt-get install ${PEERS[name].debian})`;
}

function required(env: NodeJS.ProcessEnv): boolean {
  return env[REQUIRE_PEERS_ENV] === '1';
}

/**
 * For test options: `test('…', { skip: skipUnlessPeers('prometheus') }, …)`. False when every
 * named peer is here; otherwise the skip reason naming the missing ones. Throws a
 * {@link MissingPeerError} instead when HOSTWARDEN_REQUIRE_PEERS=1, so the test file fails.
 */
export function skipUnlessPeers(names: readonly PeerName[], env: NodeJS.ProcessEnv = process.env): string | false {
  const missing = names.filter((name) => findPeer(name) === undefined);
  if (missing.length === 0) return false;
  const message = missing.map(missingPeerMessage).join('; ');
  if (required(env)) throw new MissingPeerError(`${message}, and ${REQUIRE_PEERS_ENV}=1 requires every peer`);
  return message;
}

/**
 * Inside a test: the peer's path, or — when it is missing — skips the test and returns
 * undefined (the caller returns). Throws a {@link MissingPeerError} (failing the test) when
 * HOSTWARDEN_REQUIRE_PEERS=1.
 */
export function requirePeer(t: Pick<TestContext, 'skip'>, name: PeerName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = findPeer(name);
  if (path !== undefined) return path;
  if (required(env)) throw new MissingPeerError(`${missingPeerMessage(name)}, and ${REQUIRE_PEERS_ENV}=1 requires every peer`);
  t.skip(missingPeerMessage(name));
  return undefined;
}

/**
 * Inside a test that runs with or without the peer but checks more with it: the peer's path,
 * or undefined with a diagnostic saying what was left out. Throws a {@link MissingPeerError}
 * when HOSTWARDEN_REQUIRE_PEERS=1, so CI always checks the whole thing.
 */
export function optionalPeer(t: Pick<TestContext, 'diagnostic'>, name: PeerName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = findPeer(name);
  if (path !== undefined) return path;
  if (required(env)) throw new MissingPeerError(`${missingPeerMessage(name)}, and ${REQUIRE_PEERS_ENV}=1 requires every peer`);
  t.diagnostic(`${missingPeerMessage(name)}: the part of this test that needs it did not run`);
  return undefined;
}
