// Turns matched lines into authentication attempts. OpenSSH writes several lines for one
// attempt (`Invalid user`, PAM's line, `Failed password`, `Connection closed by
// authenticating user`): counted as lines, three mistyped passwords looked like six
// failures. Lines of one connection share a pid, so they are grouped by (file, logging host,
// program, pid) and each rule's AttemptRole says how its line adds up. The same grouping
// gives host-less lines (`Disconnecting: Too many authentication failures`) the address an
// earlier or later line of the connection names, as fail2ban does with its per-connection state.
import { randomBytes } from 'node:crypto';
import { detach } from './detach.js';
import type { AttemptRole, LogMatch } from './rule.js';

/**
 * A connection, as the slot of the table that holds its state; {@link NO_CONNECTION} for a
 * line without one. A slot is only good until the next {@link AttemptCounter.connection}.
 *
 * @internal
 */
export type Connection = number;

/** @internal */
export const NO_CONNECTION: Connection = -1;

/** A connection idle this long is forgotten: its pid may be reused (LoginGraceTime is 2 minutes). */
const IDLE_MS = 10 * 60_000;

/** The shared empty result: most lines count nothing new. */
const NONE: readonly LogMatch[] = Object.freeze([]);

/** Slots per bucket: a connection can only live in the bucket its (scope, pid) hashes to. */
const WAYS = 8;

/** Pids are below this (Linux's limit is 2^22); it also spaces scopes apart in a slot's key. */
const PID_LIMIT = 2 ** 40;

/** How many scopes are compared in place before the map of all scopes is asked. */
const RECENT_SCOPES = 4;

/**
 * The log time of one (file, logging host): the latest its lines reached. Files are read
 * side by side (a backlog an hour old next to live lines), so "quiet for 10 minutes" is
 * judged in the connection's own file, not by the newest line of any file.
 */
interface Timeline {
  latest: number;
}

/** The connections of one (file, logging host, program). */
interface Scope {
  readonly file: string;
  readonly host: string;
  readonly program: string;
  /** From 1 (a key of 0 marks a free slot); at most 4096, so `id * PID_LIMIT` stays exact. */
  readonly id: number;
  readonly timeline: Timeline;
}

/**
 * Per-connection state for attempt counting, in a fixed table of at most `maxConnections`
 * slots (the least recently active connection of a full bucket is forgotten first).
 *
 * Typed arrays, not an object per connection in a Map: under attack nearly every line opens
 * a connection that lives for a few lines. As objects, they outlived young-generation
 * collections (the table keeps thousands), were copied and promoted, and died in the old
 * generation: a third of a busy drain went to the collector and to Map lookups. Here a new
 * connection overwrites a slot and allocates nothing. The bucket index is hashed with a
 * per-instance random seed, so lines forged with chosen pids cannot aim at one bucket.
 *
 * @internal
 */
export class AttemptCounter {
  readonly #scopes = new Map<string, Scope>();
  /** The scopes by id (a slot's key holds its scope's id). */
  readonly #byId: Scope[] = [];
  readonly #timelines = new Map<string, Timeline>();
  /** The scopes of recent lines, most recent first: a log interleaves a few (sshd and sshd-session). */
  readonly #recent: Scope[] = [];
  readonly #mask: number;
  readonly #seed: number;
  readonly #ways: number;
  /**
   * Each slot's (scope, pid) as one number, `scope * 2^40 + pid` (exact in a double); 0: free.
   * One array, so the ways of a bucket share a cache line: under attack nearly every
   * lookup misses, and comparing in place is what it costs.
   */
  readonly #key: Float64Array;
  /** Log time of the slot's latest line. */
  readonly #last: Float64Array;
  /** When the slot was last used, in lookups: the least recent of a full bucket is replaced. */
  readonly #used: Float64Array;
  #uses = 0;
  /** Attempts counted for the connection. */
  readonly #counted: Int32Array;
  /** 1: a prelude line counted the attempt the next `'each'` line belongs to. */
  readonly #credit: Uint8Array;
  /**
   * The address the connection's lines named: a dotted-quad IPv4 address as its 32-bit
   * number in #ipv4 (the usual case, and no string kept), else the text here. A kept string
   * outlives young-generation collections (the table holds thousands of connections), and
   * holding every attacker's address as text made them a third of the drain's collector time.
   */
  readonly #host: (string | undefined)[];
  /** The connection's IPv4 address as a number, or -1 (see #host). */
  readonly #ipv4: Float64Array;
  /** PAM failures that a success through another module may still excuse. */
  readonly #unconfirmed: (LogMatch[] | undefined)[];
  /** Counted attempts waiting for the connection's address. */
  readonly #waiting: (LogMatch[] | undefined)[];
  /**
   * The slots that started holding matches (unconfirmed or waiting), oldest first, with their
   * key and the log time then: a ring of #held entries from #heldHead. Matches held by a
   * connection that has gone quiet are let go after IDLE_MS, as its next line would find
   * them forgotten anyway: kept until the slot was reused instead (tens of thousands of lines
   * later under attack), every held match outlived young-generation collections and grew the
   * old generation, which is most of what a busy drain added to RSS.
   */
  readonly #heldSlot: Int32Array;
  readonly #heldKey: Float64Array;
  readonly #heldAt: Float64Array;
  #heldHead = 0;
  #held = 0;

