// A Slack-compatible Web API server on 127.0.0.1 for end-to-end tests: it answers
// chat.postMessage like Slack does ({ ok: true, channel, ts }) and records every call,
// so a test can assert exactly which messages arrived.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recorded `chat.postMessage` call. */
export interface SlackMessage {
  readonly method: string;
  readonly token: string | undefined;
  readonly channel: string;
  readonly text: string;
  readonly threadTs: string | undefined;
  /** The Block Kit blocks, serialised (for searching). */
  readonly blocksJson: string;
  readonly ts: string;
}

/** A running fake Slack. */
export interface SlackServer {
  /** Base URL to give as `slackApiUrl` / SLACK_API_URL (ends with `/api/`). */
  readonly url: string;
  readonly messages: SlackMessage[];
  /** Resolves when `count` messages (in all) have arrived, or rejects after `timeoutMs`. */
  waitFor(predicate: (messages: readonly SlackMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    // @slack/web-api form-encodes arrays and objects as JSON strings.
    out[k] = k === 'blocks' || k === 'attachments' ? safeJson(v) : v;
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Starts the fake Slack on an ephemeral port of 127.0.0.1. */
export async function startSlackServer(): Promise<SlackServer> {
  const messages: SlackMessage[] = [];
  const waiters = new Set<() => void>();
  let counter = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = (req.url ?? '').split('?')[0]?.split('/').pop() ?? '';
      const body = await readBody(req).catch((): Record<string, unknown> => ({}));
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : typeof body['token'] === 'string' ? body['token'] : undefined;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      if (method !== 'chat.postMessage' && method !== 'chat.update') {
        res.end(JSON.stringify({ ok: method === 'auth.test', error: method === 'auth.test' ? undefined : 'unknown_method' }));
        return;
      }
      if (token === undefined || token === '') {
        res.end(JSON.stringify({ ok: false, error: 'not_authed' }));
        return;
      }
      counter++;
      const ts = `${1_700_000_000 + counter}.${String(counter).padStart(6, '0')}`;
      const channel = typeof body['channel'] === 'string' ? body['channel'] : '';
      messages.push({
        method,
        token,
        channel,
        text: typeof body['text'] === 'string' ? body['text'] : '',
        threadTs: typeof body['thread_ts'] === 'string' ? body['thread_ts'] : undefined,
        blocksJson: JSON.stringify(body['blocks'] ?? []),
        ts,
      });
      res.end(JSON.stringify({ ok: true, channel, ts, message: { text: body['text'] } }));
      for (const wake of [...waiters]) wake();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    messages,
    waitFor(predicate, timeoutMs = 45_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(messages)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake Slack: condition not met after ${timeoutMs}ms; got ${messages.length} message(s): ${messages.map((m) => m.text).join(' | ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
