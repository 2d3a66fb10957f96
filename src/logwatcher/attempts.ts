// Turns matched lines into authentication attempts. OpenSSH writes several lines for one
// attempt (`Invalid user`, PAM's line, `Failed password`, `Connection closed by
// authenticating user`): counted as lines, three mistyped passwords looked like six
// failures. Lines of one connection share a pid, so they are grouped by (file, logging host,
// program, pid) and each rule's AttemptRole says how its line adds up. The same grouping
// gives host-less lines (`Disconnecting: Too many authentication failures`) the address an
// earlier or later line of the connection names, as fail2ban does with its per-connection state.
import type { AttemptRole, LogMatch } from './rule.js';

/** What one connection has shown so far. */
interface Connection {
  host: string | undefined;
  /** Attempts counted for the connection. */
  counted: number;
  /** A prelude line counted the attempt the next `'each'` line belongs to. */
  credit: number;
  /** PAM failures that a success through another module may still excuse. */
  unconfirmed: LogMatch[];
  /** Counted attempts waiting for the connection's address. */
  waiting: LogMatch[];
  last: number;
}

/** A connection idle this long is forgotten: its pid may be reused (LoginGraceTime is 2 minutes). */
const IDLE_MS = 10 * 60_000;

/** How {@link AttemptCounter.classify} decided on one match. */
export type AttemptVerdict = 'count' | 'absorbed' | 'waiting';

/**
 * Per-connection state for attempt counting, bounded to `maxConnections` (least recently
 * active forgotten first).
 *
 * @internal
 */
export class AttemptCounter {
  readonly #connections = new Map<string, Connection>();
  readonly #max: number;

  constructor(maxConnections: number) {
    this.#max = maxConnections;
  }

  /** The connection a line belongs to, or undefined when it has no pid. */
  connection(match: LogMatch, t: number): Connection | undefined {
    if (match.pid === undefined) return undefined;
    const key = `${match.file}\0${match.syslogHost ?? ''}\0${match.program ?? ''}\0${match.pid}`;
    let conn = this.#connections.get(key);
    if (conn !== undefined) {
      this.#connections.delete(key);
      if (Math.abs(t - conn.last) > IDLE_MS) conn = undefined;
    }
    conn ??= { host: undefined, counted: 0, credit: 0, unconfirmed: [], waiting: [], last: t };
    conn.last = t;
    this.#connections.set(key, conn);
    if (this.#connections.size > this.#max) {
      const oldest = this.#connections.keys().next();
      if (!oldest.done) this.#connections.delete(oldest.value);
    }
    return conn;
  }

  /**
   * Decides whether `match` (of a counting rule) is a new attempt. Returns the matches that
   * count now: usually `[match]` or none, more when it confirms PAM failures held back.
   */
  classify(conn: Connection | undefined, match: LogMatch, role: AttemptRole): LogMatch[] {
    if (conn === undefined) return role === 'unconfirmed' ? [] : [match];
    switch (role) {
      case 'each':
        conn.unconfirmed.length = 0;
        if (conn.credit > 0) {
          conn.credit--;
          return [];
        }
        conn.counted++;
        return [match];
      case 'prelude':
        conn.unconfirmed.length = 0;
        if (conn.credit > 0) return [];
        conn.credit = 1;
        conn.counted++;
        return [match];
      case 'connection':
        if (conn.counted > 0) return [];
        conn.counted++;
        return [match];
      case 'unconfirmed': {
        // A second PAM failure for another user in one connection is no second factor
        // failing after a first: both were real attempts (fail2ban counts them too).
        const user = userOf(match);
        if (conn.unconfirmed.some((m) => userOf(m) !== user)) return this.#confirm(conn, match);
        conn.unconfirmed.push(match);
        return [];
      }
    }
  }

  /**
   * A success on the connection: PAM failures for other users than the one who logged in
   * were attempts after all (an intruder cannot wipe them by logging in as someone else);
   * failures for the same user were the first module of a stack that then succeeded.
   */
  success(conn: Connection | undefined, match: LogMatch): LogMatch[] {
    if (conn === undefined || conn.unconfirmed.length === 0) return [];
    const user = userOf(match);
    const others = conn.unconfirmed.filter((m) => userOf(m) !== user);
    conn.unconfirmed.length = 0;
    conn.counted += others.length;
    return others;
  }

  /** Remembers the connection's address from a match that names one; fills it into one that does not. */
  address(conn: Connection | undefined, match: LogMatch): void {
    if (conn === undefined) return;
    const host = match.fields.host;
    if (host === undefined) {
      if (conn.host !== undefined && match.rule.tags.includes('auth-failure')) match.fields.host = conn.host;
      return;
    }
    if (conn.host === undefined) conn.host = host;
    // One connection has one peer. A line that reads two ways (an invalid user's name
    // ending in ` from <ip> port <n> ssh2` before a `: ` suffix) and names the address an
    // earlier, unambiguous line of its connection gave (`Invalid user … from <host>`) is
    // read the way that agrees with it.
    else if (host !== conn.host && match.rule.tags.includes('auth-failure') && match.line.includes(` from ${conn.host} `)) match.fields.host = conn.host;
  }

  /** Holds a counted attempt until the connection names its address. */
  wait(conn: Connection, match: LogMatch): void {
    if (conn.waiting.length < 16) conn.waiting.push(match);
  }

  /** The held attempts now that the connection has an address (filled in), or none. */
  release(conn: Connection | undefined): LogMatch[] {
    if (conn === undefined || conn.host === undefined || conn.waiting.length === 0) return [];
    const host = conn.host;
    const out = conn.waiting.map((m) => ({ ...m, fields: { ...m.fields, host } }));
    conn.waiting.length = 0;
    return out;
  }

  #confirm(conn: Connection, match: LogMatch): LogMatch[] {
    const out = [...conn.unconfirmed, match];
    conn.unconfirmed.length = 0;
    conn.counted += out.length;
    return out;
  }
}

function userOf(match: LogMatch): string {
  const { user, ruser } = match.fields;
  return user !== undefined && user !== '' ? user : (ruser ?? '');
}