  constructor(maxConnections: number) {
    const ways = Math.max(1, Math.min(WAYS, maxConnections));
    let buckets = 1;
    while (buckets * 2 * ways <= maxConnections) buckets *= 2;
    const size = buckets * ways;
    this.#mask = buckets - 1;
    this.#ways = ways;
    this.#seed = randomBytes(4).readInt32LE(0);
    this.#key = new Float64Array(size);
    this.#last = new Float64Array(size);
    this.#used = new Float64Array(size);
    this.#counted = new Int32Array(size);
    this.#credit = new Uint8Array(size);
    this.#host = new Array<string | undefined>(size).fill(undefined);
    this.#ipv4 = new Float64Array(size).fill(-1);
    this.#unconfirmed = new Array<LogMatch[] | undefined>(size).fill(undefined);
    this.#waiting = new Array<LogMatch[] | undefined>(size).fill(undefined);
    this.#heldSlot = new Int32Array(size);
    this.#heldKey = new Float64Array(size);
    this.#heldAt = new Float64Array(size);
  }

  /** How many connections hold matches (unconfirmed or waiting) right now: for tests and diagnostics (a scan). */
  get holding(): number {
    let n = 0;
    for (let slot = 0; slot < this.#key.length; slot++) if (this.#unconfirmed[slot] !== undefined || this.#waiting[slot] !== undefined) n++;
    return n;
  }

  /** How many slots the table has: the most connections remembered at once. */
  get capacity(): number {
    return this.#key.length;
  }

  /**
   * The connection a line belongs to, or {@link NO_CONNECTION} when it has no pid. With
   * `create` false, only a connection already known is returned (a close naming the
   * address of a connection nothing else was learnt about need not be remembered).
   */
  connection(match: LogMatch, t: number, create = true): Connection {
    const pid = match.pid;
    // Linux pids stay below 2^22; a larger number is no process and would not fit the key.
    if (pid === undefined || pid >= PID_LIMIT) return NO_CONNECTION;
    const scope = this.#scopeOf(match.file, match.syslogHost ?? '', match.program ?? '');
    if (t > scope.timeline.latest) scope.timeline.latest = t;
    if (this.#held > 0 && t - (this.#heldAt[this.#heldHead] as number) > IDLE_MS) this.#letGo(t);
    const key = scope.id * PID_LIMIT + pid;
    const keys = this.#key;
    const ways = this.#ways;
    const base = (this.#hash(key) & this.#mask) * ways;
    for (let slot = base; slot < base + ways; slot++) {
      if (keys[slot] !== key) continue;
      if (Math.abs(t - (this.#last[slot] as number)) > IDLE_MS) {
        // The pid was reused for a new connection.
        this.#clear(slot);
        if (!create) return NO_CONNECTION;
        keys[slot] = key;
      }
      this.#last[slot] = t;
      this.#used[slot] = ++this.#uses;
      return slot;
    }
    if (!create) return NO_CONNECTION;
    // A free slot, else the least recently used one of the bucket.
    let victim = base;
    for (let slot = base; slot < base + ways; slot++) {
      if (keys[slot] === 0) {
        victim = slot;
        break;
      }
      if ((this.#used[slot] as number) < (this.#used[victim] as number)) victim = slot;
    }
    this.#clear(victim);
    keys[victim] = key;
    this.#last[victim] = t;
    this.#used[victim] = ++this.#uses;
    return victim;
  }

  /** Notes that `slot` started holding matches at `t` (see #heldSlot). */
  #hold(slot: number, t: number): void {
    const size = this.#heldSlot.length;
    // Full: the slot keeps its matches until it is reused, as before this ring existed.
    if (this.#held === size) return;
    const at = (this.#heldHead + this.#held) % size;
    this.#heldSlot[at] = slot;
    this.#heldKey[at] = this.#key[slot] as number;
    this.#heldAt[at] = t;
    this.#held++;
  }

  /** Lets go of the matches of connections quiet for more than IDLE_MS before `t`. */
  #letGo(t: number): void {
    const size = this.#heldSlot.length;
    while (this.#held > 0 && t - (this.#heldAt[this.#heldHead] as number) > IDLE_MS) {
      const slot = this.#heldSlot[this.#heldHead] as number;
      const key = this.#heldKey[this.#heldHead] as number;
      this.#heldHead = (this.#heldHead + 1) % size;
      this.#held--;
      // Still the same connection: quiet since in its own file's time, it lets go; active
      // since (or its file lags behind), it is noted again, due when it would be quiet.
      if (this.#key[slot] !== key) continue;
      const quiet = (this.#byId[Math.floor(key / PID_LIMIT)] as Scope).timeline.latest - (this.#last[slot] as number);
      if (quiet > IDLE_MS) {
        this.#unconfirmed[slot] = undefined;
        this.#waiting[slot] = undefined;
      } else if (this.#unconfirmed[slot] !== undefined || this.#waiting[slot] !== undefined) this.#hold(slot, t - Math.max(0, quiet));
    }
  }

  #hash(key: number): number {
    // Both 32-bit halves of the key, so neither the scope nor a pid's high bits are lost.
    let h = Math.imul((key | 0) ^ this.#seed, 0x9e3779b1);
    h = Math.imul(h ^ ((key / 4294967296) | 0), 0x85ebca77);
    return h ^ (h >>> 15);
  }

  #clear(slot: number): void {
    this.#key[slot] = 0;
    this.#counted[slot] = 0;
    this.#credit[slot] = 0;
    this.#host[slot] = undefined;
    this.#ipv4[slot] = -1;
    this.#unconfirmed[slot] = undefined;
    this.#waiting[slot] = undefined;
  }

  #scopeOf(file: string, host: string, program: string): Scope {
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
      // bounded by starting over, connections included (their scope ids are reused).
      if (this.#scopes.size >= 4096) {
        this.#scopes.clear();
        this.#byId.length = 0;
        this.#timelines.clear();
        recent.length = 0;
        for (let slot = 0; slot < this.#key.length; slot++) this.#clear(slot);
        this.#held = 0;
      }
      const where = `${file}\0${host}`;
      let timeline = this.#timelines.get(where);
      if (timeline === undefined) this.#timelines.set(where, (timeline = { latest: Number.NEGATIVE_INFINITY }));
      scope = { file, host, program, id: this.#scopes.size + 1, timeline };
      this.#scopes.set(key, scope);
      this.#byId[scope.id] = scope;
    }
    if (recent.length === RECENT_SCOPES) recent.pop();
    recent.unshift(scope);
    return scope;
  }

  /**
   * Decides whether `match` (of a counting rule) is a new attempt. Returns the matches that
   * count now: usually `[match]` or none, more when it confirms PAM failures held back.
   */
  classify(conn: Connection, match: LogMatch, role: AttemptRole): readonly LogMatch[] {
    if (conn === NO_CONNECTION) return role === 'unconfirmed' ? NONE : [match];
    switch (role) {
      case 'each':
        this.#unconfirmed[conn] = undefined;
        if (this.#credit[conn] !== 0) {
          this.#credit[conn] = 0;
          return NONE;
        }
        (this.#counted[conn] as number)++;
        return [match];
      case 'prelude':
        this.#unconfirmed[conn] = undefined;
        if (this.#credit[conn] !== 0) return NONE;
        this.#credit[conn] = 1;
        (this.#counted[conn] as number)++;
        return [match];
      case 'connection':
        if ((this.#counted[conn] as number) > 0) return NONE;
        (this.#counted[conn] as number)++;
        return [match];
      case 'unconfirmed': {
        // A second PAM failure for another user in one connection is no second factor
        // failing after a first: both were real attempts (fail2ban counts them too).
        const user = userOf(match);
        const held = this.#unconfirmed[conn];
        if (held?.some((m) => userOf(m) !== user) === true) return this.#confirm(conn, held, match);
        if (held === undefined) {
          this.#unconfirmed[conn] = [match];
          this.#hold(conn, this.#last[conn] as number);
        } else if (held.length < 16) held.push(match);
        return NONE;
      }
    }
  }

  /**
   * A success on the connection: PAM failures for other users than the one who logged in
   * were attempts after all (an intruder cannot wipe them by logging in as someone else);
   * failures for the same user were the first module of a stack that then succeeded.
   */
  success(conn: Connection, match: LogMatch): readonly LogMatch[] {
    const held = conn === NO_CONNECTION ? undefined : this.#unconfirmed[conn];
    if (held === undefined) return NONE;
    const user = userOf(match);
    const others = held.filter((m) => userOf(m) !== user);
    this.#unconfirmed[conn] = undefined;
    this.#counted[conn] = (this.#counted[conn] as number) + others.length;
    return others;
  }

  /**
   * Remembers the connection's address from a match that names one; fills it into one that
   * does not. `authFailure`: the match's rule is tagged `'auth-failure'`.
   */
  address(conn: Connection, match: LogMatch, authFailure: boolean): void {
    const host = match.fields.host;
    if (host === undefined) {
      if (authFailure && this.#hasHost(conn)) match.fields.host = this.#hostOf(conn);
      return;
    }
    const v4 = ipv4Number(host);
    if (!this.#hasHost(conn)) {
      if (v4 >= 0) this.#ipv4[conn] = v4;
      else this.#host[conn] = detach(host);
      return;
    }
    if (v4 >= 0 ? v4 === this.#ipv4[conn] : host === this.#host[conn]) return;
    // One connection has one peer. A line that reads two ways (an invalid user's name
    // ending in ` from <ip> port <n> ssh2` before a `: ` suffix) and names the address an
    // earlier, unambiguous line of its connection gave (`Invalid user … from <host>`) is
    // read the way that agrees with it.
    if (authFailure) {
      const known = this.#hostOf(conn);
      if (match.line.includes(` from ${known} `)) match.fields.host = known;
    }
  }

  #hasHost(conn: Connection): boolean {
    return this.#ipv4[conn] !== -1 || this.#host[conn] !== undefined;
  }

  /** The connection's address as text (made again from its number for IPv4). */
  #hostOf(conn: Connection): string {
    const v4 = this.#ipv4[conn] as number;
    return v4 === -1 ? (this.#host[conn] as string) : ipv4Text(v4);
  }

  /** Holds a counted attempt until the connection names its address. */
  wait(conn: Connection, match: LogMatch): void {
    const held = this.#waiting[conn];
    if (held === undefined) {
      this.#waiting[conn] = [match];
      this.#hold(conn, this.#last[conn] as number);
    } else if (held.length < 16) held.push(match);
  }

  /** The held attempts now that the connection has an address (filled in), or none. */
  release(conn: Connection): readonly LogMatch[] {
    if (conn === NO_CONNECTION) return NONE;
    const held = this.#waiting[conn];
    if (held === undefined || !this.#hasHost(conn)) return NONE;
    const host = this.#hostOf(conn);
    this.#waiting[conn] = undefined;
    return held.map((m) => ({ ...m, fields: { ...m.fields, host } }));
  }

  #confirm(conn: Connection, held: readonly LogMatch[], match: LogMatch): readonly LogMatch[] {
    const out = [...held, match];
    this.#unconfirmed[conn] = undefined;
    this.#counted[conn] = (this.#counted[conn] as number) + out.length;
    return out;
  }
}

/**
 * A dotted-quad IPv4 address written the one canonical way (four decimal numbers 0-255,
 * no leading zeros) as its 32-bit number; -1 for anything else, which is kept as text.
 */
export function ipv4Number(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      if (++dots > 4) return -1;
      part = digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + c - 48;
      if (++digits > 3) return -1;
    } else return -1;
  }
  return dots === 4 ? value : -1;
}

/** The text of an {@link ipv4Number}. */
export function ipv4Text(value: number): string {
  return `${Math.floor(value / 16777216)}.${Math.floor(value / 65536) % 256}.${Math.floor(value / 256) % 256}.${value % 256}`;
}

function userOf(match: LogMatch): string {
  const { user, ruser } = match.fields;
  return user !== undefined && user !== '' ? user : (ruser ?? '');
}
