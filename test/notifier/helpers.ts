import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAlert, type Alert, type AlertInit, type Channel, type DeliveryReceipt, type Notification, type SendContext, type Severity } from '../../src/index.js';

/** A channel that records what it is sent and fails on demand (scripted per attempt). */
export class MemoryChannel implements Channel {
  readonly name: string;
  readonly minSeverity: Severity;
  readonly rateLimit = { perSecond: 1_000_000, burst: 1_000_000 };
  readonly sent: Notification[] = [];
  readonly attempts: { notification: Notification; attempt: number }[] = [];
  /** Errors to throw on the next attempts, in order; `undefined` means succeed. */
  readonly script: (Error | undefined)[] = [];
  /** When set, send() waits for it (to hold a delivery in flight). */
  gate: Promise<void> | undefined;
  opened = 0;
  closed = 0;

  constructor(name = 'memory', minSeverity: Severity = 'info') {
    this.name = name;
    this.minSeverity = minSeverity;
  }

  async open(): Promise<void> {
    this.opened++;
  }

  async close(): Promise<void> {
    this.closed++;
  }

  async send(notification: Notification, context: SendContext): Promise<DeliveryReceipt> {
    this.attempts.push({ notification, attempt: context.attempt });
    if (this.gate) await this.gate;
    const failure = this.script.shift();
    if (failure) throw failure;
    this.sent.push(notification);
    return { ref: `${this.name}-${this.sent.length}` };
  }

  /** Every alert delivered, in order. */
  get alerts(): Alert[] {
    return this.sent.flatMap((n) => [...n.alerts]);
  }
}

let n = 0;
/** A firing alert with a unique title; `key` defaults to a per-call value. */
export function alert(init: Partial<AlertInit> = {}): Alert {
  n++;
  return createAlert({ source: 'test', rule: 'rule.a', severity: 'warning', title: `alert ${n}`, key: `k${n}`, ...init });
}

/** Records every request the fake Slack API receives. */
export interface SlackRequest {
  readonly method: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, string>;
}

/** What the fake Slack API answers next. */
export type SlackReply =
  | { kind: 'ok' }
  | { kind: 'rate-limited'; retryAfter: number }
  | { kind: 'http'; status: number }
  | { kind: 'error'; error: string }
  | { kind: 'slow'; ms: number }
  /** A 200 whose body is cut short (a proxy dropping the connection mid-answer). */
  | { kind: 'truncated' };

/**
 * A small Slack-compatible Web API on 127.0.0.1: `chat.postMessage` answers from a
 * script of replies (then `ok`), with Slack's response shapes.
 */
export class FakeSlack {
  readonly requests: SlackRequest[] = [];
  readonly replies: SlackReply[] = [];
  readonly #server: Server;
  #ts = 1_700_000_000;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(port = 0): Promise<FakeSlack> {
    const server = createServer();
    const fake = new FakeSlack(server);
    server.on('request', (req, res) => {
      void fake.#handle(req, res);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/api/`;
  }

  /** Bodies of the chat.postMessage calls that were answered ok. */
  get posted(): Record<string, string>[] {
    return this.requests.filter((r) => r.method === 'chat.postMessage').map((r) => r.body);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    let raw = '';
    req.setEncoding('utf8');
    for await (const chunk of req) raw += chunk as string;
    const body = Object.fromEntries(new URLSearchParams(raw));
    const method = (req.url ?? '').replace(/^\/api\//, '');
    this.requests.push({ method, authorization: req.headers.authorization, body });
    const reply = this.replies.shift() ?? { kind: 'ok' };
    const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    switch (reply.kind) {
      case 'ok':
        json(200, { ok: true, channel: body.channel, ts: `${++this.#ts}.000100`, message: { text: body.text } });
        return;
      case 'rate-limited':
        json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(reply.retryAfter) });
        return;
      case 'http':
        res.writeHead(reply.status, { 'content-type': 'text/plain' });
        res.end('upstream trouble');
        return;
      case 'error':
        json(200, { ok: false, error: reply.error });
        return;
      case 'truncated':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"ok":true,"channel":"${body.channel ?? ''}","ts":"17`);
        return;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, reply.ms).unref());
        if (!res.destroyed) json(200, { ok: true, ts: `${++this.#ts}.000100` });
        return;
    }
  }
}

/** A port on 127.0.0.1 that refuses connections (listened on, then closed). */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A logger that keeps every line (message and JSON meta) for assertions. */
export function recordingLogger(): {
  lines: string[];
  debug: (m: string, meta?: object) => void;
  info: (m: string, meta?: object) => void;
  warn: (m: string, meta?: object) => void;
  error: (m: string, meta?: object) => void;
} {
  const lines: string[] = [];
  const rec = (level: string) => (message: string, meta?: object) => lines.push(`${level} ${message} ${meta === undefined ? '' : JSON.stringify(meta)}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

/** Flattens an error chain (message, stack, own fields, causes) into text. */
export function dump(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 6) return String(error);
  const own = Object.entries(error).map(([k, v]) => `${k}=${typeof v === 'object' ? dump(v, depth + 1) : String(v)}`);
  return [error.message, error.stack ?? '', ...own, error.cause === undefined ? '' : dump(error.cause, depth + 1)].join('\n');
}

/** Waits (event-loop turns, not wall-clock assertions) until a condition holds. */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/**
 * A webhook receiver on 127.0.0.1: records every POSTed payload and answers `status`
 * (change it to stage an outage and a recovery). `hang` keeps requests unanswered.
 */
export class FakeHook {
  readonly received: { status: 'firing' | 'resolved'; alerts: { key: string; title: string; severity: string; time: string }[] }[] = [];
  status = 204;
  hang = false;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeHook> {
    const server = createServer();
    const hook = new FakeHook(server);
    server.on('request', (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (hook.hang) return;
        const status = hook.status;
        if (status >= 200 && status < 300) hook.received.push(JSON.parse(body) as FakeHook['received'][number]);
        res.writeHead(status);
        res.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return hook;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** Titles of every alert delivered. */
  get titles(): string[] {
    return this.received.flatMap((p) => p.alerts.map((a) => a.title));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
