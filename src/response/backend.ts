/**
 * What a firewall must do for {@link BanManager}. The built-in one is
 * {@link NftablesBackend}; {@link MemoryBackend} is the fake for tests. Users can plug in
 * ipset/iptables or a cloud firewall by implementing this interface.
 */

/** One element of the firewall's ban sets. */
export interface BanEntry {
  /**
   * The banned address or network in canonical text: `192.0.2.7`, `2001:db8:1:2::/64`,
   * `198.51.100.0/24` (see `formatNetwork`). Always parsed and normalised before
   * it reaches a backend.
   */
  readonly address: string;
  /** When the firewall drops the element by itself, in ms since the epoch. */
  readonly until: number;
}

/** What {@link BanBackend.start} found and changed. */
export interface BanReconcileReport {
  /** Whether the backend's table (or equivalent) already existed. */
  readonly existed: boolean;
  /** Entries the firewall lacked and were added. */
  readonly added: number;
  /** Elements the firewall held that the manager does not know, removed. */
  readonly removed: number;
  /** Elements whose expiry differed (by more than a second) and was set again. */
  readonly updated: number;
}

/**
 * A firewall that holds timed bans. Every method may be called concurrently; writes
 * should reach the firewall as few, atomic transactions.
 */
export interface BanBackend {
  /**
   * Creates what the backend needs and makes the firewall hold exactly `entries`
   * (adding missing ones, removing unknown ones of its own table) in one atomic step,
   * without a moment in which an entry present before is missing.
   */
  start(entries: readonly BanEntry[]): Promise<BanReconcileReport>;
  /** Adds entries, or sets a new expiry for entries already present. */
  add(entries: readonly BanEntry[]): Promise<void>;
  /** Removes entries; removing one that is absent is not an error. */
  remove(entries: readonly BanEntry[]): Promise<void>;
  /** The entries the firewall holds now (expired ones excluded). */
  list(): Promise<BanEntry[]>;
  /** Releases the backend. The firewall keeps its bans: they outlive the process. */
  stop(): Promise<void>;
}
