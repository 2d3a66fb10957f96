// Turns matched lines into authentication attempts. OpenSSH writes several lines for one
// attempt (`Invalid user`, PAM's line, `Failed password`, `Connection closed by
// authenticating user`): counted as lines, three mistyped passwords looked like six
// failures. Lines of one connection share a pid, so they are grouped by (file, logging host,
// program, pid) and each rule's AttemptRole says how its line adds up. The same grouping
// gives host-less lines (`Disconnecting: Too many authentication failures`) the address an
// earlier or later line of the connection names, as fail2ban does with its per-connection state.
import type { AttemptRole, LogMatch } from './rule.js';

/** What one connection has shown so far. @internal */
export interface Connection {
  host: string | undefined;
  /** Attempts counted for the connection. */
  counted: number;
  /** A prelude line counted the attempt the next `'each'` line belongs to. */
  credit: number;
  /** PAM failures that a success through another module may still excuse (allocated when needed). */
  unconfirmed: LogMatch[] | undefined;
  /** Counted attempts waiting for the connection's address (allocated when needed). */
  waiting: LogMatch[] | undefined;
  last: number;
}

/** A connection idle this long is forgotten: its pid may be reused (LoginGraceTime is 2 minutes). */
const IDLE_MS = 10 * 60_000;

/** The shared empty result: most lines count nothing new. */
const NONE: readonly LogMatch[] = Object.freeze([]);

/** The connections of one (file, logging host, program): by pid, in two generations. */
interface Scope {
  readonly file: string;
  readonly host: string;
  readonly program: string;
  current: Map<number, Connection>;
  previous: Map<number, Connection>;
}

/** How many scopes are compared in place before the map of all scopes is asked. */
const RECENT_SCOPES = 4;

/**
 * Per-connection state for attempt counting, bounded to `maxConnections` (least recently
 * active forgotten first).
 *
 * @internal
 */
export class AttemptCounter {
  // Two generations instead of an LRU Map: deleting and re-inserting on every line leaves
  // holes that V8's Map iteration (to find the oldest) must skip, which made eviction
  // linear in the map's size. A connection seen in the old generation moves to the new one.
  // Keyed by pid (a small integer hashes fast) within a scope found by the line's file,
  // logging host and program, of which a log interleaves only a few.
  readonly #scopes = new Map<string, Scope>();
  readonly #half: number;
  /** The scopes of recent lines, most recent first: a log interleaves a few (sshd and sshd-session). */
  readonly #recent: Scope[] = [];

  constructor(maxConnections: number) {
    this.#half = Math.max(1, Math.floor(maxConnections / 2));
  }

  /**
   * The connection a line belongs to, or undefined when it has no pid. With `create` false,
   * only a connection already known is returned (a close naming the address of a
   * connection nothing else was learnt about need not be remembered).
   */
  connection(match: LogMatch, t: number, create = true): Connection | undefined {
    const pid = match.pid;
    if (pid === undefined) return undefined;
    const scope = this.#scope(match.file, match.syslogHost ?? '', match.program ?? '');
    let conn = scope.current.get(pid);
    if (conn === undefined) {
      conn = scope.previous.get(pid);
      if (conn !== undefined) scope.previous.delete(pid);
      if (conn !== undefined && Math.abs(t - conn.last) > IDLE_MS) conn = undefined;
      if (conn === undefined) {
        if (!create) return undefined;
        conn = { host: undefined, counted: 0, credit: 0, unconfirmed: undefined, waiting: undefined, last: t };
      }
      if (scope.current.size >= this.#half) {
        scope.previous = scope.current;
        scope.current = new Map();
      }
      scope.current.set(pid, conn);
    } else if (Math.abs(t - conn.last) > IDLE_MS) {
      // The pid was reused for a new connection.
      conn.host = undefined;
      conn.counted = conn.credit = 0;
      conn.unconfirmed = conn.waiting = undefined;
    }
    conn.last = t;
    return conn;
  }

  #scope(file: string, host: string, program: string): Scope {
    const recent = this.#recent;
    for (let i = 0; i < recent.length; i++) {
      const scope = recent[i] as Scope;
      if (scope.program === program && scope.host === host && scope.file === file) {
        if (i > 0) {
          recent[i] = recent[0] as Scope;
          recent[0] = scope;
        }
        return scope;
      }
    }
    const key = `${file}\0${host}\0${program}`;
    let scope = this.#scopes.get(key);
    if (scope === undefined) {
      // Scopes are few (files × logging hosts × programs); a flood of forged host names is
      // bounded by starting over.
      if (this.#scopes.size >= 4096) {
        this.#scopes.clear();
        recent.length = 0;
      }
      scope = { file, host, program, current: new Map(), previous: new Map() };
      this.#scopes.set(key, scope);
    }
    if (recent.length === RECENT_SCOPES) recent.pop();
    recent.unshift(scope);
    return scope;
  }

  /**
   * Decides whether `match` (of a counting rule) is a new attempt. Returns the matches that
   * count now: usually `[match]` or none, more when it confirms PAM failures held back.
   */
  classify(conn: Connection | undefined, match: LogMatch, role: AttemptRole): readonly LogMatch[] {
    if (conn === undefined) return role === 'unconfirmed' ? NONE : [match];
    switch (role) {
      case 'each':
        conn.unconfirmed = undefined;
        if (conn.credit > 0) {
          conn.credit--;
          return NONE;
        }
        conn.counted++;
        return [match];
      case 'prelude':
        conn.unconfirmed = undefined;
        if (conn.credit > 0) return NONE;
        conn.credit = 1;
        conn.counted++;
        return [match];
      case 'connection':
        if (conn.counted > 0) return NONE;
        conn.counted++;
        return [match];
      case 'unconfirmed': {
        // A second PAM failure for another user in one connection is no second factor
        // failing after a first: both were real attempts (fail2ban counts them too).
        const user = userOf(match);
        if (conn.unconfirmed?.some((m) => userOf(m) !== user) === true) return this.#confirm(conn, match);
        if (conn.unconfirmed === undefined) conn.unconfirmed = [match];
        else if (conn.unconfirmed.length < 16) conn.unconfirmed.push(match);
        return NONE;
      }
    }
  }

  /**
   * A success on the connection: PAM failures for other users than the one who logged in
   * were attempts after all (an intruder cannot wipe them by logging in as someone else);
   * failures for the same user were the first module of a stack that then succeeded.
   */
  success(conn: Connection | undefined, match: LogMatch): readonly LogMatch[] {
    if (conn?.unconfirmed === undefined) return NONE;
    const user = userOf(match);
    const others = conn.unconfirmed.filter((m) => userOf(m) !== user);
    conn.unconfirmed = undefined;
    conn.counted += others.length;
    return others;
  }

  /**
   * Remembers the connection's address from a match that names one; fills it into one that
   * does not. `authFailure`: the match's rule is tagged `'auth-failure'`.
   */
  address(conn: Connection, match: LogMatch, authFailure: boolean): void {
    const host = match.fields.host;
    if (host === undefined) {
      if (conn.host !== undefined && authFailure) match.fields.host = conn.host;
      return;
    }
    if (conn.host === undefined) conn.host = host;
    // One connection has one peer. A line that reads two ways (an invalid user's name
    // ending in ` from <ip> port <n> ssh2` before a `: ` suffix) and names the address an
    // earlier, unambiguous line of its connection gave (`Invalid user … from <host>`) is
    // read the way that agrees with it.
    else if (host !== conn.host && authFailure && match.line.includes(` from ${conn.host} `)) match.fields.host = conn.host;
  }

  /** Holds a counted attempt until the connection names its address. */
  wait(conn: Connection, match: LogMatch): void {
    if (conn.waiting === undefined) conn.waiting = [match];
    else if (conn.waiting.length < 16) conn.waiting.push(match);
  }

  /** The held attempts now that the connection has an address (filled in), or none. */
  release(conn: Connection | undefined): readonly LogMatch[] {
    if (conn?.waiting === undefined || conn.host === undefined) return NONE;
    const host = conn.host;
    const out = conn.waiting.map((m) => ({ ...m, fields: { ...m.fields, host } }));
    conn.waiting = undefined;
    return out;
  }

  #confirm(conn: Connection, match: LogMatch): readonly LogMatch[] {
    const out = [...(conn.unconfirmed ?? []), match];
    conn.unconfirmed = undefined;
    conn.counted += out.length;
    return out;
  }
}

function userOf(match: LogMatch): string {
  const { user, ruser } = match.fields;
  return user !== undefined && user !== '' ? user : (ruser ?? '');
}
